"""`buchex ledger demo / import / stats`."""

from __future__ import annotations

import argparse

from engine.cli.common import EXIT_OK, out
from engine.ledger import format_stats
from engine.workspace import Workspace


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ledger", help="Buchhaltungsdaten")
    ls = p.add_subparsers(dest="ledger_cmd", required=True, metavar="BEFEHL")
    c = ls.add_parser("stats", help="Anzahl und Summen je Mandant")
    c.set_defaults(func=cmd_stats)


def cmd_stats(ws: Workspace, args: argparse.Namespace) -> int:
    with ws.ledger() as ledger:
        out(format_stats(ledger.stats()))
    return EXIT_OK
