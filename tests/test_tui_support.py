"""Helpers for the TUI tests (pilot and snapshots), plus tests of the pure display helpers.

Pilot tests are async; without an async pytest plugin they run in a fresh event loop via
`pilot_test`. Waiting is always "until a condition holds, with a deadline", never a fixed
sleep.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget

from engine.config import ExportConfig, Interval
from engine.ledger_demo import generate
from engine.paths import DataDir
from engine.workspace import Workspace
from tui.app import BuchexApp
from tui.commands import ScreenCommands
from tui.formatting import describe_interval, format_last_run, format_step, format_when
from tui.screens.editor import EditorScreen
from tui.screens.form_screen import FormScreen
from tui.widgets.form import FieldForm

DEMO_END = dt.date(2026, 11, 20)
ADMIN, ADMIN_PW = "anna", "anna-passwort-1"
CLERK, CLERK_PW = "bernd", "bernd-passwort-1"
FTP_PASSWORD = "Kanzlei-Geheim-42"

F = TypeVar("F", bound=Callable[..., Coroutine[Any, Any, None]])
S = TypeVar("S", bound=FormScreen)


def pilot_test(fn: F) -> Callable[..., None]:
    """Run an async test body in its own event loop (keeps pytest fixtures working)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


def make_workspace(path: Path) -> Workspace:
    """A real data directory with the small demo books (SPEC §5 catalog)."""
    path.mkdir(parents=True, exist_ok=True)
    generate(path / "ledger.sqlite", months=1, per_day=5, seed=7, end=DEMO_END)
    return Workspace(DataDir.open(path))


def demo_raw(cfg_id: str | None = None, **changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": "Steuerbüro Schröder",
        "target": {
            "protocol": "ftp",
            "host": "ftp.kanzlei.example",
            "user": "kanzlei",
            "password": FTP_PASSWORD,
        },
        "clients": ["1"],
        "document_types": ["KR", "GS"],
        "format": "datev",
        "time": "06:30",
        "interval": {"kind": "daily"},
    }
    if cfg_id:
        raw["id"] = cfg_id
    for key, value in changes.items():
        if key == "target":
            raw["target"] = {**raw["target"], **value}
        else:
            raw[key] = value
    return raw


def seed_configs(ws: Workspace) -> None:
    """Three configs with fixed ids: one daily, one bound to a workstation, one hourly."""
    ws.save_configs(
        [
            demo_raw("stb-schroeder", email="buchhaltung@optik-mueller.example"),
            demo_raw(
                "wuerzburg-kasse",
                name="Filiale Würzburg (Kasse)",
                branch="1",
                workstation="KASSE-WUE-01",
                server_side=False,
                target={"protocol": "sftp", "host": "sftp.datev-kanzlei.example", "port": 2222},
                payment_methods=["BAR", "EC"],
                interval={"kind": "hourly", "every_minutes": 15},
                time=None,
            ),
            demo_raw(
                "weiss-monatlich",
                name="Hörgeräte Weiß monatlich",
                clients=["2"],
                document_types=["KR"],
                target={"protocol": "ftps", "host": "192.0.2.10", "user": "weiss"},
                interval={"kind": "monthly", "day": 15},
                time="07:00",
                incoming_export=True,
                incoming_format="datev",
            ),
        ]
    )


def add_users(ws: Workspace) -> None:
    ws.add_user(ADMIN, ADMIN_PW, admin=True)
    ws.add_user(CLERK, CLERK_PW)


class FixedClock:
    def __init__(self, now: dt.datetime) -> None:
        self._now = now

    def now(self) -> dt.datetime:
        return self._now


class Notes:
    """Records the app's notifications (and still shows them)."""

    def __init__(self, app: BuchexApp) -> None:
        self.messages: list[tuple[str, str]] = []
        original = app.notify

        def notify(message: str, **kwargs: Any) -> None:
            self.messages.append((message, str(kwargs.get("severity", "information"))))
            original(message, **kwargs)

        app.notify = notify  # type: ignore[method-assign]

    def text(self) -> str:
        return "\n".join(m for m, _ in self.messages)


