"""A running run shows its progress and can be cancelled (issue 14): list and Protokoll.

Pilot tests with real runs: a throttled FTP server (the upload takes minutes) and a
`buchex run` child process against a silent server that is killed with SIGKILL. Waiting
is always "until a condition holds, with a deadline".
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.runs import progress_text
from engine.service import Service
from engine.workspace import Workspace
from tests.conftest import ROOT
from tests.servers import serve_ftp_handler, silent_listener
from tests.test_tui_support import (
    FixedClock,
    demo_raw,
    make_workspace,
    pilot_test,
    until,
)
from tui.app import BuchexApp
from tui.screens.configs import ConfigListScreen
from tui.screens.protocol import ProtocolScreen
from tui.widgets.config_table import ConfigTable
from tui.widgets.run_table import RunTable

SIZE = (160, 40)
MIDDAY = FixedClock(dt.datetime(2026, 11, 20, 12, 0).astimezone())
USER, PASSWORD = "kanzlei", "Geheim-Passwort-123"


def _slow_handler(root: Path) -> type[Any]:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler

    class Slow(ThrottledDTPHandler):  # type: ignore[misc]
        read_limit = 4 * 1024  # bytes/s: the upload takes minutes

    class Handler(FTPHandler):  # type: ignore[misc]
        dtp_handler = Slow

    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmwMT")
    Handler.authorizer = authorizer
    return Handler


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[tuple[Workspace, Path]]:
    ws = make_workspace(tmp_path / "home")
    root = tmp_path / "ftp"
    root.mkdir()
    with serve_ftp_handler(_slow_handler(root)) as port:
        target = {"protocol": "ftp", "host": "127.0.0.1", "port": port, "user": USER,
                  "password": PASSWORD}  # fmt: skip
        ws.save_config(demo_raw("langsam", name="Langsam", target=target))
        yield ws, root


def test_progress_text() -> None:
    progress = {"step": "Übertragung", "rows": 1234, "files_done": 1, "files_total": 3,
                "bytes_done": 2048, "bytes_total": 3 * 1024 * 1024}  # fmt: skip
    assert (
        progress_text(progress) == "Übertragung · 1 von 3 Dateien · 1.234 Zeilen · 2 KB von 3,0 MB"
    )
    assert progress_text(progress, short=True) == "Übertragung 1/3"
    assert progress_text({}) == ""


def list_cell(screen: ConfigListScreen, cfg_id: str) -> str:
    entry = next(e for e in screen.entries if e.cfg.id == cfg_id)
    return entry.cells[-1]


@pilot_test
async def test_progress_in_list_and_protocol_then_cancel_with_x(
    slow: tuple[Workspace, Path],
) -> None:
    ws, root = slow
    app = BuchexApp(Service(ws, clock=MIDDAY))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
        screen = app.screen
        assert isinstance(screen, ConfigListScreen)
        screen.query_one(ConfigTable).focus()
        await pilot.press("r")
        # The list's "Letzter Lauf" says where the run is (data file and debtors file).
        await until(pilot, lambda: "läuft: Übertragung 0/2" in list_cell(screen, "langsam"),
                    "progress in the list", 30)  # fmt: skip
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ProtocolScreen) and app.screen.loaded)
        protocol = app.screen
        assert isinstance(protocol, ProtocolScreen)

        def reason() -> str:
            rows = [r for r in protocol.rows if r.status == "running"]
            return rows[0].cells[-1] if rows else ""

        await until(pilot, lambda: "Übertragung · 0 von 2 Dateien · " in reason(), "progress")
        assert " Zeilen · " in reason() and " seit " in reason()
        await until(pilot, lambda: any(p.stat().st_size for p in root.rglob("*.buchex-tmp")),
                    "bytes on the server")  # fmt: skip
        protocol.query_one(RunTable).focus()
        await pilot.press("e")  # running: not started again
        await pilot.press("x")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "the question")
        await pilot.press("j")
        await until(pilot, lambda: ws.runs.runs("langsam")[0].status != "running", "cancelled", 20)
    [run] = ws.runs.runs("langsam")  # no skipped second run
    assert run.status == "failed"
    assert (run.reason or "").startswith("abgebrochen: vom Benutzer abgebrochen. Die geplanten")
    assert run.step == "Hochladen"
    assert [p for p in root.rglob("*") if p.is_file()] == []  # no temp file, no partial file
    assert ws.runs.watermarks("langsam") == {}


@pilot_test
async def test_a_killed_owner_is_not_counted_as_running(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "home")
    with silent_listener() as port:
        target = {"protocol": "ftp", "host": "127.0.0.1", "port": port, "user": USER}
        ws.save_config(demo_raw("haengt", name="Hängt", target=target))
        env = {**os.environ, "BUCHEX_HOME": str(ws.data_dir.root)}
        child = subprocess.Popen(
            [sys.executable, "-m", "engine", "run", "haengt", "--force"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            app = BuchexApp(Service(ws, clock=MIDDAY))
            async with app.run_test(size=SIZE) as pilot:
                await until(pilot, lambda: isinstance(app.screen, ConfigListScreen))
                await pilot.press("p")
                await until(pilot, lambda: isinstance(app.screen, ProtocolScreen))
                protocol = app.screen
                assert isinstance(protocol, ProtocolScreen)

                def running() -> int:
                    return sum(r.status == "running" for r in protocol.rows)

                await until(pilot, lambda: running() == 1, "1 läuft", 30)
                os.kill(child.pid, signal.SIGKILL)
                child.wait(10)
                await until(pilot, lambda: running() == 0, "no longer counted as running", 10)
                [row] = protocol.rows
                assert row.status == "failed" and "abgebrochen" in row.cells[-1]
        finally:
            if child.poll() is None:
                child.kill()
