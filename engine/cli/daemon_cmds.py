"""`buchex daemon [--workstation NAME] [--once]`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from engine.cli.common import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, err
from engine.errors import DaemonLocked

if TYPE_CHECKING:
    from engine.service import Service


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser("daemon", help="der Dienst, der die Schnittstellen planmäßig ausführt")
    c.add_argument("--workstation", metavar="NAME", help="nur die an NAME gebundenen")
    c.add_argument("--once", action="store_true", help="fällige Läufe einmal ausführen (cron)")
    c.add_argument("--workers", type=int, default=8, help="gleichzeitige Läufe (Standard 8)")
    c.set_defaults(func=cmd_daemon)


def cmd_daemon(svc: Service, args: argparse.Namespace, *, stop_grace_s: float | None = None) -> int:
    """Lock the data directory, then run what is due (`--once`) or serve until
    SIGTERM/SIGINT (SIGHUP reloads). The daemon runs on `svc`'s clock: a test entry point
    (tests/daemon_clock.py) opens the service with its own clock and a `stop_grace_s`, and
    runs this same command."""
    try:
        ok = svc.serve(
            workstation=args.workstation,
            workers=max(1, args.workers),
            once=args.once,
            stop_grace_s=stop_grace_s,
        )
    except DaemonLocked as exc:
        err(str(exc))
        return EXIT_LOCKED
    return EXIT_OK if ok else EXIT_FAILED
