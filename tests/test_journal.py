"""The export journal: run history, watermarks, delivered bookings, migration, damage."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from array import array
from dataclasses import replace
from pathlib import Path

import pytest

from engine.journal import (
    SCHEMA_VERSION,
    BookingIndex,
    ClientMark,
    Journal,
    JournalError,
    PlannedFile,
)
from engine.journal_migrate import BACKUP_NAME, migrate_legacy_runs
from engine.paths import DataDir
from engine.runs import RETENTION, RunBusy, RunRecord, RunSummary, new_run_id
from engine.store import Store
from engine.workspace import Workspace
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


def summary(r: RunRecord) -> RunSummary:
    return RunSummary(r.id, r.status, r.started_at, r.finished_at)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.sqlite", tmp_path / "locks")


def test_finish_moves_watermarks_with_the_record(journal: Journal) -> None:
    assert journal.watermarks("stb") == {} and journal.runs() == []
    failed = record(1, "failed")
    journal.start(failed)
    journal.finish(failed)  # a failed run moves nothing
    assert journal.watermarks("stb") == {}
    ok = record(2)
    journal.start(ok)
    journal.finish(ok, watermarks={"1": 120, "2": 80}, alert_state={"failures": 0})
    assert journal.watermarks("stb") == {"1": 120, "2": 80}
    assert journal.alert_state("stb") == {"failures": 0}
    journal.finish(record(3), watermarks={"1": 100})  # never moves back
    assert journal.watermarks("stb") == {"1": 120, "2": 80}
    assert [r.status for r in journal.runs("stb")] == ["ok", "ok", "failed"]
    assert [r.status for r in journal.runs(failed=True)] == ["failed"]
    assert journal.runs("stb", limit=1)[0].id > ok.id
    assert journal.run(ok.id) == ok


def test_retention_keeps_the_newest(journal: Journal) -> None:
    for n in range(RETENTION + 5):
        journal.finish(record(n))
    kept = journal.runs("stb")
    assert len(kept) == RETENTION
    oldest_kept = new_run_id(T0 + dt.timedelta(minutes=5)).split("-")[0]
    assert kept[-1].id.startswith(oldest_kept)  # runs 0..4 were dropped
    assert journal.last_run("stb") == summary(kept[0])


def test_last_due_and_running_read_indexes_not_the_history(journal: Journal) -> None:
    assert journal.last_due("stb") is None
    scheduled = record(1)
    scheduled.due_at = "2026-11-24T07:30:00+01:00"
    journal.finish(scheduled)
    for n in range(2, 5):  # newer runs without a due time do not count
        journal.finish(replace(record(n), trigger="manual"))
    running = record(5, "running")
    journal.start(running)
    assert journal.last_due("stb") == "2026-11-24T07:30:00+01:00"
    assert [r.id for r in journal.running("stb")] == [running.id]
    conn = sqlite3.connect(journal.path)
    plans = [
        " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", ("stb",)))
        for sql in (
            "SELECT doc FROM runs WHERE config_id = ? AND status = 'running' ORDER BY id",
            "SELECT json_extract(doc, '$.due_at') FROM runs WHERE config_id = ? "
            "AND json_extract(doc, '$.trigger') IN ('schedule', 'catchup') "
            "AND json_extract(doc, '$.due_at') IS NOT NULL ORDER BY id DESC LIMIT 1",
        )
    ]
    conn.close()
    assert "USING INDEX runs_running" in plans[0]
    assert "USING INDEX runs_by_config" in plans[1] and "TEMP B-TREE" not in plans[1]


def test_a_journal_without_the_running_index_gets_it(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    Journal(path, tmp_path / "locks").finish(record(1))
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX runs_running")  # as a journal written before it existed
    conn.close()
    reopened = Journal(path, tmp_path / "locks")
    assert reopened.running("stb") == []
    conn = sqlite3.connect(path)
    names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    conn.close()
    assert "runs_running" in names


def test_last_run_follows_start_update_finish(journal: Journal) -> None:
    assert journal.last_run("stb") is None and journal.last_runs() == {}
    first = record(1, "running")
    journal.start(first)
    assert journal.last_run("stb") == summary(first)
    first.steps.append("Buchungen gelesen")
    journal.update(first)
    first.status, first.finished_at = "failed", (T0 + dt.timedelta(minutes=2)).isoformat()
    journal.finish(first, alert_state={"failures": 1})
    last = journal.last_run("stb")
    assert last == summary(first) and last.label == "fehlgeschlagen"
    second = record(3, "running")
    journal.start(second)
    journal.update(first)  # a late write for an older run does not take the summary back
    assert journal.last_run("stb") == summary(second)
    other = record(4, config_id="kasse")
    journal.finish(other)
    assert journal.last_runs() == {"stb": summary(second), "kasse": summary(other)}
    assert journal.alert_state("stb") == {"failures": 1}
    assert [r.id for r in journal.running("stb")] == [second.id]


def test_stamps_change_on_every_write(journal: Journal) -> None:
    assert journal.stamp() is None and journal.file_stamp("stb") is None
    journal.finish(record(1))
    first, stb = journal.stamp(), journal.file_stamp("stb")
    journal.finish(record(2, config_id="kasse"))
    assert journal.stamp() != first
    assert journal.file_stamp("stb") == stb  # another config's write leaves it alone
    journal.update(record(3))
    assert journal.file_stamp("stb") != stb
    assert set(journal.revisions()) == {"stb", "kasse"}


def test_a_second_process_sees_every_commit(journal: Journal, tmp_path: Path) -> None:
    journal.finish(record(1), watermarks={"1": 5})
    code = (
        "import sys; from pathlib import Path; from engine.journal import Journal\n"
        f"j = Journal(Path({str(journal.path)!r}), Path({str(tmp_path / 'locks')!r}))\n"
        "print(j.watermarks('stb')['1'], j.stamp())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()  # fmt: skip
    assert out == ["5", str(journal.stamp())]


def planned(name: str, client: str = "1", first: int = 0, last: int = 0) -> PlannedFile:
    return PlannedFile(name=name, size=10, sha256="0" * 64, rows=2, kind="bookings",
                       client_id=client, journal_from=first, journal_to=last)  # fmt: skip


def index(client: str, file_no: int, numbers: list[int]) -> BookingIndex:
    return BookingIndex(client, file_no, array("q", numbers), array("q", [n * 7 for n in numbers]))


def test_a_planned_delivery_journals_its_bookings_before_upload(journal: Journal) -> None:
    run = record(1, "running")
    journal.plan_delivery(
        run,
        folder="out",
        files=[planned("a.csv", "1", 10, 30), planned("b.csv", "2", 40, 40)],
        watermarks={"1": 30, "2": 40},
        bookings=[index("1", 0, [10, 20, 30]), index("2", 1, [40])],
        now=T0.isoformat(),
    )
    assert journal.run(run.id) == run  # the record is written with the plan
    unfinished = journal.open_delivery("stb")
    assert unfinished is not None and [f.name for f in unfinished.files] == ["a.csv", "b.csv"]
    assert unfinished.watermarks == {"1": 30, "2": 40}
    assert list(journal.delivered_numbers("stb", "1", 0, 100)) == [10, 20, 30]
    assert list(journal.delivered_numbers("stb", "1", 10, 20)) == [20]
    assert journal.watermarks("stb") == {}  # moved only when the delivery is done
    # A second plan for an already journaled booking is refused as a whole.
    again = record(2, "running")
    with pytest.raises(JournalError, match="schon als geliefert"):
        journal.plan_delivery(again, folder="out", files=[planned("c.csv")], watermarks={},
                              bookings=[index("1", 0, [50, 20])], now=T0.isoformat())  # fmt: skip
    assert journal.delivery(again.id) is None
    assert list(journal.delivered_numbers("stb", "1", 0, 100)) == [10, 20, 30]
    # The file whose outbox copy is gone is taken out again; then the delivery finishes.
    assert journal.drop_files(run.id, [1]) == 1
    assert list(journal.delivered_numbers("stb", "2", 0, 100)) == []
    run.status = "ok"
    journal.finish(run, delivery=run.id)
    assert journal.open_delivery("stb") is None
    assert journal.watermarks("stb") == {"1": 30, "2": 40}
    assert journal.delivery_bookings(run.id) == [("1", 10, 70, 0), ("1", 20, 140, 0),
                                                 ("1", 30, 210, 0)]  # fmt: skip


def test_marks_keep_baseline_and_selection(journal: Journal) -> None:
    journal.finish(record(1), watermarks={"1": 50},
                   marks={"1": ClientMark(0, 0, "sel-a"), "2": ClientMark(0, 7, "sel-a")},
                   full_check_at=T0.isoformat())  # fmt: skip
    assert journal.marks("stb") == {"1": ClientMark(50, 0, "sel-a"), "2": ClientMark(0, 7, "sel-a")}
    assert journal.last_full_check("stb") == T0
    journal.finish(record(2), marks={"1": ClientMark(50, 50, "sel-b")}, alert_state={"x": 1})
    assert journal.marks("stb")["1"] == ClientMark(50, 50, "sel-b")
    assert journal.last_full_check("stb") == T0  # kept when not given


def test_one_run_per_config_across_processes(journal: Journal, tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from engine.journal import Journal\n"
        f"j = Journal(Path({str(journal.path)!r}), Path({str(tmp_path / 'locks')!r}))\n"
        "with j.exclusive('stb'):\n"
        "    print('holding', flush=True); sys.stdin.readline()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "holding"
        assert journal.is_busy("stb")
        with pytest.raises(RunBusy), journal.exclusive("stb"):
            pass
        with journal.exclusive("other"):  # other configs are not blocked
            pass
    finally:
        assert child.stdin is not None
        child.stdin.write("\n")
        child.stdin.flush()
        child.wait(timeout=30)
    assert not journal.is_busy("stb")
    with journal.exclusive("stb"), pytest.raises(RunBusy), journal.exclusive("stb"):
        pass  # not re-entrant even within one process


# --- damage and versions -----------------------------------------------------------------


def test_a_damaged_journal_is_reported_by_path_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    path.write_bytes(b"this is not a database at all" * 100)
    before = path.read_bytes()
    journal = Journal(path, tmp_path / "locks")
    with pytest.raises(JournalError, match=str(path)) as caught:
        journal.runs()
    assert "beschädigt" in str(caught.value) and "Sicherung" in str(caught.value)
    assert path.read_bytes() == before


def test_a_journal_of_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    Journal(path, tmp_path / "locks").finish(record(1))
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(JournalError, match="neueren buchex-Version") as caught:
        Journal(path, tmp_path / "locks").runs()
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before


def test_a_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE kunden (id INTEGER)")
    with pytest.raises(JournalError, match="kein Exportjournal"):
        Journal(path, tmp_path / "locks").runs()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("kunden",)]


def test_the_journal_file_is_private(journal: Journal) -> None:
    journal.finish(record(1))
    assert journal.path.stat().st_mode & 0o777 == 0o600


# --- migration from the former run files -------------------------------------------------


def legacy_file(runs_dir: Path, config_id: str, records: list[RunRecord],
                state: dict[str, object]) -> None:  # fmt: skip
    runs_dir.mkdir(exist_ok=True)
    with Store(runs_dir / f"{config_id}.json").transaction() as db:
        db.table("state").insert(state)
        db.table("runs").insert_multiple([vars(r) for r in records])


def test_old_run_files_move_into_the_journal_once(tmp_path: Path) -> None:
    data = DataDir.open(tmp_path / "home")
    old = [record(1, "failed"), record(2)]
    legacy_file(data.runs_dir, "stb", old,
                {"watermarks": {"1": 120}, "alert": {"failures": 0}, "last": {}})  # fmt: skip
    legacy_file(data.runs_dir, "kasse", [record(3, config_id="kasse")], {})
    ws = Workspace(data)
    assert [r.id for r in ws.runs.runs("stb")] == [old[1].id, old[0].id]
    assert ws.runs.watermarks("stb") == {"1": 120}
    # Delivered before the journal existed: the look-back must not send them again.
    assert ws.runs.marks("stb")["1"].baseline == 120
    assert ws.runs.alert_state("stb") == {"failures": 0}
    assert ws.runs.last_runs().keys() == {"stb", "kasse"}
    assert not data.runs_dir.exists()
    backup = data.root / BACKUP_NAME
    assert sorted(p.name for p in backup.glob("*.json")) == ["kasse.json", "stb.json"]
    # Opening again migrates nothing more.
    assert migrate_legacy_runs(data.runs_dir, Workspace(data).runs) == 0
    assert len(Workspace(data).runs.runs()) == 3


def test_a_damaged_old_run_file_stops_the_migration(tmp_path: Path) -> None:
    data = DataDir.open(tmp_path / "home")
    data.runs_dir.mkdir()
    (data.runs_dir / "stb.json").write_text('{"runs": {"1": ')
    with pytest.raises(Exception, match="beschädigt"):
        _ = Workspace(data).runs
    assert (data.runs_dir / "stb.json").exists()  # nothing renamed, nothing lost


def test_runs_json_lines_carry_gaps_and_late(journal: Journal) -> None:
    r = record(1)
    r.gaps = ["Mandant 1: 3 Journalnummern fehlen"]
    r.late = 2
    journal.finish(r)
    [back] = journal.runs("stb")
    assert back.gaps == r.gaps and back.late == 2
    raw = journal._read("SELECT doc FROM runs")[0][0]
    assert json.loads(raw)["late"] == 2
