"""Quitting is guarded (issue 14, defects 1, 2, 4): unsaved edits, runs in progress.

Pilot tests against a real data directory. Runs go to a server that accepts and never
answers (`silent_listener`): the run hangs as it did in the issue, and only a cancel ends
it. Waiting is always "until a condition holds, with a deadline".
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.runs import RunRecord
from engine.service import Service
from engine.workspace import Workspace
from tests.servers import ftp_server, silent_listener
from tests.test_tui_support import (
    FixedClock,
    Notes,
    demo_raw,
    fill,
    make_workspace,
    open_editor,
    pilot_test,
    seed_configs,
    until,
)
from tui.app import BuchexApp
from tui.screens.choice import ChoiceDialog
from tui.screens.configs import ConfigListScreen
from tui.screens.editor import EditorScreen
from tui.screens.smtp import SmtpScreen
from tui.widgets.config_table import ConfigTable
from tui.widgets.fields import TextRow

SIZE = (120, 40)
MIDDAY = FixedClock(dt.datetime(2026, 11, 20, 12, 0).astimezone())
HUNG = "haengt"


@pytest.fixture
def seeded(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path / "home")
    seed_configs(ws)
    return ws


@pytest.fixture
def hung(seeded: Workspace) -> Iterator[Workspace]:
    """Plus a config whose server accepts the connection and never says a word."""
    with silent_listener() as port:
        target = {"protocol": "ftp", "host": "127.0.0.1", "port": port, "user": "kanzlei"}
        seeded.save_config(demo_raw(HUNG, name="Hängt", target=target))
        yield seeded


async def loaded(pilot: Any) -> ConfigListScreen:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
    screen = app.screen
    assert isinstance(screen, ConfigListScreen)
    return screen


async def select(pilot: Any, screen: ConfigListScreen, cfg_id: str) -> None:
    table = screen.query_one(ConfigTable)
    table.move_cursor(row=list(screen.shown_ids()).index(cfg_id))
    table.focus()
    await pilot.pause()


def exited(app: BuchexApp) -> bool:
    return app.return_code is not None


def name_input(form: Any) -> Any:
    row = form.rows["name"]
    assert isinstance(row, TextRow)
    return row.input


# --- defect 1: Strg+Q with unsaved edits ------------------------------------------------


@pilot_test
async def test_ctrl_q_in_the_editor_asks_like_escape(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded))
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, screen, "stb-schroeder")
        _, form = await open_editor(pilot, "enter")
        await fill(pilot, name_input(form), "Geändert")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the question")
        dialog = app.screen
        assert isinstance(dialog, ChoiceDialog)
        assert "Ungespeicherte Änderungen" in dialog.question
        assert [c[0] for c in dialog.choices] == ["save", "discard", "stay"]
        await pilot.press("enter")  # the default: keep editing
        await until(pilot, lambda: isinstance(app.screen, EditorScreen), "back in the editor")
        assert not exited(app)
        assert name_input(form).value == "Geändert"
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("s")  # save, then quit
        await until(pilot, lambda: exited(app), "quit after saving")
    assert seeded.get_config("stb-schroeder").name == "Geändert"


@pilot_test
async def test_ctrl_q_discards_only_when_told(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded))
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, screen, "stb-schroeder")
        _, form = await open_editor(pilot, "enter")
        await fill(pilot, name_input(form), "Verworfen")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("v")
        await until(pilot, lambda: exited(app), "quit without saving")
    assert seeded.get_config("stb-schroeder").name == "Steuerbüro Schröder"


@pilot_test
async def test_ctrl_q_in_a_settings_screen_asks(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, SmtpScreen) and app.screen.form)
        smtp = app.screen
        assert isinstance(smtp, SmtpScreen) and smtp.form is not None
        row = smtp.form.rows["host"]
        assert isinstance(row, TextRow)
        await fill(pilot, row.input, "smtp.example.org")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the question")
        await pilot.press("escape")  # = Weiter bearbeiten
        await until(pilot, lambda: isinstance(app.screen, SmtpScreen))
        assert not exited(app)


# --- defect 2: quitting while a run hangs --------------------------------------------------


def runs_of(ws: Workspace, cfg_id: str) -> list[RunRecord]:
    return ws.runs.runs(cfg_id)


def running(ws: Workspace) -> bool:
    return any(r.status == "running" for r in runs_of(ws, HUNG))


@pilot_test
async def test_quit_during_a_hanging_run_asks_and_cancel_ends_it_at_once(hung: Workspace) -> None:
    app = BuchexApp(Service(hung, clock=MIDDAY))
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, screen, HUNG)
        await pilot.press("r")
        await until(pilot, lambda: running(hung), "the run is under way", 30)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the question")
        dialog = app.screen
        assert isinstance(dialog, ChoiceDialog)
        assert dialog.question == "Lauf läuft noch: „Hängt“"
        assert [c[1] for c in dialog.choices] == [
            "Im Hintergrund zu Ende führen",
            "Abbrechen",
            "Bleiben",
        ]
        await pilot.press("b")  # Bleiben: nothing happens
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen))
        assert running(hung) and not exited(app)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        asked = time.monotonic()
        await pilot.press("a")  # Abbrechen
        await until(pilot, lambda: exited(app), "quit after the cancel", 15)
        took = time.monotonic() - asked
    assert took < 8, f"quitting took {took:.1f} s"
    [run] = runs_of(hung, HUNG)
    assert run.status == "failed"
    assert run.reason == "abgebrochen: beim Beenden von buchex abgebrochen"
    assert run.step == "Verbinden"


@pilot_test
async def test_quit_hands_a_run_over_to_a_background_process(hung: Workspace) -> None:
    started: list[tuple[str, bool]] = []

    class Spy(Service):
        def run_in_background(self, cfg_id: str, *, force: bool = False) -> int:
            started.append((cfg_id, force))
            return 4242

    app = BuchexApp(Spy(hung, clock=MIDDAY))
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, screen, HUNG)
        await pilot.press("r")
        await until(pilot, lambda: running(hung), "the run is under way", 30)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("h")
        await until(pilot, lambda: exited(app), "quit after the hand-over", 15)
    assert started == [(HUNG, False)]
    [run] = runs_of(hung, HUNG)
    assert run.status == "failed"
    assert run.reason == "abgebrochen: an einen Hintergrundprozess übergeben (PID 4242)"


def test_run_in_background_survives_in_its_own_session(seeded: Workspace, tmp_path: Path) -> None:
    root = tmp_path / "ftp"
    root.mkdir()
    with ftp_server(root) as server:
        target = {"protocol": "ftp", "host": server.host, "port": server.port,
                  "user": server.user, "password": server.password}  # fmt: skip
        seeded.save_config(demo_raw("hinten", name="Im Hintergrund", target=target))
        pid = Service(seeded).run_in_background("hinten", force=True)
        assert os.getsid(pid) != os.getsid(0)  # its own session: SIGHUP of ours misses it
        deadline = time.monotonic() + 60
        while not [r for r in runs_of(seeded, "hinten") if r.status != "running"]:
            assert time.monotonic() < deadline, "the background run never ended"
            time.sleep(0.1)
        os.waitpid(pid, 0)
    [run] = runs_of(seeded, "hinten")
    assert run.trigger == "manual" and run.status == "ok", run.reason
    audit = (seeded.data_dir.root / "audit.log").read_text(encoding="utf-8")
    assert "run.background" in audit


# --- defect 4: no second run while one is going ---------------------------------------------


@pilot_test
async def test_run_now_is_refused_while_the_config_runs(hung: Workspace) -> None:
    app = BuchexApp(Service(hung, clock=MIDDAY))
    notes = Notes(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, screen, HUNG)
        await pilot.press("r")
        await until(pilot, lambda: running(hung), "the run is under way", 30)
        await pilot.press("r")
        await until(pilot, lambda: "läuft gerade" in notes.text(), "the refusal")
        assert [r.status for r in runs_of(hung, HUNG)] == ["running"]  # nothing skipped
        # x cancels the run this TUI owns, after a question.
        await pilot.press("x")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "confirm")
        await pilot.press("j")
        await until(pilot, lambda: not running(hung), "cancelled", 15)
        [run] = runs_of(hung, HUNG)
        assert run.status == "failed" and run.reason == "abgebrochen: vom Benutzer abgebrochen"
        await until(pilot, lambda: not app.runs_in_progress.all(), "the run thread ended")
        await pilot.press("ctrl+q")  # nothing runs any more: quits without asking
        await until(pilot, lambda: exited(app), "quit")
