"""The control file of a delivery (SPEC §3, GoBD transfer and completeness control).

One small file next to the data files of every delivery: per data file its name, SHA-256,
rows, Soll and Haben sums, journal-number range and Datum vom/bis; then per file the sums
per Konto and per BU-Schlüssel; then every document image of a Belegbilder package with
its journal number, GUID, size and SHA-256; and the run, config and time. It is uploaded last and
atomically like the data files, so its presence on the server means the delivery is
complete, and the advisor can check every file against it.

Format, for a German spreadsheet: UTF-8 with BOM, `;`, CRLF, amounts with a decimal comma
and no thousands separator, dates TT.MM.JJJJ; quoting by the csv module.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from engine.formats.dialect import SemicolonCsv
from engine.formats.naming import run_stamp

PREFIX: Final = "Kontrolldatei"
KIND_LABELS: Final = {
    "bookings": "Buchungen",
    "incoming": "Eingangsbuchungen",
    "debtors": "Debitoren",
    "creditors": "Kreditoren",
    "documents": "Belegbilder",
}
REDELIVERY_TAG: Final = "Nachlieferung"


def file_name(config_id: str, now: dt.datetime, *, redelivery: bool = False) -> str:
    tag = f"_{REDELIVERY_TAG}" if redelivery else ""
    return f"{PREFIX}_{config_id}_{run_stamp(now)}{tag}.csv"


def euro(cents: int) -> str:
    """`1234,56`: what a German spreadsheet reads as a number."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros},{rest:02d}"


def german_date(iso: str | None) -> str:
    return dt.date.fromisoformat(iso).strftime("%d.%m.%Y") if iso else ""


def _lines(
    *,
    run_id: str,
    config_id: str,
    config_name: str,
    now: dt.datetime,
    files: Sequence[dict[str, Any]],
    redelivery_of: str | None,
) -> Iterable[list[str]]:
    booked = [f for f in files if f.get("journal_from") is not None]
    yield ["Kontrolldatei", "buchex"]
    yield ["Lauf", run_id]
    yield ["Schnittstelle", config_id, config_name]
    yield ["Erstellt am", now.strftime("%d.%m.%Y %H:%M:%S")]
    if redelivery_of:
        yield ["Nachlieferung von Lauf", redelivery_of]
    yield ["Dateien", str(len(files))]
    yield [
        "Gesamt",
        "Zeilen",
        str(sum(int(f["rows"]) for f in booked)),
        "Summe Soll",
        euro(sum(int(f["debit_cents"]) for f in booked)),
        "Summe Haben",
        euro(sum(int(f["credit_cents"]) for f in booked)),
    ]
    yield []
    yield [
        "Datei", "Art", "Mandant", "SHA-256", "Bytes", "Zeilen", "Summe Soll", "Summe Haben",
        "Journalnummer von", "Journalnummer bis", "Datum vom", "Datum bis",
    ]  # fmt: skip
    for f in files:
        has_bookings = f.get("journal_from") is not None
        yield [
            f["name"],
            KIND_LABELS.get(f["kind"], f["kind"]),
            f["client_id"],
            f["sha256"],
            str(f["size"]),
            str(f["rows"]),
            euro(int(f["debit_cents"])) if has_bookings else "",
            euro(int(f["credit_cents"])) if has_bookings else "",
            str(f["journal_from"]) if has_bookings else "",
            str(f["journal_to"]) if has_bookings else "",
            german_date(f.get("date_from")),
            german_date(f.get("date_to")),
        ]
    for title, key in (("Konto", "accounts"), ("BU-Schlüssel", "tax_keys")):
        yield []
        yield ["Datei", title, "Zeilen", "Summe Soll", "Summe Haben"]
        for f in booked:
            for value, debit, credit, rows in f.get(key, ()):
                yield [f["name"], value, str(rows), euro(debit), euro(credit)]
    packages = [f for f in files if f.get("images")]
    if packages:  # each document image with its own checksum (issue 17)
        yield []
        yield ["Datei", "Belegbild", "Mandant", "Journalnummer", "GUID", "Bytes", "SHA-256"]
        for f in packages:
            for journal_no, guid, member, size, sha256 in f["images"]:
                yield [f["name"], member, f["client_id"], str(journal_no), guid, str(size), sha256]


def write(
    path: Path,
    *,
    run_id: str,
    config_id: str,
    config_name: str,
    now: dt.datetime,
    files: Sequence[dict[str, Any]],
    redelivery_of: str | None = None,
) -> tuple[int, str]:
    """Write the control file for `files` (file docs as in the run record); returns its
    size and SHA-256."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, SemicolonCsv)
        writer.writerows(
            _lines(
                run_id=run_id,
                config_id=config_id,
                config_name=config_name,
                now=now,
                files=files,
                redelivery_of=redelivery_of,
            )
        )
    data = path.read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


def summary(files: Sequence[dict[str, Any]]) -> str:
    """One German line for mails and logs: files, rows, sums, the control file."""
    booked = [f for f in files if f.get("journal_from") is not None]
    control = [f["name"] for f in files if f.get("kind") == "control"]
    data = [f for f in files if f.get("kind") != "control"]
    line = (
        f"{len(data)} Datei(en), {sum(int(f['rows']) for f in booked)} Buchungen, "
        f"Summe Soll {euro(sum(int(f['debit_cents']) for f in booked))} EUR, "
        f"Summe Haben {euro(sum(int(f['credit_cents']) for f in booked))} EUR"
    )
    return line + (f"; Kontrolldatei {control[0]}" if control else "")
