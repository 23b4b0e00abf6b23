"""`python -m tui.screenshots DIR` (`make screenshots`): an SVG of every screen, made from
the demo data (the same books, configs and servers as `buchex demo`).

Two real runs go first, one that delivers and one that fails, so the Protokoll shows both.
The clock is fixed, so the pictures change only when a screen does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from engine.demo import DemoServers, ftp_server, prepare, quiet_servers, smtp_sink
from engine.service import Service
from tui.app import BuchexApp

SIZE = (120, 40)
NOW = dt.datetime(2026, 11, 24, 9, 15).astimezone()


class _FixedClock:
    def now(self) -> dt.datetime:
        return NOW


async def _settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


Step = Callable[[Pilot[Any]], Awaitable[None]]


async def _keys(pilot: Pilot[Any], *keys: str) -> None:
    await pilot.press(*keys)
    await _settle(pilot)


def _section(name: str) -> Step:
    async def show(pilot: Pilot[Any]) -> None:
        pilot.app.screen.query_one(f"#section-{name}").scroll_visible(animate=False, top=True)
        await _settle(pilot)

    return show


async def _delivered_run(pilot: Pilot[Any]) -> None:
    """The Protokoll's cursor on the newest delivered run (a run with its Belegbilder)."""
    from tui.widgets.run_table import RunTable

    table = pilot.app.screen.query_one(RunTable)
    keys = table.keys
    ok = next(i for i, key in enumerate(keys) if table.get_row(key).status == "ok")
    table.focus()
    table.move_cursor(row=ok)
    await _settle(pilot)


# (file name, keys/steps that lead there from the previous shot)
SHOTS: list[tuple[str, list[str | Step]]] = [
    ("01-schnittstellen", []),
    ("02-editor-konfiguration", ["enter"]),
    ("03-editor-ftp", [_section("ftp")]),
    ("04-editor-ausfuehrungsdetails", [_section("ausfuehrungsdetails")]),
    ("05-editor-e-mail", [_section("e-mail")]),
    ("06-smtp-postausgangsserver", ["escape", "m"]),
    ("07-sicherheit", ["escape", "s"]),
    ("08-protokoll", ["escape", "p"]),
    ("09-protokoll-nur-fehler", ["f"]),
    ("10-lauf-details", ["enter"]),
    # a delivered run with its Belegbilder package (issue 17)
    ("16-lauf-details-belegbilder", ["escape", "f", _delivered_run, "enter"]),
]

SMALL = (80, 24)  # an SSH terminal's default: the list and the dialogs must work there too
# The last editor change ("x" typed into the name) makes the quit question ask about it.
SMALL_SHOTS: list[tuple[str, list[str | Step]]] = [
    ("11-schnittstellen-80x24", []),
    ("12-loeschen-80x24", ["delete"]),
    ("13-hilfe-80x24", ["escape", "f1"]),
    ("14-befehle-80x24", ["f1", "ctrl+p", "a", "u", "s", "f"]),
    ("15-beenden-ungespeichert-80x24", ["escape", "enter", "end", "x", "ctrl+q"]),
]


async def _shoot(
    service: Service,
    out: Path,
    shots: list[tuple[str, list[str | Step]]],
    size: tuple[int, int],
) -> list[str]:
    app = BuchexApp(service, cursor_blink=False)
    made: list[str] = []
    async with app.run_test(size=size) as pilot:
        await _settle(pilot)
        for name, steps in shots:
            try:
                for step in steps:
                    if isinstance(step, str):
                        await _keys(pilot, step)
                    else:
                        await step(pilot)
            except Exception as exc:  # one screen that changed must not stop the rest
                print(f"  {name}: übersprungen ({type(exc).__name__}: {exc})", file=sys.stderr)
                continue
            app.save_screenshot(f"{name}.svg", path=str(out))
            made.append(name)
    return made


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="buchex-screens-") as tmp:
        root = Path(tmp)
        service = Service.open(root / "home", clock=_FixedClock())
        quiet_servers(root / "servers.log")
        (root / "ftp").mkdir()
        (root / "mails").mkdir()
        with ftp_server(root / "ftp") as ftp_port, smtp_sink(root / "mails") as smtp_port:
            servers = DemoServers(ftp_port, root / "ftp", smtp_port, root / "mails")
            prepare(service, servers, today=NOW.date())
            for cfg_id in ("stb-schroeder", "kanzlei-csv"):
                service.run_now(cfg_id)
            made = asyncio.run(_shoot(service, out, SHOTS, SIZE))
            made += asyncio.run(_shoot(service, out, SMALL_SHOTS, SMALL))
    for name in made:
        print(out / f"{name}.svg")
    return 0 if len(made) == len(SHOTS) + len(SMALL_SHOTS) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
