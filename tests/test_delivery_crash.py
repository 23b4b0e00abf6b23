"""Exactly once across crashes (SPEC §3), with real processes, kill -9 and a real FTP server.

A `buchex run` child is killed at each point of its delivery: while the first file waits
under its temporary name (before any rename), after the first file's rename (between), and
after every rename but before the journal's commit (the server holds back its answer to
QUIT). The next `buchex run` then reconciles: every booking of the ledger is on the server
exactly once, counted by journal number in the final files, and no temporary file is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.paths import DataDir
from engine.workspace import Workspace
from tests.conftest import ROOT
from tests.delivery_check import journal_numbers_on_server, ledger_numbers, temp_files
from tests.servers import serve_ftp_handler

USER, PASSWORD = "kanzlei", "Geheim-Passwort-123"


@dataclass
class Stall:
    """Which command the server stops answering, and a signal once it did."""

    command: str = ""  # "RNTO" or "QUIT"
    at: int = 0  # the n-th such command (1-based)
    seen: dict[str, int] = field(default_factory=dict)
    reached: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def stalling_ftp(tmp_path: Path) -> Iterator[tuple[int, Path, Stall]]:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler

    root = tmp_path / "ftp-root"
    root.mkdir()
    stall = Stall()

    class Handler(FTPHandler):  # type: ignore[misc]
        def _stalls(self, command: str) -> bool:
            stall.seen[command] = stall.seen.get(command, 0) + 1
            if command == stall.command and stall.seen[command] == stall.at:
                stall.reached.set()
                return True  # no answer: the client waits until it is killed
            return False

        def ftp_RNTO(self, path: str) -> Any:
            if self._stalls("RNTO"):
                return None
            return super().ftp_RNTO(path)

        def ftp_QUIT(self, line: str) -> Any:
            if self._stalls("QUIT"):
                return None
            return super().ftp_QUIT(line)

    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmwMT")
    Handler.authorizer = authorizer
    Handler.auth_failed_timeout = 0
    with serve_ftp_handler(Handler) as port:
        yield port, root, stall


def buchex(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BUCHEX_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "engine", *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def setup_config(home: Path, port: int) -> None:
    Workspace(DataDir.open(home)).save_config(
        {
            "id": "stb",
            "name": "Steuerbüro",
            "target": {"host": "127.0.0.1", "port": port, "user": USER, "password": PASSWORD,
                       "directory": "kanzlei"},
            "clients": ["1", "2"],
            "document_types": ["KR", "KT", "GS", "BV", "EA", "ZA"],
            "incoming_export": True,
            "incoming_format": "datev",
            "export_debtors": True,
            "format": "datev",
            "time": "06:30",
            "interval": {"kind": "daily"},
        }
    )  # fmt: skip


@pytest.mark.parametrize(
    ("command", "at", "where"),
    [
        ("RNTO", 1, "before any rename"),
        ("RNTO", 2, "between the renames"),
        ("QUIT", 1, "after every rename, before the journal's commit"),
    ],
)
def test_kill_9_during_delivery_loses_nothing_and_sends_nothing_twice(
    demo_home: Path, stalling_ftp: tuple[int, Path, Stall], command: str, at: int, where: str
) -> None:
    port, root, stall = stalling_ftp
    setup_config(demo_home, port)
    stall.command, stall.at = command, at
    child = buchex(demo_home, "run", "stb", "--force")
    try:
        assert stall.reached.wait(60), f"the run never reached the crash point ({where})"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    before = journal_numbers_on_server(root)
    if command == "RNTO" and at == 1:
        assert not before and temp_files(root)  # only a temporary file arrived
    else:
        assert before  # some files already under their final names

    stall.command = ""  # the server answers again
    again = buchex(demo_home, "run", "stb", "--force")
    out, errors = again.communicate(timeout=120)
    assert again.returncode == 0, (out, errors)
    assert "abgeglichen" in out
    seen = journal_numbers_on_server(root)
    assert set(seen) == ledger_numbers(demo_home / "ledger.sqlite"), where
    assert max(seen.values()) == 1, f"a booking arrived twice ({where})"
    assert temp_files(root) == []

    ws = Workspace(DataDir.open(demo_home))
    assert ws.runs.open_delivery("stb") is None
    killed = ws.runs.runs("stb")[-1]
    assert killed.status == "failed" and "abgebrochen" in (killed.reason or "")
    last = buchex(demo_home, "run", "stb", "--force")
    out, errors = last.communicate(timeout=120)
    assert last.returncode == 0 and "nichts zu exportieren" in out, (out, errors)
    assert journal_numbers_on_server(root) == seen
