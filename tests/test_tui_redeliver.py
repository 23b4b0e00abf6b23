"""Nachlieferung in the TUI: "n" on a delivered run asks, sends the run's bookings again
through a real FTP server, and asks once more when bookings changed since."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from engine.runner import RunOptions, run_config
from engine.service import Service
from engine.workspace import Workspace
from tests.servers import FTPServer
from tests.test_tui_protocol import BERLIN, SIZE, ftp_raw, open_protocol
from tests.test_tui_support import FixedClock, make_workspace, pilot_test, until
from tui.app import BuchexApp
from tui.screens.confirm import ConfirmDialog
from tui.screens.protocol import RunDetailScreen, RunTable

NOW = dt.datetime(2026, 11, 20, 10, 15, tzinfo=BERLIN)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path / "home")
    ws.save_chain_settings({"timezone": "Europe/Berlin"})
    return ws


@pilot_test
async def test_n_redelivers_a_run_and_asks_again_for_changed_bookings(
    ws: Workspace, ftp: FTPServer
) -> None:
    cfg = ws.save_config(ftp_raw(ftp))
    original = run_config(ws, cfg, RunOptions(trigger="manual"), clock=lambda: NOW)
    assert original.status == "ok"
    clock = FixedClock(NOW + dt.timedelta(hours=1))
    app = BuchexApp(Service(ws, clock=clock))

    def redeliveries() -> list[str]:
        return [r.status for r in ws.runs.runs() if r.trigger == "redeliver"]

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_protocol(pilot)
        table = screen.query_one(RunTable)
        assert table.current_key == original.id
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen), "run details")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "question")
        assert "nachliefern?" in app.screen.question  # type: ignore[attr-defined]
        await pilot.click("#confirm")
        await until(pilot, lambda: redeliveries() == ["ok"], "redelivery", timeout=60)
        names = [p.name for p in ftp.root.rglob("*_Nachlieferung.csv")]
        assert any(n.startswith("EXTF_") for n in names)
        assert any(n.startswith("Kontrolldatei_") for n in names)

        # A booking of that run changed: refused first, then sent with today's values.
        with sqlite3.connect(ws.data_dir.ledger_path) as db:
            db.execute("UPDATE bookings SET text = 'geändert' WHERE journal_no = 1")
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "question")
        await pilot.click("#confirm")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, ConfirmDialog) and "heutigen Werten" in app.screen.question
            ),  # type: ignore[attr-defined]
            "second question",
            timeout=60,
        )
        dialog = app.screen
        assert "Journal-Nr. 1" in dialog.detail  # type: ignore[attr-defined]
        assert redeliveries() == ["ok"]  # nothing sent before the admin agreed
        await pilot.click("#confirm")
        await until(pilot, lambda: redeliveries() == ["ok", "ok"], "second redelivery", 60)


@pilot_test
async def test_q_on_the_protokoll_quits(ws: Workspace) -> None:
    clock = FixedClock(NOW)
    app = BuchexApp(Service(ws, clock=clock))
    async with app.run_test(size=SIZE) as pilot:
        await open_protocol(pilot)
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None or not app.is_running, "quit")
