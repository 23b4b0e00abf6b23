"""Faults around a run (SPEC §3, reliability): a `buchex run` process killed, stopped or
interrupted never leaves its record at "läuft"; a full or read-only data directory is
named with its path and a remedy, never "Interner Fehler" or a traceback. Real processes,
real signals, a real (silent) server, a small tmpfs where the machine lets us mount one."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.paths import DataDir
from engine.workspace import Workspace
from tests.conftest import ROOT, run_cli
from tests.servers import silent_listener


def save_config(home: Path, port: int) -> None:
    Workspace(DataDir.open(home)).save_config(
        {
            "id": "stb",
            "name": "Steuerbüro",
            "target": {"host": "127.0.0.1", "port": port, "user": "kanzlei",
                       "password": "Geheim-Passwort-123"},
            "clients": ["1"],
            "document_types": ["KR", "BV"],
            "format": "datev",
            "time": "06:30",
            "interval": {"kind": "daily"},
        }
    )  # fmt: skip


def start_run(home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "BUCHEX_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "run", "stb", "--force"], cwd=ROOT, env=env,
        text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def wait_running(home: Path, timeout: float = 30.0) -> None:
    """Until the child's record says it is connecting (a poll with a deadline)."""
    ws = Workspace(DataDir.open(home))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = ws.runs.runs("stb")
        if runs and runs[0].status == "running" and runs[0].steps:
            return
        time.sleep(0.05)
    raise AssertionError("the run never started")


def runs_json(home: Path) -> list[dict[str, object]]:
    result = run_cli(home, "runs", "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def hung(demo_home: Path) -> Iterator[Path]:
    with silent_listener() as port:
        save_config(demo_home, port)
        yield demo_home


def test_kill_9_is_seen_at_once_by_any_reader(hung: Path) -> None:
    child = start_run(hung)
    try:
        wait_running(hung)
    finally:
        child.kill()
        child.wait(30)
    [run] = runs_json(hung)  # a new process, no daemon, no next run
    assert run["status"] == "failed"
    assert f"abgebrochen: Prozess {child.pid} wurde beendet" in str(run["reason"])
    listing = run_cli(hung, "runs")
    assert "läuft" not in listing.stdout and "fehlgeschlagen" in listing.stdout


@pytest.mark.parametrize(
    ("sig", "how", "code"),
    [
        (signal.SIGTERM, "SIGTERM", 143),
        (signal.SIGHUP, "SIGHUP", 143),  # the SSH session closed
        (signal.SIGINT, "Strg+C (SIGINT)", 130),
    ],
)
def test_a_stopped_run_records_how_it_ended(hung: Path, sig: int, how: str, code: int) -> None:
    child = start_run(hung)
    wait_running(hung)
    child.send_signal(sig)
    _, errors = child.communicate(timeout=60)
    assert child.returncode == code, errors
    assert "Traceback" not in errors and "Interner Fehler" not in errors
    [run] = runs_json(hung)
    assert run["status"] == "failed"
    assert run["reason"] == f"abgebrochen: Prozess beendet ({how})"
    assert run["step"] and run["finished_at"]


# --- a small file system -------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI muss ein tmpfs einhängen können: {done.stderr.strip()}")
        pytest.skip(f"kein tmpfs einhängbar (root nötig): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_names_the_step_the_path_and_what_to_do(
    demo_home: Path, tmp_path: Path
) -> None:
    with silent_listener() as port, tmpfs(tmp_path / "klein", "2m") as small:
        home = small / "home"
        home.mkdir()
        for name in ("ledger.sqlite", "buchex.json", "secret.key"):
            if (demo_home / name).exists():
                (home / name).write_bytes((demo_home / name).read_bytes())
        save_config(home, port)
        run_cli(home, "runs")  # the journal exists before the disk fills up
        filler = small / f"fuellung-{uuid.uuid4().hex}"
        with filler.open("wb") as fh, contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        filler_size = filler.stat().st_size
        with filler.open("r+b") as fh:  # leave a little room: the journal's own writes fit
            fh.truncate(filler_size - 24 * 1024)
        result = run_cli(home, "run", "stb", "--force")
        assert result.returncode == 1
        assert "Traceback" not in result.stderr and "Interner Fehler" not in result.stderr
        text = result.stderr + result.stdout
        assert "kein Platz" in text and str(home) in text, text


def test_a_read_only_data_directory_says_so_and_reading_still_works(
    demo_home: Path, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "ro", "8m") as mount:
        home = mount / "home"
        home.mkdir()
        for name in ("ledger.sqlite", "buchex.json", "secret.key"):
            if (demo_home / name).exists():
                (home / name).write_bytes((demo_home / name).read_bytes())
        with silent_listener() as port:
            save_config(home, port)
            run_cli(home, "runs")
            subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
            listing = run_cli(home, "config", "list")
            assert listing.returncode == 0 and "stb" in listing.stdout, listing.stderr
            result = run_cli(home, "run", "stb", "--force")
        assert result.returncode == 1
        assert "Traceback" not in result.stderr and "Interner Fehler" not in result.stderr
        assert "nicht beschreibbar" in result.stderr and str(home) in result.stderr
