"""`buchex` command line (SPEC §6). Exit codes: 0 ok, 1 failed, 2 invalid input, 3 locked.

Every command is `cmd_…(svc: Service, args) -> int` and calls only `engine.service.Service`
(and the model: configs, fields, settings, runs, due times, errors). Start-up stays small:
the command modules import the service and anything heavy inside the commands, so
`buchex --help` loads neither SQLAlchemy nor paramiko nor the export writers.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeAlias

from engine.cli import (
    config_cmds,
    daemon_cmds,
    delivery_cmds,
    ledger_cmds,
    run_cmds,
    settings_cmds,
    user_cmds,
)
from engine.cli.common import EXIT_FAILED, EXIT_INVALID, err, print_problems
from engine.errors import CipherError, LedgerError, NotFound, StoreError
from engine.fields import ValidationError
from engine.paths import local_problem
from engine.runs import Interrupted

if TYPE_CHECKING:
    from engine.service import Service

Command: TypeAlias = "Callable[[Service, argparse.Namespace], int]"
DEBUG_ENV = "BUCHEX_DEBUG"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="buchex",
        description="Automatischer Buchhaltungsexport: Buchungen im DATEV-Format per "
        "FTP/FTPS/SFTP an die Steuerberatung liefern.",
    )
    parser.add_argument("--home", metavar="DIR", help=HOME_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="BEFEHL")
    modules = (
        config_cmds,
        ledger_cmds,
        run_cmds,
        delivery_cmds,
        daemon_cmds,
        user_cmds,
        settings_cmds,
    )
    for module in modules:
        module.register(sub)
    _accept_home_everywhere(parser)
    return parser


HOME_HELP = "Datenverzeichnis (sonst $BUCHEX_HOME, sonst das Benutzer-Datenverzeichnis)"


def _accept_home_everywhere(parser: argparse.ArgumentParser) -> None:
    """`--home DIR` also after the command (`buchex config list --home DIR`): every
    subcommand takes it too. SUPPRESS as default keeps a `--home` given before the command
    when none follows; one given after wins."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for child in dict.fromkeys(action.choices.values()):  # aliases share a parser
            if not any("--home" in a.option_strings for a in child._actions):
                child.add_argument(
                    "--home", metavar="DIR", default=argparse.SUPPRESS, help=HOME_HELP
                )
            _accept_home_everywhere(child)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "standalone"):  # commands that must not open a data directory
            standalone: Callable[[argparse.Namespace], int] = args.standalone
            return standalone(args)
        from engine.service import Service

        func: Command = args.func
        return func(Service.open(args.home), args)
    except ValidationError as exc:
        print_problems(exc.problems)
        return EXIT_INVALID
    except NotFound as exc:
        err(str(exc))
        return EXIT_INVALID
    except (StoreError, LedgerError, CipherError) as exc:
        err(f"Fehler: {exc}")
        return EXIT_FAILED
    except OSError as exc:  # the data directory: full, read-only, missing rights
        err(f"Fehler: {local_problem(exc)}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        err("abgebrochen")
        return 130
    except Interrupted as exc:
        err(f"abgebrochen ({exc.signal_name})")
        return 143
    except BrokenPipeError:  # `buchex runs | head`: the reader is gone, nothing to say
        _drop_stdout()
        return EXIT_FAILED
    except Exception as exc:  # last resort: a plain message, the traceback only on request
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        err(f"Interner Fehler ({type(exc).__name__}): {exc}")
        err(f"Details mit {DEBUG_ENV}=1 erneut ausführen.")
        return EXIT_FAILED


def _drop_stdout() -> None:
    """After EPIPE: point stdout at /dev/null so the exit's flush cannot fail again."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def run() -> None:
    code = main()
    try:
        sys.stdout.flush()  # the last buffered lines: a closed pipe shows here
    except BrokenPipeError:
        _drop_stdout()
        code = code or EXIT_FAILED
    sys.exit(code)
