"""Cancelling a run (issue 14): `Service.run_now(cancel=CancelToken())`.

A cancelled run ends "failed", its reason "abgebrochen: …", with the step where it stopped;
no partial final file and no temporary file stays on the server; no watermark moves. A run
hanging in a server that accepts and never answers is cut within seconds (not the 30 s
socket timeout times the retries). Real servers, real sockets; waits poll with deadlines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.paths import DataDir
from engine.runs import CancelToken, RunRecord
from engine.service import Service
from engine.workspace import Workspace
from tests.servers import serve_ftp_handler, silent_listener

USER, PASSWORD = "kanzlei", "Geheim-Passwort-123"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"nicht erreicht: {what}")
        time.sleep(0.02)


def save_config(home: Path, port: int, protocol: str = "ftp") -> Workspace:
    ws = Workspace(DataDir.open(home))
    target = {"protocol": protocol, "host": "127.0.0.1", "port": port, "user": USER}
    ws.save_config(
        {
            "id": "stb",
            "name": "Steuerbüro",
            "target": {**target, "password": PASSWORD},
            "clients": ["1"],
            "document_types": ["KR", "GS", "BV", "ZA"],
            "export_debtors": True,
            "format": "datev",
            "time": "06:30",
            "interval": {"kind": "daily"},
        }
    )
    return ws


class Background:
    """`run_now` in a thread, as the TUI's worker calls it."""

    def __init__(self, service: Service, token: CancelToken) -> None:
        self.record: RunRecord | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(service, token), daemon=True)
        self.thread.start()

    def _run(self, service: Service, token: CancelToken) -> None:
        try:
            self.record = service.run_now("stb", force=True, cancel=token)
        except BaseException as exc:
            self.error = exc


@pytest.mark.parametrize("protocol", ["ftp", "sftp"])
def test_cancel_cuts_a_run_hanging_in_a_silent_server(demo_home: Path, protocol: str) -> None:
    with silent_listener() as port:
        ws = save_config(demo_home, port, protocol)
        service = Service(ws)
        token = CancelToken(hard_abort_after=0.3)
        run = Background(service, token)
        wait_until(lambda: bool(service.running("stb")), "the run is under way")
        wait_until(lambda: any("Export" in s for s in ws.runs.runs("stb")[0].steps),
                   "the export is done, the connection is being opened")  # fmt: skip
        cancelled_at = time.monotonic()
        token.cancel()
        run.thread.join(10)
        took = time.monotonic() - cancelled_at
    assert not run.thread.is_alive(), "the cancelled run is still hanging"
    assert took < 5, f"cancel took {took:.1f} s"
    assert run.error is None
    record = run.record
    assert record is not None
    assert record.status == "failed"
    assert (record.reason or "").startswith("abgebrochen: vom Benutzer abgebrochen")
    assert record.step == "Verbinden"
    stored = ws.runs.run(record.id)
    assert stored is not None and stored.status == "failed" and stored.step == "Verbinden"
    assert ws.runs.watermarks("stb") == {}
    assert service.running("stb") == []


def _slow_handler(root: Path) -> type[Any]:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler

    class Slow(ThrottledDTPHandler):  # type: ignore[misc]
        read_limit = 8 * 1024  # bytes/s: the upload takes minutes; the cancel lands mid-way

    class Handler(FTPHandler):  # type: ignore[misc]
        dtp_handler = Slow

    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmwMT")
    Handler.authorizer = authorizer
    return Handler


def test_cancel_mid_upload_leaves_no_file_on_the_server(demo_home: Path, tmp_path: Path) -> None:
    root = tmp_path / "slow-root"
    root.mkdir()
    with serve_ftp_handler(_slow_handler(root)) as port:
        ws = save_config(demo_home, port)
        service = Service(ws)
        token = CancelToken(hard_abort_after=5)
        run = Background(service, token)
        wait_until(lambda: any(p.stat().st_size > 0 for p in root.rglob("*.buchex-tmp")),
                   "bytes of the first upload on the server")  # fmt: skip
        token.cancel()
        run.thread.join(15)
        assert not run.thread.is_alive()
        left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert left == [], f"left on the server: {left}"
    assert run.error is None and run.record is not None
    assert run.record.status == "failed"
    assert (run.record.reason or "").startswith("abgebrochen")
    assert run.record.step == "Hochladen"  # the transport step it stopped in
    assert ws.runs.watermarks("stb") == {}


def test_a_skipped_run_does_not_hide_the_failure_it_overlapped(demo_home: Path) -> None:
    with silent_listener() as port:
        ws = save_config(demo_home, port)
        service = Service(ws)
        token = CancelToken(hard_abort_after=0.2)
        run = Background(service, token)
        wait_until(lambda: bool(service.running("stb")), "the run is under way")
        skipped = service.run_now("stb", force=True)  # a second run while the first goes on
        assert skipped.status == "skipped"
        token.cancel()
        run.thread.join(10)
    assert run.record is not None and run.record.status == "failed"
    last = service.last_run("stb")
    assert last is not None and last.status == "failed" and last.id == run.record.id


def test_cancel_cuts_a_redelivery_hanging_in_a_silent_server(
    demo_home: Path, tmp_path: Path
) -> None:
    from tests.servers import ftp_server

    root = tmp_path / "ftp"
    root.mkdir()
    with ftp_server(root, user=USER, password=PASSWORD) as server:
        ws = save_config(demo_home, server.port)
        service = Service(ws)
        delivered = service.run_now("stb", force=True)
    assert delivered.status == "ok"
    with silent_listener() as port:
        save_config(demo_home, port)
        token = CancelToken(hard_abort_after=0.3)
        result: list[RunRecord] = []
        thread = threading.Thread(
            target=lambda: result.append(service.redeliver(delivered.id, force=True, cancel=token)),
            daemon=True,
        )
        thread.start()
        wait_until(lambda: bool(service.running("stb")), "the redelivery is under way")
        token.cancel()
        thread.join(10)
    assert not thread.is_alive()
    [record] = result
    assert record.status == "failed" and record.step == "Verbinden"
    assert record.reason == "abgebrochen: vom Benutzer abgebrochen"