async def until(
    pilot: Pilot[Any], cond: Callable[[], object], what: str = "", timeout: float = 10.0
) -> None:
    """Let the app run until `cond()` is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await pilot.pause(0.02)


async def settle(pilot: Pilot[Any]) -> None:
    """All workers done and their messages handled."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def type_into(pilot: Pilot[Any], widget: Widget, text: str) -> None:
    """Real key presses (slow: use where typing itself matters)."""
    widget.focus()
    await pilot.pause()
    value = getattr(widget, "value", "")
    if value:
        await pilot.press("end", *["backspace"] * len(value))
    if text:
        await pilot.press(*text)


async def fill(pilot: Pilot[Any], widget: Widget, text: str) -> None:
    """Focus a field and set its text (same Changed message as typing, without ~0.1 s of
    test harness per key)."""
    widget.focus()
    await pilot.pause()
    widget.value = text  # type: ignore[attr-defined]
    await pilot.pause()


async def open_form(pilot: Pilot[Any], key: str, kind: type[S]) -> tuple[S, FieldForm]:
    """Press `key` and wait for a form screen of `kind` with its form filled in."""
    await pilot.press(key)
    app = pilot.app
    await until(
        pilot,
        lambda: isinstance(app.screen, kind) and app.screen.form is not None,
        kind.__name__,
    )
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, kind) and screen.form is not None
    return screen, screen.form


def palette_titles(screen: Screen[Any]) -> list[str]:
    """The command palette's entries on `screen`: the app's global ones and the screen's
    own (its COMMANDS)."""
    titles = [c.title for c in screen.app.get_system_commands(screen)]
    for provider in screen.COMMANDS:
        if isinstance(provider, type) and issubclass(provider, ScreenCommands):
            titles += [c.title for c in provider(screen).commands()]
    return titles


async def open_editor(pilot: Pilot[Any], key: str = "n") -> tuple[EditorScreen, FieldForm]:
    return await open_form(pilot, key, EditorScreen)


# --- the pure display helpers ---------------------------------------------------------------

NOW = dt.datetime(2026, 11, 20, 9, 15, tzinfo=dt.UTC)


def test_format_when_is_relative_to_the_clock() -> None:
    assert format_when(None, NOW) == "–"
    assert format_when(NOW.replace(hour=6, minute=30), NOW) == "heute 06:30"
    assert format_when(NOW + dt.timedelta(days=1), NOW) == "morgen 09:15"
    assert format_when(NOW - dt.timedelta(days=1), NOW) == "gestern 09:15"
    assert format_when(NOW + dt.timedelta(days=7), NOW) == "Fr 27.11. 09:15"
    assert format_when(NOW + dt.timedelta(days=400), NOW) == "25.12.2027 09:15"


def test_format_last_run() -> None:
    assert format_last_run(None, NOW) == "–"
    assert format_last_run(("OK", NOW), NOW) == "OK · heute 09:15"


def test_describe_interval_in_german() -> None:
    def cfg(**kw: Any) -> ExportConfig:
        time_ = kw.pop("time", "06:30")
        return ExportConfig(time=time_, interval=Interval(**kw))

    assert describe_interval(cfg(kind="daily")) == "täglich 06:30"
    assert describe_interval(cfg(kind="hourly", every_minutes=15, time=None)) == "alle 15 Min."
    assert describe_interval(cfg(kind="hourly", every_minutes=60, time=None)) == "stündlich"
    assert describe_interval(cfg(kind="weekly", days=("mon", "wed"))) == "wöchentlich Mo, Mi 06:30"
    assert describe_interval(cfg(kind="monthly", day=15)) == "monatl. am 15. 06:30"


def test_format_step_accepts_strings_and_step_objects() -> None:
    class Step:
        def __init__(self, ok: bool | None, step: str, message: str) -> None:
            self.ok, self.step, self.message = ok, step, message

    assert format_step("läuft") == (None, "läuft")
    assert format_step(Step(True, "Verbinden", "ok")) == (True, "Verbinden: ok")
    assert format_step(Step(False, "Anmelden", "Passwort falsch")) == (
        False,
        "Anmelden: Passwort falsch",
    )
