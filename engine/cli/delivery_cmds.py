"""Proof of delivery: `redeliver` (Nachlieferung) and `changes` (changed after delivery)."""

from __future__ import annotations

import argparse
import datetime as dt

from engine.cli.common import EXIT_FAILED, EXIT_INVALID, EXIT_OK, err, out, table
from engine.redelivery import RedeliveryRefused, redeliver
from engine.runner import OutsideWindow, RunOptions
from engine.runs import RunBusy
from engine.workspace import Workspace


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


def cmd_redeliver(ws: Workspace, args: argparse.Namespace) -> int:
    options = RunOptions(trigger="redeliver", force=args.force)
    try:
        record = redeliver(ws, args.run, options, current=args.current)
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


def cmd_changes(ws: Workspace, args: argparse.Namespace) -> int:
    changes = ws.runs.changes(args.config, open_only=not args.all)
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


def cmd_changes_ack(ws: Workspace, args: argparse.Namespace) -> int:
    ws.get_config(args.id)  # NotFound: exit 2
    if not args.ack_all and not args.journal_nos:
        err("Journalnummern angeben oder --all")
        return EXIT_INVALID
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    numbers = None if args.ack_all else args.journal_nos
    count = ws.runs.acknowledge(args.id, numbers, user=_actor(), now=now)
    what = "alle offenen" if numbers is None else ", ".join(str(n) for n in numbers)
    ws.audit.record("changes.acknowledge", config_id=args.id, detail=f"{count} ({what})")
    out(f"{count} Änderung(en) als gesehen vermerkt.")
    return EXIT_OK


def _actor() -> str:
    from engine.audit import current_actor

    return current_actor()
