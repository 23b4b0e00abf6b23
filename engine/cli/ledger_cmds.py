"""`buchex ledger demo / import / import-documents / stats`."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cli.common import EXIT_INVALID, EXIT_OK, err, out
from engine.errors import AlreadyImported
from engine.fields import Invalid, p_date

if TYPE_CHECKING:
    from engine.service import Service


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) < 1:
        raise argparse.ArgumentTypeError(f"muss eine ganze Zahl ≥ 1 sein, nicht {text!r}")
    return int(text)


def _date(text: str) -> dt.date:
    try:
        value = p_date(text)
    except Invalid as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    assert value is not None
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ledger", help="Buchhaltungsdaten (eingebettete ledger.sqlite)")
    ls = p.add_subparsers(dest="ledger_cmd", required=True, metavar="BEFEHL")

    c = ls.add_parser("demo", help="deterministische Demo-Buchhaltung schreiben")
    c.add_argument("--months", type=_positive, default=12, help="Monate (Standard 12)")
    c.add_argument("--per-day", type=_positive, default=40, help="Buchungen je Tag (Std. 40)")
    c.add_argument("--total", type=_positive, help="genau so viele Buchungen (statt --per-day)")
    c.add_argument("--seed", type=int, default=1, help="Zufallssaat (Standard 1)")
    c.add_argument("--end", type=_date, help="letzter Tag (Standard: heute)")
    c.add_argument("--replace", action="store_true", help="vorhandene ledger.sqlite ersetzen")
    c.set_defaults(func=cmd_demo)

    c = ls.add_parser(
        "import",
        help="Buchungen aus CSV laden (alles oder nichts; Format: README „Buchungen importieren“)",
    )
    c.add_argument("file", type=Path)
    c.add_argument(
        "--again",
        action="store_true",
        help="eine schon importierte Datei noch einmal laden (die Buchungen stehen dann doppelt)",
    )
    c.set_defaults(func=cmd_import)

    c = ls.add_parser(
        "import-documents",
        help="Belegbilder (z. B. PDF) zu Buchungen laden (alles oder nichts; Format: README "
        "„Belegbilder“)",
        description="Lädt die in einer CSV-Datei genannten Belegdateien als Belegbilder in die "
        "eingebettete ledger.sqlite. Spalten: client_id, journal_no, file (Pfad, relativ zum "
        "Ordner der CSV-Datei), optional file_name und media_type (sonst aus der "
        "Dateiendung). Bei einem Fehler wird nichts übernommen.",
    )
    c.add_argument("file", type=Path, metavar="CSV-DATEI")
    c.set_defaults(func=cmd_import_documents)

    c = ls.add_parser("stats", help="Anzahl und Summen je Mandant")
    c.set_defaults(func=cmd_stats)


def cmd_demo(svc: Service, args: argparse.Namespace) -> int:
    path = svc.paths.ledger_path
    if path.exists() and not args.replace:
        err(f"{path} gibt es schon; mit --replace ersetzen.")
        return EXIT_INVALID
    summary = svc.demo_ledger(
        months=args.months,
        per_day=args.per_day,
        seed=args.seed,
        end=args.end or dt.date.today(),
        total=args.total,
        replace=args.replace,
    )
    out(
        f"{svc.number(summary.bookings)} Buchungen ({summary.first_date:%d.%m.%Y} – "
        f"{summary.last_date:%d.%m.%Y}), {summary.clients} Mandanten, {summary.branches} "
        f"Filialen, {svc.number(summary.partners)} Partner in {summary.seconds:.1f} s → {path}"
    )
    return EXIT_OK


def cmd_import(svc: Service, args: argparse.Namespace) -> int:
    try:
        result = svc.import_bookings(args.file, again=args.again)
    except AlreadyImported as exc:
        err(str(exc))
        return EXIT_INVALID
    if not result.ok:
        err(svc.import_problems(result.problems))
        err(f"Nichts importiert: {len(result.problems)} Problem(e) in {args.file}.")
        return EXIT_INVALID
    out(
        f"{svc.number(result.imported)} Buchungen importiert "
        f"(Journalnummern {result.first_journal_no}–{result.last_journal_no})."
    )
    return EXIT_OK


def cmd_import_documents(svc: Service, args: argparse.Namespace) -> int:
    result = svc.import_documents(args.file)
    if not result.ok:
        err(svc.import_problems(result.problems))
        err(f"Nichts importiert: {len(result.problems)} Problem(e) in {args.file}.")
        return EXIT_INVALID
    out(f"{svc.number(result.imported)} Belegbilder importiert ({svc.number(result.bytes)} Bytes).")
    return EXIT_OK


def cmd_stats(svc: Service, args: argparse.Namespace) -> int:
    out(svc.stats_table(svc.ledger_stats()))
    return EXIT_OK
