"""Run history and watermarks: atomic commit, retention, one run per config across processes."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from engine.runs import (
    RETENTION,
    RUNS,
    RunBusy,
    RunRecord,
    RunStore,
    RunSummary,
    new_run_id,
)
from engine.store import Store, StoreError
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
    assert runs.last_run("stb") == RunSummary(ok.id, "ok", ok.started_at, ok.finished_at)


def test_retention_keeps_the_newest(tmp_path: Path) -> None:
    runs = RunStore(tmp_path / "runs")
    for n in range(RETENTION + 5):
        runs.finish(record(n))
    kept = runs.runs("stb")
    assert len(kept) == RETENTION
    oldest_kept = new_run_id(T0 + dt.timedelta(minutes=5)).split("-")[0]
    assert kept[-1].id.startswith(oldest_kept)  # runs 0..4 were dropped


def summary(r: RunRecord) -> RunSummary:
    return RunSummary(r.id, r.status, r.started_at, r.finished_at)


def test_last_run_summary_follows_start_update_finish(tmp_path: Path) -> None:
    runs = RunStore(tmp_path / "runs")
    assert runs.last_run("stb") is None and runs.last_runs() == {}
    first = record(1, "running")
    runs.start(first)
    assert runs.last_run("stb") == summary(first)
    first.steps.append("Buchungen gelesen")
    first.attempts = 1
    runs.update(first)
    assert runs.last_run("stb") == summary(first)
    first.status, first.finished_at = "failed", (T0 + dt.timedelta(minutes=2)).isoformat()
    runs.finish(first, watermarks={"1": 5}, alert_state={"failures": 1})
    assert runs.last_run("stb") == summary(first)
    last = runs.last_run("stb")
    assert last is not None and last.label == "fehlgeschlagen"
    second = record(3, "running")
    runs.start(second)
    assert runs.last_run("stb") == summary(second)
    # A late write for an older run does not take the summary back.
    runs.update(first)
    assert runs.last_run("stb") == summary(second)
    second.status = "ok"
    runs.finish(second)
    assert runs.last_run("stb") == summary(second)
    assert runs.watermarks("stb") == {"1": 5}  # the state doc keeps its other keys
    assert runs.alert_state("stb") == {"failures": 1}
    other = record(4, config_id="kasse")
    runs.finish(other)
    assert runs.last_runs() == {"stb": summary(second), "kasse": summary(other)}
    # The summary matches a full scan.
    assert runs.last_run("stb") == summary(runs.runs("stb")[0])


def test_last_run_summary_survives_retention(tmp_path: Path) -> None:
    runs = RunStore(tmp_path / "runs")
    for n in range(RETENTION + 3):
        runs.finish(record(n))
    newest = runs.runs("stb")[0]
    assert runs.last_run("stb") == summary(newest)
    stamp = runs.file_stamp("stb")
    runs.finish(record(RETENTION + 10, "failed"))
    assert runs.file_stamp("stb") != stamp
    last = runs.last_run("stb")
    assert last == summary(runs.runs("stb")[0]) and last.status == "failed"


def test_last_run_of_a_file_without_summary(tmp_path: Path) -> None:
    """Files written before the summary existed: found by one pass over the records."""
    runs = RunStore(tmp_path / "runs")
    runs.dir.mkdir()
    old, new = record(1), record(2, "failed")
    with Store(runs.dir / "stb.json").transaction() as db:
        db.table(RUNS).insert_multiple([vars(new), vars(old)])
    assert runs.last_run("stb") == summary(new)
    assert runs.last_runs() == {"stb": summary(new)}
    runs.start(newer := record(3, "running"))  # the next write adds the summary
    assert runs.last_run("stb") == summary(newer)
    assert runs.file_stamp("nope") is None
    (runs.dir / "kaputt.json").write_text('{"runs": {"1": ')
    with pytest.raises(StoreError, match="beschädigt"):
        runs.last_run("kaputt")


def test_last_run_reads_only_the_head_of_the_file(tmp_path: Path) -> None:
    runs = RunStore(tmp_path / "runs")
    records = [record(n) for n in range(3)]
    for r in records:
        runs.finish(r)
    assert (runs.dir / "stb.json").read_text().startswith('{"_meta":{"1":{"schema":1,')
    with (runs.dir / "stb.json").open("a") as fh:
        fh.write("damage after the head")  # not read: the summary comes first
    assert runs.last_run("stb") == summary(records[-1])


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
