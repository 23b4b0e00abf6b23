"""`buchex daemon` on a clock read from a file, for tests and benchmarks.

    python -m tests.daemon_clock --clock-file FILE [--stop-grace S] --home DIR daemon [...]

The same `daemon` subcommand, options and command function as `buchex` (lock, signal
handlers, `--once`: engine.cli.daemon_cmds.cmd_daemon → Service.serve), but the Service
is opened with a `FileClock`: its "now" is the ISO timestamp in FILE, so a test drives a
real daemon process through hours of schedule without waiting for them. The production
daemon has no such switch: it always runs on the system clock.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from engine.cli import daemon_cmds
from engine.service import Service


class FileClock:
    """`now` from an ISO timestamp in a file (without offset: local time), re-read only
    when the file changed (a stat per call: the daemon asks every tick).

    An `engine.clock.SteppingClock`: writing the file is the moment time passes, so `wait`
    (the daemon's sleep until the next due time or chore) returns within `POLL_S` of a
    change, as the system clock's daemon wakes at the due time itself."""

    POLL_S = 0.05

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._moment = dt.datetime.now().astimezone()

    def now(self) -> dt.datetime:
        st = os.stat(self.path)
        if (st.st_ino, st.st_mtime_ns) != self._seen:  # re-read only when it changed
            moment = dt.datetime.fromisoformat(self.path.read_text().strip())
            self._moment = moment if moment.tzinfo else moment.astimezone()
            self._seen = (st.st_ino, st.st_mtime_ns)
        return self._moment

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        seen = self._stamp()
        while (left := deadline - time.monotonic()) > 0 and not stop.is_set():
            time.sleep(min(self.POLL_S, left))  # cheaper than an Event wait, 20 times a second
            if self._stamp() != seen:
                return False
        return stop.is_set()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.daemon_clock")
    parser.add_argument("--clock-file", type=Path, required=True, help="ISO-Zeitpunkt = jetzt")
    parser.add_argument(
        "--stop-grace", type=float, metavar="S", help="SIGTERM: laufende Übertragungen S s"
    )
    parser.add_argument("--home", metavar="DIR", help="Datenverzeichnis")
    sub = parser.add_subparsers(dest="command", required=True)
    daemon_cmds.register(sub)  # `daemon [--workstation NAME] [--once] [--workers N]`
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    svc = Service.open(args.home, clock=FileClock(args.clock_file))
    return daemon_cmds.cmd_daemon(svc, args, stop_grace_s=args.stop_grace)


if __name__ == "__main__":
    sys.exit(main())
