"""The daemon as a real process, driven through hours of schedule by a clock file.

The process is `python -m tests.daemon_clock` (tests/daemon_clock.py): `buchex daemon` with a
file clock injected; the production daemon reads no test clock."""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from engine.paths import DataDir
from engine.runs import RunRecord
from engine.workspace import Workspace
from tests.conftest import ROOT
from tests.servers import FTPServer, serve_ftp_handler
from tests.smtp_server import smtp_server

BERLIN = dt.timezone(dt.timedelta(hours=1))  # November: CET, matches Europe/Berlin
DAY = dt.datetime(2026, 11, 24, 6, 0, tzinfo=BERLIN)


def wait_until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class DaemonProcess:
    def __init__(self, home: Path, clock: Path, *args: str, stop_grace: float | None = None):
        full_env = dict(os.environ)
        full_env.pop("JOURNAL_STREAM", None)
        grace = [] if stop_grace is None else ["--stop-grace", str(stop_grace)]
        entry = ["-m", "tests.daemon_clock", "--clock-file", str(clock), *grace]
        self.proc = subprocess.Popen(
            [sys.executable, *entry, "--home", str(home), "daemon", *args],
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_log(self, pattern: str, timeout: float = 20.0) -> str:
        """The next log line matching `pattern` (earlier lines are kept in self.log)."""
        deadline = time.monotonic() + timeout
        while True:
            for seen in self.log:
                if re.search(pattern, seen):
                    self.log.remove(seen)
                    return seen
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no log line /{pattern}/ in: {self.log}")
            try:
                self.log.append(self.lines.get(timeout=min(remaining, 0.5)))
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    raise AssertionError(
                        f"daemon exited {self.proc.returncode}: {self.log}"
                    ) from None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


def set_clock(path: Path, moment: dt.datetime) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(moment.isoformat())
    os.replace(tmp, path)  # the daemon never reads a half-written time


@pytest.fixture
def env(demo_home: Path, tmp_path: Path) -> tuple[Workspace, Path]:
    ws = Workspace(DataDir.open(demo_home))
    ws.save_chain_settings({"timezone": "Europe/Berlin"})
    clock = tmp_path / "clock"
    set_clock(clock, DAY)
    return ws, clock


@contextmanager
def daemon(ws: Workspace, clock: Path, *args: str, **kw: Any) -> Iterator[DaemonProcess]:
    proc = DaemonProcess(ws.data_dir.root, clock, *args, **kw)
    try:
        proc.wait_log("buchex-Daemon läuft")
        yield proc
    finally:
        proc.stop(signal.SIGKILL if proc.proc.poll() is None else signal.SIGTERM)


def config(ftp: FTPServer, cfg_id: str, time_of_day: str, **changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": cfg_id,
        "name": f"Steuerbüro {cfg_id}",
        "target": {
            "host": ftp.host,
            "port": ftp.port,
            "user": ftp.user,
            "password": ftp.password,
            "directory": cfg_id,
        },
        "clients": ["1"],
        "document_types": ["KR"],
        "format": "datev",
        "time": time_of_day,
    }
    raw.update(changes)
    return raw


def finished_runs(ws: Workspace, cfg_id: str) -> list[RunRecord]:
    return [r for r in ws.runs.runs(cfg_id) if r.status != "running"]


def test_second_daemon_on_the_same_data_dir_exits_3(env: tuple[Workspace, Path]) -> None:
    ws, clock = env
    with daemon(ws, clock):
        second = subprocess.run(  # the production entry point: `buchex daemon`
            [sys.executable, "-m", "engine", "--home", str(ws.data_dir.root), "daemon"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 3
        assert "gesperrt" in second.stderr
        with daemon(ws, clock, "--workstation", "KASSE-1") as other:  # another workstation: fine
            assert other.proc.poll() is None


def test_edited_config_is_picked_up_and_runs_at_its_due_time(
    env: tuple[Workspace, Path], ftp: FTPServer
) -> None:
    ws, clock = env
    ws.save_config(config(ftp, "stb", "06:30"))
    with daemon(ws, clock) as d:
        d.wait_log(r"stb .*geplant, nächste Ausführung 2026-11-24T06:30")
        ws.save_config(config(ftp, "stb", "06:10"))
        # picked up by polling (1 s); the pickup time itself is measured in bench/daemon.py
        d.wait_log(r"stb .*geplant, nächste Ausführung 2026-11-24T06:10", timeout=10)
        set_clock(clock, DAY.replace(minute=10, second=5))
        [run] = wait_until(lambda: finished_runs(ws, "stb"), "the 06:10 run")
        assert run.status == "ok", (run.step, run.reason)
        assert run.trigger == "schedule" and run.due_at == "2026-11-24T06:10:00+01:00"


def test_deleted_config_is_cancelled(env: tuple[Workspace, Path], ftp: FTPServer) -> None:
    ws, clock = env
    ws.save_configs([config(ftp, "weg", "06:30"), config(ftp, "bleibt", "06:30")])
    with daemon(ws, clock) as d:
        d.wait_log(r"weg .*geplant")
        ws.delete_config("weg")
        d.wait_log(r"Schnittstelle weg entfernt", timeout=5)
        set_clock(clock, DAY.replace(minute=31))
        wait_until(lambda: finished_runs(ws, "bleibt"), "the canary's 06:30 run")
    assert ws.runs.runs("weg") == []


def test_kill_9_then_restart_makes_up_the_missed_run_once(
    env: tuple[Workspace, Path], ftp: FTPServer
) -> None:
    ws, clock = env
    ws.save_config(config(ftp, "stb", "06:30"))
    set_clock(clock, DAY.replace(minute=29))
    first = DaemonProcess(ws.data_dir.root, clock)
    first.wait_log("buchex-Daemon läuft")
    set_clock(clock, DAY.replace(minute=30, second=2))
    wait_until(lambda: finished_runs(ws, "stb"), "the regular 06:30 run")
    first.stop(signal.SIGKILL)

    next_day = DAY + dt.timedelta(days=1)
    set_clock(clock, next_day.replace(hour=9, minute=10))  # missed 25.11. 06:30 while down
    with daemon(ws, clock) as d:
        d.wait_log(r"Lauf für stb .*beginnt")
        runs = wait_until(lambda: len(finished_runs(ws, "stb")) == 2 and finished_runs(ws, "stb"),
                          "the make-up run")  # fmt: skip
        assert runs[0].trigger == "catchup"
        assert runs[0].due_at == "2026-11-25T06:30:00+01:00"
        assert runs[0].status in ("ok", "nothing")
        assert d.stop() == 0
    with daemon(ws, clock) as d:  # a second restart must not make it up again
        assert d.stop() == 0
    assert len(ws.runs.runs("stb")) == 2


def _slow_handler(root: Path, user: str, password: str) -> type[Any]:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler

    class Slow(ThrottledDTPHandler):  # type: ignore[misc]
        read_limit = 8 * 1024  # bytes/s: a run takes minutes, SIGTERM lands mid-upload

    class Handler(FTPHandler):  # type: ignore[misc]
        dtp_handler = Slow

    authorizer = DummyAuthorizer()
    authorizer.add_user(user, password, str(root), perm="elradfmwMT")
    Handler.authorizer = authorizer
    return Handler


def test_sigterm_mid_upload_leaves_no_partial_final_file(
    env: tuple[Workspace, Path], tmp_path: Path
) -> None:
    ws, clock = env
    root = tmp_path / "slow-root"
    root.mkdir()
    with (
        serve_ftp_handler(_slow_handler(root, "kanzlei", "Geheim-Passwort-123")) as port,
        smtp_server("plain") as smtp,
    ):
        ws.save_smtp_settings(
            {"host": smtp.host, "port": smtp.port, "security": "none",
             "sender": "buchex@optik-mueller.example"}
        )  # fmt: skip
        raw = {
            "id": "stb",
            "name": "Langsam",
            "time": "06:30",
            "format": "datev",
            "target": {
                "host": "127.0.0.1",
                "port": port,
                "user": "kanzlei",
                "password": "Geheim-Passwort-123",
            },
            "clients": ["1"],
            "document_types": ["KR", "GS", "BV", "ZA"],
            "export_debtors": True,
            "email": "buchhaltung@optik-mueller.example",
        }
        ws.save_config(raw)
        d = DaemonProcess(ws.data_dir.root, clock, stop_grace=1)
        d.wait_log("buchex-Daemon läuft")
        set_clock(clock, DAY.replace(minute=30, second=1))
        d.wait_log(r"Lauf für stb .*beginnt")
        wait_until(lambda: any(p.stat().st_size > 0 for p in root.rglob("*.buchex-tmp")),
                   "bytes of the first upload on the server")  # fmt: skip
        assert d.stop(signal.SIGTERM, timeout=30) == 0
        # A run cut by the daemon's stop is a failed run: its failure mail goes out.
        [mail] = smtp.wait_for(1)
        assert "fehlgeschlagen" in str(mail.message["Subject"])
        assert "der Dienst wurde beendet" in mail.message.get_content()
    finals = [p for p in root.rglob("*.csv")]
    assert finals == []  # the file in flight never got its final name
    [run] = ws.runs.runs("stb")
    assert run.status == "failed" and "abgebrochen" in (run.reason or "")
    assert ws.runs.watermarks("stb") == {}  # so the next run sends everything again
    state = json.loads((ws.data_dir.root / "daemon.json").read_text())
    assert state["last_tick"].startswith("2026-11-24T06:30")


def test_housekeeping_runs_its_chores_on_schedule_and_replans_after_a_clock_jump(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The store poll and heartbeat use `schedule` (public API only); a wall clock set back
    must not stall them, so a jump plans them anew from now."""
    from engine.daemon import Housekeeping

    calls: list[str] = []
    chores = Housekeeping(
        [(1.0, lambda: calls.append("poll")), (30.0, lambda: calls.append("beat"))]
    )
    assert 0.0 < chores.idle_seconds() <= 1.0
    jobs = list(chores._jobs.get_jobs())
    assert sorted(j.interval for j in jobs) == [1, 30]
    for job in jobs:  # as if their time had come
        job.next_run = job.next_run - dt.timedelta(seconds=31)
    chores.run_pending()
    assert sorted(calls) == ["beat", "poll"]
    offset = chores._offset
    monkeypatch.setattr(Housekeeping, "_wall_offset", staticmethod(lambda: offset - 3600))
    chores.run_pending()  # the clock went back an hour
    replanned = list(chores._jobs.get_jobs())
    assert not set(map(id, replanned)) & set(map(id, jobs))
    assert chores.idle_seconds() <= 1.0
