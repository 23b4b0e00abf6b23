"""Bookings changed or deleted in the ledger after delivery (SPEC §3).

DATEV locks what it imported, so a booking edited in the ledger afterwards silently drifts
apart from the advisor's books. Every run compares the journal's fingerprints of the
bookings it delivered in the look-back window with the ledger's values now, and reports
each difference once (per state of the booking): in the run record, the Protokoll, and by
mail. Such bookings are never resent: the accounting way out is a reversal booking
(Storno) in the ledger, which then goes out as a new booking (README).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from engine.journal import Change, Journal

if TYPE_CHECKING:
    from engine.ledger import Ledger

#: German names of the Booking fields, in Booking order.
FIELD_LABELS: Final = (
    "Journalnummer",
    "Mandant",
    "Filiale",
    "Belegart",
    "Belegnummer",
    "Belegdatum",
    "Betrag",
    "Soll/Haben",
    "Konto",
    "Gegenkonto",
    "BU-Schlüssel",
    "Buchungstext",
    "Zahlungsart",
    "Partnerkonto",
    "Kostenstelle",
)
_AMOUNT: Final = 6


def find_changes(
    ledger: Ledger, journal: Journal, config_id: str, client_id: str, above: int, up_to: int
) -> list[Change]:
    """Delivered bookings of one client in (above, up_to] whose ledger values differ now or
    that are gone, not reported before in this state."""
    from engine.export import booking_json, fingerprint

    delivered = journal.delivered_in(config_id, client_id, above, up_to)
    if not delivered:
        return []
    current = ledger.bookings(client_id, after_journal_no=above, up_to_journal_no=up_to)
    found: list[tuple[int, int, str, str]] = []  # (journal_no, fingerprint now, kind, run)
    now: dict[int, str] = {}
    booking = next(current, None)
    for journal_no, old, run_id in delivered:
        while booking is not None and booking.journal_no < journal_no:
            booking = next(current, None)
        if booking is None or booking.journal_no != journal_no:
            found.append((journal_no, 0, "deleted", run_id))
            continue
        new = fingerprint(booking)
        if new != old:
            found.append((journal_no, new, "changed", run_id))
            now[journal_no] = booking_json(booking)
    if not found:
        return []
    seen = journal.reported(config_id, client_id, above, up_to)
    found = [f for f in found if (f[0], f[1]) not in seen]
    kept = journal.kept_values(config_id, client_id, [f[0] for f in found])
    return [
        Change(
            config_id=config_id,
            client_id=client_id,
            journal_no=journal_no,
            fingerprint=new,
            kind=kind,
            delivered_by=run_id,
            detail=_detail(kind, kept.get(journal_no), now.get(journal_no)),
        )
        for journal_no, new, kind, run_id in found
    ]


def _detail(kind: str, before: str | None, after: str | None) -> str:
    if kind == "deleted":
        return "in der Buchhaltung gelöscht"
    if before is None or after is None:
        return "in der Buchhaltung geändert (die gelieferten Werte sind nicht mehr gespeichert)"
    old, new = json.loads(before), json.loads(after)
    parts = [
        f"{label} {_show(i, a)} → {_show(i, b)}"
        for i, (label, a, b) in enumerate(zip(FIELD_LABELS, old, new, strict=False))
        if a != b
    ]
    return "geändert: " + "; ".join(parts) if parts else "in der Buchhaltung geändert"


def _show(index: int, value: object) -> str:
    if value is None:
        return "(leer)"
    if index == _AMOUNT and isinstance(value, int | float):
        euros, cents = divmod(round(value), 100)
        return f"{euros},{cents:02d} €"
    if index == 5 and isinstance(value, str) and len(value) == 10:  # ISO date
        return f"{value[8:10]}.{value[5:7]}.{value[:4]}"
    return f"„{value}“"


def warning_line(change: Change) -> str:
    """The run record's warning: journal number, what changed, which run delivered it."""
    return (
        f"Journal-Nr. {change.journal_no}, Änderung nach Lieferung: {change.detail} "
        f"(geliefert mit Lauf {change.delivered_by}). Nicht erneut gesendet: in der "
        "Buchhaltung stornieren und neu buchen, dann geht die Korrektur als neue Buchung hinaus."
    )


def mail_text(config_name: str, config_id: str, changes: Sequence[Change]) -> tuple[str, str]:
    """Subject and body of the mail that tells of new changes (once per change)."""
    n = len(changes)
    subject = (
        f"buchex: 1 gelieferte Buchung nachträglich geändert („{config_name}“)"
        if n == 1
        else f"buchex: {n} gelieferte Buchungen nachträglich geändert („{config_name}“)"
    )
    lines = [
        "Hallo,",
        "",
        f"in der Buchhaltung wurden Buchungen nach der Lieferung an das Steuerbüro geändert "
        f"oder gelöscht (Schnittstelle „{config_name}“, ID {config_id}). buchex sendet sie "
        "nicht erneut: das Steuerbüro hat die gelieferten Werte.",
        "",
    ]
    for c in changes[:50]:
        lines.append(f"- Mandant {c.client_id}, Journal-Nr. {c.journal_no}: {c.detail}")
        lines.append(f"  geliefert mit Lauf {c.delivered_by}")
    if n > 50:
        lines.append(f"- … und {n - 50} weitere (buchex changes --config {config_id})")
    lines += [
        "",
        "Was zu tun ist: die Buchung in der Buchhaltung stornieren (Gegenbuchung) und richtig",
        "neu buchen; beide gehen mit dem nächsten Lauf als neue Buchungen hinaus. Oder das",
        "Steuerbüro korrigiert die Buchung selbst.",
        f"Gesehen-Vermerk: buchex changes ack {config_id} --all",
        "",
        "-- ",
        "buchex – Automatischer Buchhaltungsexport",
    ]
    return subject, "\n".join(lines) + "\n"
