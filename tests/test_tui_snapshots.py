"""SVG snapshots of every screen at 80×24 and 120×40 (pytest-textual-snapshot).

Deterministic: fixed config ids, a fixed clock and fixed hook answers, the demo ledger from
a fixed seed, no blinking cursor; each shot waits until all workers are done. Update the
baselines with `pytest tests/test_tui_snapshots.py --snapshot-update` and look at them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from engine.config import ExportConfig
from engine.runs import RunRecord, RunSummary
from engine.service import Service
from engine.transports import ChangedHostKey, StepResult, UnknownHostKey
from tests.test_tui_protocol import FAILED_ID, seed_runs
from tests.test_tui_support import (
    ADMIN,
    FixedClock,
    add_users,
    make_workspace,
    seed_configs,
    settle,
    until,
)
from tui.app import BuchexApp
from tui.screens.configs import ConfigListScreen
from tui.screens.confirm import ConfirmDialog
from tui.screens.editor import EditorScreen
from tui.screens.form_screen import FormScreen
from tui.screens.hostkey import HostKeyDialog
from tui.screens.outside_window import OutsideWindowDialog
from tui.screens.protocol import ProtocolScreen, RunDetailScreen, RunTable
from tui.screens.reveal import RevealDialog
from tui.screens.test_dialog import ConnectionTestDialog
from tui.widgets.config_table import ConfigTable
from tui.widgets.fields import SecretRow

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
NOW = dt.datetime(2026, 11, 20, 9, 15, tzinfo=dt.UTC)
Run = Callable[[Pilot[Any]], Awaitable[None]]


def _next_due(cfg: ExportConfig) -> dt.datetime | None:
    return {
        "stb-schroeder": NOW.replace(day=21, hour=6, minute=30),
        "wuerzburg-kasse": NOW.replace(minute=30),
        "weiss-monatlich": NOW.replace(month=12, day=15, hour=7, minute=0),
    }.get(cfg.id)


def _last_run(cfg_id: str) -> RunSummary | None:
    found = {
        "stb-schroeder": ("OK", NOW.replace(hour=6, minute=30)),
        "wuerzburg-kasse": ("failed", NOW.replace(minute=0)),  # shown "fehlgeschlagen"
    }.get(cfg_id)
    if found is None:
        return None
    status, when = found
    return RunSummary("r", status, started_at=when.isoformat(), finished_at=when.isoformat())


HOST_KEY = UnknownHostKey(
    "SHA256:q3V8mYJwQ0fTzv6o1x2W9bHc4kLrN5sPdE7uAiGjK0M",
    key_type="ssh-ed25519",
    host="[sftp.datev-kanzlei.example]:2222",
)
CHANGED_KEY = ChangedHostKey(
    "ssh-ed25519 SHA256:q3V8mYJwQ0fTzv6o1x2W9bHc4kLrN5sPdE7uAiGjK0M",
    "ssh-ed25519 SHA256:Zf0pL2xq9TnWc4R7vYbE1mKsH8uJ3aGdN6oQiVtXy5B",
    host="[sftp.datev-kanzlei.example]:2222",
)


class FixedAnswers(Service):
    """Fixed answers for the schedule, the run history, runs and the connection test."""

    def next_due(self, cfg: ExportConfig) -> dt.datetime | None:
        return _next_due(cfg)

    def last_run(self, cfg_id: str) -> RunSummary | None:
        return _last_run(cfg_id)

    def run_now(
        self, cfg_id: str, *, force: bool = False, trigger: str = "x", **_: Any
    ) -> RunRecord:
        return RunRecord("r", cfg_id, cfg_id, trigger, NOW.isoformat(), status="ausgeführt")

    host_key_error: UnknownHostKey | ChangedHostKey = HOST_KEY

    def test_connection(self, cfg: ExportConfig, *, trust: str | None = None) -> Iterator[Any]:
        if cfg.target.protocol == "sftp":
            yield StepResult("Verbinden", False, "Hostschlüssel unbekannt", self.host_key_error)
            return
        yield type("Step", (), {"ok": True, "step": "Verbinden", "message": "192.0.2.10:21"})()
        yield type("Step", (), {"ok": True, "step": "Anmelden", "message": "als weiss"})()
        # A failure as engine.explain words it, the server's own text apart (issue 14).
        yield StepResult(
            "Verzeichnis",
            False,
            "Der Benutzer „weiss“ darf auf 192.0.2.10:21 den Ordner „export/Automatischer_"
            "Buchhaltungsexport_2026-11-20“ nicht anlegen oder öffnen. Beim Betreiber des "
            "Servers Schreibrechte für „weiss“ auf „export“ einrichten lassen oder in der "
            "Schnittstelle ein anderes Verzeichnis eintragen (Abschnitt FTP).",
            server="550 Permission denied.",
        )


@pytest.fixture
def app(tmp_path: Path) -> BuchexApp:
    ws = make_workspace(tmp_path / "home")
    seed_configs(ws)
    add_users(ws)
    ws.save_chain_settings({"admins_may_reveal_passwords": True, "timezone": "Europe/Berlin"})
    ws.save_smtp_settings(
        {
            "host": "mail.optik-mueller.example",
            "sender": "buchex@optik-mueller.example",
            "user": "buchex",
            "password": "Smtp-Geheim-1",
        }
    )
    seed_runs(ws)
    service = FixedAnswers(ws, actor=ADMIN, clock=FixedClock(NOW))
    return BuchexApp(service, cursor_blink=False)


async def _list(pilot: Pilot[Any]) -> ConfigListScreen:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, ConfigListScreen)
    return screen


async def _select(pilot: Pilot[Any], cfg_id: str) -> None:
    screen = await _list(pilot)
    table = screen.query_one(ConfigTable)
    table.move_cursor(row=screen.shown_ids().index(cfg_id))
    table.focus()
    await pilot.pause()


async def _form(pilot: Pilot[Any], key: str) -> FormScreen:
    await pilot.press(key)
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, FormScreen) and app.screen.form is not None)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, FormScreen)
    return screen


def editor_at(section: str | None, cfg_id: str = "weiss-monatlich") -> Run:
    async def run(pilot: Pilot[Any]) -> None:
        await _select(pilot, cfg_id)
        screen = await _form(pilot, "enter")
        assert isinstance(screen, EditorScreen)
        if section:
            screen.jump_to(section)
        await settle(pilot)

    return run


async def list_screen(pilot: Pilot[Any]) -> None:
    await _select(pilot, "stb-schroeder")


async def list_filtered(pilot: Pilot[Any]) -> None:
    screen = await _list(pilot)
    await pilot.press("slash", *"kasse")
    await pilot.press("enter")  # back to the table
    await until(pilot, lambda: screen.shown_ids() == ["wuerzburg-kasse"])
    await settle(pilot)


async def new_with_errors(pilot: Pilot[Any]) -> None:
    await _list(pilot)
    screen = await _form(pilot, "n")
    assert screen.form is not None
    screen.form.rows["target.port"].input.value = "70000"  # type: ignore[attr-defined]
    screen.form.validate(everything=True)  # as ctrl+s does, without its notification
    screen.form.rows["name"].focus_control()
    await settle(pilot)


async def smtp(pilot: Pilot[Any]) -> None:
    await _list(pilot)
    await _form(pilot, "m")


async def security(pilot: Pilot[Any]) -> None:
    await _list(pilot)
    await _form(pilot, "s")


async def password_dialog(pilot: Pilot[Any]) -> None:
    await _select(pilot, "stb-schroeder")
    screen = await _form(pilot, "enter")
    assert screen.form is not None
    row = screen.form.rows["target.password"]
    assert isinstance(row, SecretRow)
    row.input.focus()
    await pilot.click(f"#{row.eye.id}")
    await until(pilot, lambda: isinstance(pilot.app.screen, RevealDialog))
    await settle(pilot)


async def confirm_delete(pilot: Pilot[Any]) -> None:
    await _select(pilot, "weiss-monatlich")
    await pilot.press("delete")
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog))
    await settle(pilot)


async def unsaved_changes(pilot: Pilot[Any]) -> None:
    await _select(pilot, "stb-schroeder")
    screen = await _form(pilot, "enter")
    assert screen.form is not None
    screen.form.rows["name"].input.value = "Steuerbüro Schröder neu"  # type: ignore[attr-defined]
    await pilot.pause()
    await pilot.press("escape")
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog))
    await settle(pilot)


async def connection_test(pilot: Pilot[Any]) -> None:
    await _select(pilot, "weiss-monatlich")
    await pilot.press("t")
    await until(pilot, lambda: isinstance(pilot.app.screen, ConnectionTestDialog))
    await settle(pilot)


async def _protocol(pilot: Pilot[Any]) -> ProtocolScreen:
    await _list(pilot)
    await pilot.press("p")
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ProtocolScreen) and app.screen.loaded)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, ProtocolScreen)
    return screen


async def protocol(pilot: Pilot[Any]) -> None:
    """Every status; the cursor on a failure (at 120×40 its details show below)."""
    screen = await _protocol(pilot)
    screen.query_one(RunTable).move_to_key(FAILED_ID)
    await settle(pilot)


async def protocol_failures(pilot: Pilot[Any]) -> None:
    screen = await _protocol(pilot)
    await pilot.press("f")
    await until(pilot, lambda: len(screen.shown_ids()) == 2)
    await settle(pilot)


async def run_detail(pilot: Pilot[Any]) -> None:
    screen = await _protocol(pilot)
    screen.query_one(RunTable).move_to_key(FAILED_ID)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, RunDetailScreen))
    await settle(pilot)


async def host_key(pilot: Pilot[Any]) -> None:
    await _select(pilot, "wuerzburg-kasse")
    await pilot.press("t")
    await until(pilot, lambda: isinstance(pilot.app.screen, HostKeyDialog))
    await settle(pilot)


async def host_key_changed(pilot: Pilot[Any]) -> None:
    """A changed key, seen by an admin: both fingerprints, type ERSETZEN, Abbrechen focused."""
    pilot.app.service.host_key_error = CHANGED_KEY
    await _select(pilot, "wuerzburg-kasse")
    await pilot.press("t")
    await until(pilot, lambda: isinstance(pilot.app.screen, HostKeyDialog))
    await settle(pilot)


async def outside_window(pilot: Pilot[Any]) -> None:
    pilot.app.service.clock = FixedClock(NOW.replace(hour=22, minute=15))  # 23:15 in Berlin
    await _select(pilot, "stb-schroeder")
    await pilot.press("r")
    await until(pilot, lambda: isinstance(pilot.app.screen, OutsideWindowDialog))
    await settle(pilot)


SHOTS: dict[str, Run] = {
    "list": list_screen,
    "list_filtered": list_filtered,
    "editor_konfiguration": editor_at(None),
    "editor_ftp": editor_at("FTP"),
    "editor_details": editor_at("Ausführungsdetails"),
    "editor_email": editor_at("E-Mail"),
    "editor_sftp_hourly": editor_at("FTP", "wuerzburg-kasse"),
    "editor_new_errors": new_with_errors,
    "smtp": smtp,
    "security": security,
    "password_dialog": password_dialog,
    "confirm_delete": confirm_delete,
    "confirm_unsaved": unsaved_changes,
    "connection_test": connection_test,
    "protocol": protocol,
    "protocol_failures": protocol_failures,
    "run_detail": run_detail,
    "host_key": host_key,
    "host_key_changed": host_key_changed,
    "outside_window": outside_window,
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("shot", list(SHOTS))
def test_screen(snap_compare: Any, app: BuchexApp, shot: str, size: tuple[int, int]) -> None:
    assert snap_compare(app, terminal_size=size, run_before=SHOTS[shot])
