"""`python -m tui [--home DIR]`: the terminal UI (`buchex tui` executes this)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

from engine.errors import StoreError

if TYPE_CHECKING:
    from types import FrameType

    from tui.app import BuchexApp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="buchex tui", description="buchex – Automatischer Buchhaltungsexport (Terminal-UI)"
    )
    parser.add_argument("--home", help="Datenverzeichnis (sonst $BUCHEX_HOME bzw. Standard)")
    parser.add_argument(
        "--no-blink", action="store_true", help="Cursor nicht blinken lassen (z. B. über SSH)"
    )
    args = parser.parse_args(argv)
    # Start-up allocates much and frees little (Textual's and buchex's modules, the parsed
    # configs, the list): the collector's passes over it took ~35 ms of a start's ~320 ms
    # of CPU. So it is off until the first frame is drawn; then what start-up built is
    # frozen out of later collections (which would otherwise walk it again and again).
    gc.disable()
    # Imported late: `--help` answers without loading Textual.
    from engine.service import Service
    from tui.app import BuchexApp
    from tui.preferences import Preferences

    # A damaged store is reported here, not mid-screen. The configs are parsed before the
    # screen opens, so the list's first load finds them in the service's cache and draws
    # its rows at once; without this the parse would share the interpreter with Textual's
    # start-up. A config that does not parse is left for the list to report, in German, on
    # screen.
    try:
        service = Service.open(args.home)
        try:
            service.list_configs()
        except (StoreError, OSError):
            raise
        except Exception:
            pass
    except (StoreError, OSError) as exc:
        print(f"buchex: {exc}", file=sys.stderr)
        return 2
    app = BuchexApp(
        service,
        cursor_blink=not args.no_blink,
        preferences=Preferences.default(),
        started=collect_after_start,
    )
    # Likewise the list's first load (schedule, run history, branch names): the first frame
    # shows the complete list.
    app.preload()
    _stop_on_signals(app)
    # Our own loop: asyncio.run would wait, after the screen is restored and without a
    # word, for every worker thread still blocked in the network (a connection test to a
    # silent server: up to its 30 s timeout).
    app.run(loop=asyncio.new_event_loop())
    return _leave(app, 0)


def collect_after_start() -> None:
    """The collector back on after the first frame (see `main`); what start-up built is
    frozen: later collections skip it, so none of them stalls a key for tens of ms."""
    gc.freeze()
    gc.enable()


def _leave(app: BuchexApp, code: int) -> int:
    """End without waiting for worker threads still blocked in the network, once the runs
    this TUI owned have recorded their end (quitting waited for them already; after a
    signal they are being cancelled: wait for them, bounded)."""
    from tui.app import STOP_WAIT

    runs = app.runs_in_progress
    runs.wait(runs.all(), STOP_WAIT)
    me = threading.current_thread()
    if any(t is not me and t.is_alive() and not t.daemon for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _stop_on_signals(app: BuchexApp) -> None:
    """SIGHUP (the terminal or the SSH session closed) and SIGTERM: the runs this TUI owns
    are cancelled and record "abgebrochen" with their step, then the app ends
    (`BuchexApp.stop_for_signal`). Without this the process would die at once and leave
    its runs "läuft" until a reader sees the owner is gone."""

    def stop(signum: int, frame: FrameType | None) -> None:
        app.stop_for_signal(signal.Signals(signum).name)

    signal.signal(signal.SIGHUP, stop)
    signal.signal(signal.SIGTERM, stop)


if __name__ == "__main__":
    sys.exit(main())
