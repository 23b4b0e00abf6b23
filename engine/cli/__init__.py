"""`buchex` command line (SPEC §6). Exit codes: 0 ok, 1 failed, 2 invalid input, 3 locked."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from engine.cipher import CipherError
from engine.cli import (
    config_cmds,
    daemon_cmds,
    ledger_cmds,
    run_cmds,
    settings_cmds,
    user_cmds,
)
from engine.cli.common import EXIT_FAILED, EXIT_INVALID, err, print_problems
from engine.fields import ValidationError
from engine.ledger import LedgerError
from engine.store import StoreError
from engine.workspace import NotFound, Workspace

Command = Callable[[Workspace, argparse.Namespace], int]
DEBUG_ENV = "BUCHEX_DEBUG"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="buchex",
        description="Automatischer Buchhaltungsexport: Buchungen im DATEV-Format per "
        "FTP/FTPS/SFTP an die Steuerberatung liefern.",
    )
    parser.add_argument(
        "--home",
        metavar="DIR",
        help="Datenverzeichnis (sonst $BUCHEX_HOME, sonst das Benutzer-Datenverzeichnis)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="BEFEHL")
    modules = (config_cmds, ledger_cmds, run_cmds, daemon_cmds, user_cmds, settings_cmds)
    for module in modules:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "standalone"):  # commands that must not open a data directory
            standalone: Callable[[argparse.Namespace], int] = args.standalone
            return standalone(args)
        func: Command = args.func
        ws = Workspace.open(args.home)
        return func(ws, args)
    except ValidationError as exc:
        print_problems(exc.problems)
        return EXIT_INVALID
    except NotFound as exc:
        err(str(exc))
        return EXIT_INVALID
    except (StoreError, LedgerError, CipherError) as exc:
        err(f"Fehler: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        err("abgebrochen")
        return 130
    except Exception as exc:  # last resort: a plain message, the traceback only on request
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        err(f"Interner Fehler ({type(exc).__name__}): {exc}")
        err(f"Details mit {DEBUG_ENV}=1 erneut ausführen.")
        return EXIT_FAILED


def run() -> None:
    sys.exit(main())
