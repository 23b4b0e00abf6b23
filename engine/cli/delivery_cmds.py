"""Proof of delivery: `redeliver` (Nachlieferung) and `changes` (changed after delivery)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from engine.cli.common import EXIT_FAILED, EXIT_INVALID, EXIT_OK, err, out, table
from engine.errors import OutsideWindow, RedeliveryRefused
from engine.runs import RunBusy

if TYPE_CHECKING:
    from engine.service import Service


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser(
        "redeliver", help="die Buchungen eines früheren Laufs erneut liefern (Nachlieferung)"
    )
    c.add_argument("run", metavar="LAUF", help="Lauf-ID (buchex runs)")
    c.add_argument(
        "--current",
        action="store_true",
        help="seitdem geänderte Buchungen mit den heutigen Werten liefern",
    )
    c.add_argument(
        "--force", action="store_true", help="auch außerhalb 06:00–22:00 Uhr (Bestätigung)"
    )
    c.set_defaults(func=cmd_redeliver)

    c = sub.add_parser("changes", help="nach der Lieferung geänderte oder gelöschte Buchungen")
    c.add_argument("--config", metavar="ID", help="nur diese Schnittstelle")
    c.add_argument("--all", action="store_true", help="auch die als gesehen vermerkten")
    c.set_defaults(func=cmd_changes)
    csub = c.add_subparsers(dest="changes_command", metavar="BEFEHL")
    a = csub.add_parser("ack", help="Änderungen als gesehen vermerken (im Audit-Protokoll)")
    a.add_argument("id", metavar="ID", help="Schnittstelle")
    a.add_argument("journal_nos", metavar="JOURNALNR", nargs="*", type=int)
    a.add_argument("--all", action="store_true", dest="ack_all", help="alle offenen")
    a.set_defaults(func=cmd_changes_ack)


def cmd_redeliver(svc: Service, args: argparse.Namespace) -> int:
    try:
        record = svc.redeliver(args.run, force=args.force, current=args.current)
    except OutsideWindow as exc:
        err(str(exc))
        return EXIT_INVALID
    except RedeliveryRefused as exc:
        err(f"Nachlieferung abgelehnt: {exc}")
        return EXIT_FAILED
    except RunBusy:
        err("Die Schnittstelle läuft gerade; die Nachlieferung danach erneut starten.")
        return EXIT_FAILED
    for line in record.steps:
        out(line)
    if record.status == "failed":
        err(f"fehlgeschlagen – {record.step}: {record.reason}")
        return EXIT_FAILED
    out(f"Nachlieferung {record.label} (Lauf {record.id})")
    return EXIT_OK


def cmd_changes(svc: Service, args: argparse.Namespace) -> int:
    changes = svc.changes(args.config, open_only=not args.all)
    if not changes:
        out("Keine nachträglichen Änderungen." if not args.all else "Keine Änderungen.")
        return EXIT_OK
    rows = [
        [
            c.reported_at[:16].replace("T", " "),
            c.config_id,
            c.client_id,
            str(c.journal_no),
            c.detail,
            c.delivered_by,
            "gesehen" if c.acknowledged_at else "offen",
        ]
        for c in changes
    ]
    headers = ["Gefunden", "Schnittstelle", "Mandant", "Journal-Nr.", "Was", "Geliefert mit",
               "Status"]  # fmt: skip
    out(table(rows, headers))
    return EXIT_OK


def cmd_changes_ack(svc: Service, args: argparse.Namespace) -> int:
    svc.get_config(args.id)  # NotFound: exit 2, before the usage check
    if not args.ack_all and not args.journal_nos:
        err("Journalnummern angeben oder --all")
        return EXIT_INVALID
    count = svc.acknowledge_changes(args.id, None if args.ack_all else args.journal_nos)
    out(f"{count} Änderung(en) als gesehen vermerkt.")
    return EXIT_OK
