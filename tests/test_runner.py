"""A whole run against real servers: export, FTP delivery, record, watermark, failure mail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.config import ExportConfig
from engine.errors import OutsideWindow
from engine.paths import DataDir
from engine.runner import RunOptions, run_config
from engine.workspace import Workspace
from tests.servers import FTPServer, serve_ftp_handler
from tests.smtp_server import RunningServer, smtp_server

NOON = dt.datetime(2026, 11, 24, 12, 0).astimezone()


def at(moment: dt.datetime) -> Any:
    return lambda: moment


@pytest.fixture
def smtp() -> Iterator[RunningServer]:
    with smtp_server("plain") as server:
        yield server


@pytest.fixture
def ws(demo_home: Path, smtp: RunningServer) -> Workspace:
    workspace = Workspace(DataDir.open(demo_home))
    workspace.save_smtp_settings(
        {
            "host": smtp.host,
            "port": smtp.port,
            "security": "none",
            "sender": "buchex@optik-mueller.example",
        }
    )
    return workspace


def save(ws: Workspace, ftp: FTPServer, **changes: Any) -> ExportConfig:
    raw: dict[str, Any] = {
        "id": "stb",
        "name": "Steuerbüro Schröder",
        "target": {
            "host": ftp.host,
            "port": ftp.port,
            "user": ftp.user,
            "password": ftp.password,
            "directory": "kanzlei",
        },
        "clients": ["1"],
        "document_types": ["KR", "GS", "BV"],
        "format": "datev",
        "time": "06:30",
        "email": "buchhaltung@optik-mueller.example",
    }
    raw.update(changes)
    return ws.save_config(raw)


def delivered(ftp: FTPServer) -> dict[str, int]:
    return {
        str(p.relative_to(ftp.root)): p.stat().st_size for p in ftp.root.rglob("*") if p.is_file()
    }


def test_success_delivers_records_and_moves_the_watermark(ws: Workspace, ftp: FTPServer) -> None:
    cfg = save(ws, ftp)
    record = run_config(ws, cfg, RunOptions(trigger="manual"), clock=at(NOON))
    assert record.status == "ok", (record.step, record.reason)
    files = delivered(ftp)
    folder = "kanzlei/Automatischer_Buchhaltungsexport_2026-11-24/"
    assert files and all(
        name.startswith(folder + "EXTF_") for name in files if "Kontroll" not in name
    )
    assert record.files[-1]["name"] == "Kontrolldatei_stb_20261124-120000.csv"  # comes last
    assert not any(".buchex-tmp" in name for name in files)
    assert {f["remote_path"].lstrip("/") for f in record.files} == set(files)
    assert all(f["size"] == files[f["remote_path"].lstrip("/")] for f in record.files)
    assert ws.runs.watermarks("stb")["1"] > 0
    later = NOON + dt.timedelta(minutes=5)
    again = run_config(ws, cfg, RunOptions(trigger="manual"), clock=at(later))
    assert again.status == "nothing" and again.reason == "nichts zu exportieren"
    assert [r.status for r in ws.runs.runs("stb")] == ["nothing", "ok"]


def test_failure_keeps_watermark_mails_once_and_recovers(
    ws: Workspace, ftp: FTPServer, smtp: RunningServer
) -> None:
    cfg = save(ws, ftp, target={"host": ftp.host, "port": ftp.port, "user": ftp.user,
                                "password": "falsch-geheim"})  # fmt: skip
    opts = RunOptions(trigger="manual", backoff=0)
    first = run_config(ws, cfg, opts, clock=at(NOON))
    assert first.status == "failed"
    assert first.step == "Anmelden"
    # The German sentence naming server and user (engine.explain), the server's text apart.
    assert first.reason is not None
    assert f"Der Server {ftp.host}:{ftp.port} hat die Anmeldung als „{ftp.user}“ abgelehnt" in (
        first.reason
    )
    assert first.detail is not None and first.detail.startswith("530")
    assert ws.runs.watermarks("stb") == {}
    assert delivered(ftp) == {}
    [mail] = smtp.wait_for(1)
    assert "hat die Anmeldung als" in str(mail) and "falsch-geheim" not in str(mail)
    assert "Server:          530" in mail.message.get_content()
    assert first.mail == "gesendet an buchhaltung@optik-mueller.example"

    second = run_config(ws, cfg, opts, clock=at(NOON + dt.timedelta(hours=1)))
    assert second.status == "failed" and second.mail is None  # no second mail that day

    fixed = save(ws, ftp)
    ok = run_config(ws, fixed, opts, clock=at(NOON + dt.timedelta(hours=2)))
    assert ok.status == "ok"
    assert sum(f["rows"] for f in ok.files) > 0  # the same bookings, nothing was lost
    mails = smtp.wait_for(2)
    assert "wieder" in str(mails[1]).lower()  # recovery mail


def test_cut_connection_is_retried_and_never_leaves_a_partial_file(
    ws: Workspace, ftp: FTPServer
) -> None:
    cfg = save(ws, ftp)
    ftp.state.cut_after = 2000
    record = run_config(ws, cfg, RunOptions(trigger="manual", backoff=0), clock=at(NOON))
    assert ftp.state.cuts == 1
    assert record.status == "ok" and record.attempts == 2
    assert any("Versuch 1 fehlgeschlagen" in line for line in record.steps)
    assert not any(".buchex-tmp" in name for name in delivered(ftp))


def test_cut_on_every_attempt_fails_without_final_file(ws: Workspace, ftp: FTPServer) -> None:
    cfg = save(ws, ftp)
    slept: list[float] = []

    def cut_again(_: Any) -> None:
        ftp.state.cut_after = 2000

    ftp.state.cut_after = 2000
    opts = RunOptions(trigger="manual", attempts=3, backoff=1.5, sleep=slept.append,
                      on_progress=cut_again)  # fmt: skip
    record = run_config(ws, cfg, opts, clock=at(NOON))
    assert record.status == "failed" and record.attempts == 3
    assert slept == [1.5, 3.0]  # backoff doubles
    assert not [n for n in delivered(ftp) if n.endswith(".csv")]
    assert ws.runs.watermarks("stb") == {}


def test_manual_run_outside_the_window_needs_confirmation(ws: Workspace, ftp: FTPServer) -> None:
    cfg = save(ws, ftp)
    night = dt.datetime(2026, 11, 24, 23, 15).astimezone()
    with pytest.raises(OutsideWindow, match="zwischen 06:00 und 22:00"):
        run_config(ws, cfg, RunOptions(trigger="manual"), clock=at(night))
    assert ws.runs.runs("stb") == []
    forced = run_config(ws, cfg, RunOptions(trigger="manual", force=True), clock=at(night))
    assert forced.status == "ok"


def test_busy_config_is_recorded_as_skipped(ws: Workspace, ftp: FTPServer) -> None:
    cfg = save(ws, ftp)
    with ws.runs.exclusive("stb"):
        record = run_config(ws, cfg, RunOptions(trigger="schedule"), clock=at(NOON))
    assert record.status == "skipped" and "läuft noch" in (record.reason or "")
    assert ws.runs.watermarks("stb") == {}


def test_warnings_are_recorded_but_capped(
    ws: Workspace, ftp: FTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engine.runner.MAX_RECORDED_WARNINGS", 5)
    cfg = save(ws, ftp, document_types=["KR", "GS", "BV", "KT", "EA", "ZA"], clients=["1", "2"])
    record = run_config(ws, cfg, RunOptions(trigger="manual"), clock=at(NOON))
    assert record.status == "ok"
    assert len(record.warnings) == 5 + 1  # the demo books mend more texts than that
    assert record.warnings[0].startswith("Journal-Nr. ")
    assert record.warnings[-1].startswith("… und ")


def test_full_disk_leaves_no_final_file_and_the_next_run_delivers(
    ws: Workspace, tmp_path: Path
) -> None:
    import errno

    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.filesystems import AbstractedFS
    from pyftpdlib.handlers import FTPHandler

    root = tmp_path / "full"
    root.mkdir()
    space = {"left": 3000}  # bytes the "disk" still takes

    class Limited:
        def __init__(self, fh: Any) -> None:
            self._fh = fh
            self.name = fh.name
            self.closed = False

        def write(self, data: bytes) -> int:
            if len(data) > space["left"]:
                raise OSError(errno.ENOSPC, "No space left on device")
            space["left"] -= len(data)
            return int(self._fh.write(data))

        def close(self) -> None:
            self.closed = True
            self._fh.close()

        def __getattr__(self, name: str) -> Any:
            return getattr(self._fh, name)

    class FullFS(AbstractedFS):  # type: ignore[misc]
        def open(self, filename: str, mode: str) -> Any:
            fh = super().open(filename, mode)
            return Limited(fh) if "w" in mode or "a" in mode else fh

    class Handler(FTPHandler):  # type: ignore[misc]
        abstracted_fs = FullFS

    authorizer = DummyAuthorizer()
    authorizer.add_user("kanzlei", "Geheim-Passwort-123", str(root), perm="elradfmwMT")
    Handler.authorizer = authorizer
    with serve_ftp_handler(Handler) as port:
        target = {"host": "127.0.0.1", "port": port, "user": "kanzlei",
                  "password": "Geheim-Passwort-123"}  # fmt: skip
        cfg = ws.save_config(
            {"id": "voll", "name": "Volle Platte", "target": target, "clients": ["1", "2"],
             "document_types": ["KR", "GS", "BV"], "format": "datev", "time": "06:30"}
        )  # fmt: skip
        opts = RunOptions(trigger="manual", backoff=0)
        failed = run_config(ws, cfg, opts, clock=at(NOON))
        assert failed.status == "failed"
        assert failed.step == "Hochladen", (failed.step, failed.reason)
        assert list(root.rglob("*.csv")) == []  # no file under a final name
        assert ws.runs.watermarks("voll") == {}

        space["left"] = 10**9  # space freed
        ok = run_config(ws, cfg, opts, clock=at(NOON + dt.timedelta(hours=1)))
        assert ok.status == "ok"
        delivered_rows = sum(f["rows"] for f in ok.files)
        assert delivered_rows > 0
        for f in ok.files:
            assert (root / f["remote_path"].lstrip("/")).stat().st_size == f["size"]
