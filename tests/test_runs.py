"""Run history and watermarks: atomic commit, retention, one run per config across processes."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from engine.runs import RETENTION, RunBusy, RunRecord, RunStore, new_run_id
from tests.conftest import ROOT

T0 = dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.UTC)


def record(n: int, status: str = "ok", config_id: str = "stb") -> RunRecord:
    when = T0 + dt.timedelta(minutes=n)
    return RunRecord(
        id=new_run_id(when),
        config_id=config_id,
        config_name="Steuerbüro",
        trigger="schedule",
        started_at=when.isoformat(),
        status=status,
    )


def test_finish_moves_watermarks_with_the_record(tmp_path: Path) -> None:
    runs = RunStore(tmp_path / "runs")
    assert runs.watermarks("stb") == {}
    failed = record(1, "failed")
    runs.start(failed)
    runs.finish(failed)  # a failed run moves nothing
    assert runs.watermarks("stb") == {}
    ok = record(2)
    runs.start(ok)
    runs.finish(ok, watermarks={"1": 120, "2": 80}, alert_state={"failures": 0})
    assert runs.watermarks("stb") == {"1": 120, "2": 80}
    assert runs.alert_state("stb") == {"failures": 0}
    runs.set_watermarks("stb", {"2": 95})
    assert runs.watermarks("stb") == {"1": 120, "2": 95}
    assert [r.status for r in runs.runs("stb")] == ["ok", "failed"]
    assert [r.status for r in runs.runs(failed=True)] == ["failed"]
    assert runs.last_run("stb") == ok


def test_retention_keeps_the_newest(tmp_path: Path) -> None:
    runs = RunStore(tmp_path / "runs")
    for n in range(RETENTION + 5):
        runs.finish(record(n))
    kept = runs.runs("stb")
    assert len(kept) == RETENTION
    oldest_kept = new_run_id(T0 + dt.timedelta(minutes=5)).split("-")[0]
    assert kept[-1].id.startswith(oldest_kept)  # runs 0..4 were dropped


def test_stamp_changes_on_every_record(tmp_path: Path) -> None:
    runs = RunStore(tmp_path / "runs")
    assert runs.stamp() is None
    runs.finish(record(1))
    first = runs.stamp()
    runs.finish(record(2))
    assert runs.stamp() != first


def test_one_run_per_config_across_processes(tmp_path: Path) -> None:
    runs = RunStore(tmp_path / "runs")
    code = (
        "import sys; from pathlib import Path; from engine.runs import RunStore\n"
        f"rs = RunStore(Path({str(tmp_path / 'runs')!r}))\n"
        "with rs.exclusive('stb'):\n"
        "    print('holding', flush=True); sys.stdin.readline()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "holding"
        assert runs.is_busy("stb")
        with pytest.raises(RunBusy), runs.exclusive("stb"):
            pass
        with runs.exclusive("other"):  # other configs are not blocked
            pass
    finally:
        assert child.stdin is not None
        child.stdin.write("\n")
        child.stdin.flush()
        child.wait(timeout=30)
    assert not runs.is_busy("stb")
    with runs.exclusive("stb"), pytest.raises(RunBusy), runs.exclusive("stb"):
        pass  # not re-entrant even within one process: a second run waits for nothing
