"""`buchex daemon [--workstation NAME] [--once]`."""

from __future__ import annotations

import argparse

from engine import logs
from engine.cli.common import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, err
from engine.daemon import Daemon, DaemonLocked, DaemonOptions, install_signal_handlers
from engine.workspace import Workspace


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser("daemon", help="der Dienst, der die Schnittstellen planmäßig ausführt")
    c.add_argument("--workstation", metavar="NAME", help="nur die an NAME gebundenen")
    c.add_argument("--once", action="store_true", help="fällige Läufe einmal ausführen (cron)")
    c.add_argument("--workers", type=int, default=4, help="gleichzeitige Läufe (Standard 4)")
    c.set_defaults(func=cmd_daemon)


def cmd_daemon(ws: Workspace, args: argparse.Namespace) -> int:
    logs.configure()
    daemon = Daemon(ws, DaemonOptions(workstation=args.workstation, workers=max(1, args.workers)))
    try:
        daemon.acquire()
    except DaemonLocked as exc:
        err(str(exc))
        return EXIT_LOCKED
    try:
        if args.once:
            return EXIT_FAILED if daemon.run_once() else EXIT_OK
        install_signal_handlers(daemon)
        daemon.serve()
        return EXIT_OK
    finally:
        daemon.release()
