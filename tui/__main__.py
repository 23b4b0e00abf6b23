"""`python -m tui [--home DIR]`: the terminal UI (`buchex tui` executes this)."""

from __future__ import annotations

import argparse
import sys

from engine.errors import StoreError


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
    from engine.service import Service
    from tui.app import BuchexApp

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
    BuchexApp(service, cursor_blink=not args.no_blink).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
