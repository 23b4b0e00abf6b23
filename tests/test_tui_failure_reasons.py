"""Failure reasons a non-programmer can act on, in the TUI (issue 14, defects 6 and 9).

Defect 6: the run details show the failed step ("Fehlgeschlagen bei: …"), the German
sentence naming server, port and user, and the server's own text on a line of its own; the
connection test's failed step reads the same way. Defect 9: the SMTP screen's Test sends
with the form's current (unsaved) values like the FTP Test, an untouched password field
meaning the stored one; a changed value clears the old result; Ctrl+S saves and stays.
Pilot tests on a real data directory against pyftpdlib and aiosmtpd on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.service import Service
from engine.workspace import Workspace
from tests.servers import FTPServer
from tests.smtp_server import RunningServer, refused_port, smtp_server
from tests.test_tui_support import (
    FixedClock,
    demo_raw,
    fill,
    make_workspace,
    open_form,
    pilot_test,
    settle,
    until,
)
from tui.app import BuchexApp
from tui.screens.configs import ConfigListScreen
from tui.screens.hostkey import HostKeyTestDialog
from tui.screens.protocol import ProtocolScreen, RunDetail
from tui.screens.smtp import SmtpScreen
from tui.widgets.config_table import ConfigTable
from tui.widgets.fields import TextRow
from tui.widgets.step_log import StepLog

SIZE = (120, 40)
NOW = dt.datetime(2026, 11, 20, 9, 15, tzinfo=dt.UTC)  # 10:15 in Berlin, inside the window
SMTP_USER, SMTP_PASSWORD = "buchex", "Smtp-Geheim-7"
TO = "buchhaltung@optik-mueller.example"

pytestmark = pytest.mark.filterwarnings("ignore:The (asyncore|asynchat) module:DeprecationWarning")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "home")


def wrong_password_config(ws: Workspace, ftp: FTPServer) -> None:
    target = {"host": ftp.host, "port": ftp.port, "user": ftp.user, "password": "falsch-1"}
    ws.save_config(demo_raw("stb", name="Steuerbüro FTP", target=target))


async def list_row(pilot: Any, cfg_id: str) -> None:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
    await settle(pilot)
    screen = app.screen
    table = screen.query_one(ConfigTable)
    table.move_cursor(row=screen.shown_ids().index(cfg_id))
    table.focus()
    await pilot.pause()


# --- defect 6 -------------------------------------------------------------------------------


@pilot_test
async def test_run_details_show_the_failed_step_the_sentence_and_the_server_text(
    ws: Workspace, ftp: FTPServer
) -> None:
    wrong_password_config(ws, ftp)
    service = Service(ws, clock=FixedClock(NOW))
    failed = service.run_now("stb")
    assert failed.status == "failed" and failed.detail
    app = BuchexApp(service)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ProtocolScreen) and app.screen.loaded)
        detail = app.screen.query_one(RunDetail)
        await until(pilot, lambda: detail.record is not None, "detail shown")
        lines = detail.text.splitlines()
    assert lines[1] == "Fehlgeschlagen bei: Anmelden"
    assert lines[2].startswith(
        f"Der Server {ftp.host}:{ftp.port} hat die Anmeldung als „{ftp.user}“ abgelehnt."
    )
    assert "Benutzername und Passwort" in lines[2]
    assert lines[3].startswith("Server: 530")
    assert "falsch-1" not in detail.text


@pilot_test
async def test_connection_test_names_server_and_user_and_keeps_the_server_text_apart(
    ws: Workspace, ftp: FTPServer
) -> None:
    wrong_password_config(ws, ftp)
    app = BuchexApp(Service(ws, clock=FixedClock(NOW)))
    async with app.run_test(size=SIZE) as pilot:
        await list_row(pilot, "stb")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, HostKeyTestDialog), "test dialog")
        log = app.screen.query_one(StepLog)
        await until(pilot, lambda: log.status is None, "test over", 30)
        failed = next(line for line in log.lines if line.startswith("✗ Anmelden"))
    sentence, server = failed.split("\n")
    assert sentence.startswith(
        f"✗ Anmelden: Der Server {ftp.host}:{ftp.port} hat die Anmeldung als „{ftp.user}“"
    )
    assert "530" not in sentence and "Authentication" not in sentence  # server text apart
    assert server.startswith("  Server: 530")


# --- defect 9 -------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[RunningServer]:
    with smtp_server("plain", auth=(SMTP_USER, SMTP_PASSWORD)) as server:
        yield server


def store_smtp(ws: Workspace, port: int) -> None:
    ws.save_smtp_settings(
        {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "user": SMTP_USER,
            "password": SMTP_PASSWORD,
            "sender": "buchex@optik-mueller.example",
        }
    )


def text_row(form: Any, path: str) -> TextRow:
    row = form.rows[path]
    assert isinstance(row, TextRow)
    return row


async def send_test(pilot: Any, screen: SmtpScreen) -> StepLog:
    await fill(pilot, screen.query_one("#smtp-test-to"), TO)
    await pilot.click("#smtp-test")
    log = screen.query_one("#smtp-steps", StepLog)
    await until(pilot, lambda: log.lines and log.status is None, "test over", 20)
    return log


@pilot_test
async def test_smtp_test_sends_with_the_unsaved_values_and_the_kept_password(
    ws: Workspace, smtp: RunningServer
) -> None:
    with refused_port() as dead:
        store_smtp(ws, dead)  # the stored port leads nowhere
    app = BuchexApp(Service(ws))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
        screen, form = await open_form(pilot, "m", SmtpScreen)
        await fill(pilot, text_row(form, "port").input, str(smtp.port))  # not saved
        assert form.is_dirty()
        log = await send_test(pilot, screen)
        assert log.lines[-1] == "✓ Test erfolgreich", log.lines
        (got,) = smtp.wait_for(1)  # logged in with the stored (untouched) password
        assert got.rcpt_tos == [TO]
        assert form.is_dirty()  # testing saves nothing
    stored = ws.smtp_settings()
    assert stored is not None and stored.port != smtp.port


@pilot_test
async def test_smtp_test_failure_is_explained_and_a_change_clears_the_old_result(
    ws: Workspace, smtp: RunningServer
) -> None:
    store_smtp(ws, smtp.port)
    app = BuchexApp(Service(ws))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
        screen, form = await open_form(pilot, "m", SmtpScreen)
        log = await send_test(pilot, screen)
        assert log.lines[-1] == "✓ Test erfolgreich"
        await fill(pilot, form.rows["password"].input, "falsch-2")  # type: ignore[attr-defined]
        assert log.lines == [] and not log.display  # the old "✓" is gone
        log = await send_test(pilot, screen)
        failed = log.lines[-1]
        assert failed.startswith(
            f"✗ Der SMTP-Server 127.0.0.1:{smtp.port} hat die Anmeldung als „{SMTP_USER}“ "
            "abgelehnt."
        ), failed
        assert "\n  Server: 535" in failed
        assert "falsch-2" not in failed


@pilot_test
async def test_ctrl_s_saves_the_smtp_settings_and_stays(ws: Workspace, smtp: RunningServer) -> None:
    with refused_port() as dead:
        store_smtp(ws, dead)
    app = BuchexApp(Service(ws))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
        screen, form = await open_form(pilot, "m", SmtpScreen)
        await fill(pilot, text_row(form, "port").input, str(smtp.port))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not form.is_dirty(), "saved")
        assert app.screen is screen
        stored = ws.smtp_settings()
        assert stored is not None and stored.port == smtp.port
        log = await send_test(pilot, screen)  # right away, without the way in again
        assert log.lines[-1] == "✓ Test erfolgreich"
        await pilot.press("escape")  # nothing unsaved: leaves without asking
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen), "left")
