"""`python -m tui [--home DIR]`: the terminal UI (`buchex tui` executes this)."""

from __future__ import annotations

import argparse
import contextlib
import sys

from engine.store import StoreError
from engine.workspace import Workspace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="buchex tui", description="buchex – Automatischer Buchhaltungsexport (Terminal-UI)"
    )
    parser.add_argument("--home", help="Datenverzeichnis (sonst $BUCHEX_HOME bzw. Standard)")
    parser.add_argument(
        "--no-blink", action="store_true", help="Cursor nicht blinken lassen (z. B. über SSH)"
    )
    args = parser.parse_args(argv)
    # Imported late: `--help` answers without loading Textual.
    from tui.app import BuchexApp
    from tui.wiring import engine_hooks

    try:
        workspace = Workspace.open(args.home)
        workspace.store.revision()  # a damaged store is reported here, not mid-screen
    except (StoreError, OSError) as exc:
        print(f"buchex: {exc}", file=sys.stderr)
        return 2
    # Parsed before the screen opens, so the list's first load finds them in the
    # workspace's cache and draws its rows at once; without this the parse would share
    # the interpreter with Textual's start-up. A config that does not parse is left for
    # the list to report, in German, on screen.
    with contextlib.suppress(Exception):
        workspace.list_configs()
    BuchexApp(workspace, hooks=engine_hooks(workspace), cursor_blink=not args.no_blink).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
