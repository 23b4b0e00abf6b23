"""The daemon's timer (engine.schedule.ConfigScheduler) on a manual clock."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import pytest

from engine.clock import ManualClock, SystemClock
from engine.config import ExportConfig
from engine.due import schedule_fingerprint
from engine.schedule import ConfigScheduler
from tests.test_due import BERLIN, SANTIAGO, at, hourly_times, is_at, make_cfg

# --- ConfigScheduler --------------------------------------------------------------------------

Calls = list[tuple[str, dt.datetime, dt.datetime]]


def recorder(clock: ManualClock, calls: Calls) -> Callable[[str, dt.datetime], None]:
    def callback(config_id: str, due: dt.datetime) -> None:
        calls.append((config_id, due, clock.now()))

    return callback


def add(
    cs: ConfigScheduler,
    cfg: ExportConfig,
    callback: Callable[[str, dt.datetime], None],
    *,
    last_due: dt.datetime | None = None,
) -> bool:
    return cs.set_config(
        cfg,
        tz=BERLIN,
        fingerprint=schedule_fingerprint(cfg),
        callback=callback,
        last_due=last_due,
    )


def test_scheduler_fires_exactly_at_due_times_tagged_by_config_id() -> None:
    clock = ManualClock(at("2026-11-24T05:00:00+01:00"))
    cs = ConfigScheduler(clock)
    calls: Calls = []
    assert add(cs, make_cfg(time="06:30", id="A"), recorder(clock, calls))
    assert add(cs, make_cfg("hourly", every=30, id="B"), recorder(clock, calls))
    assert cs.config_ids() == ["A", "B"]
    for cid in ("A", "B"):  # one job per config, found by its id
        job = cs.job(cid)
        assert job is not None and job.config_id == cid
    assert is_at(cs.next_run("A"), "2026-11-24T06:30:00+01:00")
    assert is_at(cs.next_run("B"), "2026-11-24T06:00:00+01:00")
    assert cs.idle_seconds() == 3600.0

    for _ in range(24 * 60):
        clock.advance(minutes=1)
        cs.run_pending()

    a_calls = [(due, fired) for cid, due, fired in calls if cid == "A"]
    b_calls = [(due, fired) for cid, due, fired in calls if cid == "B"]
    assert a_calls == [(at("2026-11-24T06:30:00+01:00"), at("2026-11-24T06:30:00+01:00"))]
    assert [due.isoformat() for due, _ in b_calls] == hourly_times("2026-11-24", "+01:00", 30)
    assert all(due == fired for due, fired in b_calls)
    assert is_at(cs.next_run("A"), "2026-11-25T06:30:00+01:00")
    assert is_at(cs.next_run("B"), "2026-11-25T06:00:00+01:00")


def test_scheduler_does_not_fire_before_the_due_time() -> None:
    clock = ManualClock(at("2026-11-24T06:00:00+01:00"))
    cs = ConfigScheduler(clock)
    calls: Calls = []
    add(cs, make_cfg(time="06:30"), recorder(clock, calls))
    clock.set(at("2026-11-24T06:29:59+01:00"))
    cs.run_pending()
    assert calls == []
    assert cs.idle_seconds() == 1.0
    clock.advance(seconds=1)
    cs.run_pending()
    cs.run_pending()  # a second call at the same moment fires nothing more
    assert [(cid, due) for cid, due, _ in calls] == [("A", at("2026-11-24T06:30:00+01:00"))]


def test_unchanged_fingerprint_keeps_the_job_and_its_next_run() -> None:
    clock = ManualClock(at("2026-11-24T06:00:00+01:00"))
    cs = ConfigScheduler(clock)
    calls: Calls = []
    cfg = make_cfg(time="06:30")
    add(cs, cfg, recorder(clock, calls))
    job = cs.job("A")
    clock.set(at("2026-11-24T06:45:00+01:00"))  # overdue, run_pending not called yet
    import dataclasses

    renamed = dataclasses.replace(cfg, name="Neuer Name")
    assert add(cs, renamed, recorder(clock, calls)) is False
    assert job is not None and cs.job("A") is job
    assert is_at(cs.next_run("A"), "2026-11-24T06:30:00+01:00")  # not recomputed from 06:45
    cs.run_pending()
    assert [(cid, due) for cid, due, _ in calls] == [("A", at("2026-11-24T06:30:00+01:00"))]


def test_unchanged_fingerprint_swaps_in_the_new_callback() -> None:
    clock = ManualClock(at("2026-11-24T06:00:00+01:00"))
    cs = ConfigScheduler(clock)
    old: Calls = []
    new: Calls = []
    add(cs, make_cfg(time="06:30"), recorder(clock, old))
    add(cs, make_cfg(time="06:30"), recorder(clock, new))
    clock.set(at("2026-11-24T06:30:00+01:00"))
    cs.run_pending()
    assert old == []
    assert len(new) == 1


def test_changed_time_reschedules() -> None:
    clock = ManualClock(at("2026-11-24T06:00:00+01:00"))
    cs = ConfigScheduler(clock)
    calls: Calls = []
    add(cs, make_cfg(time="06:30"), recorder(clock, calls))
    assert add(cs, make_cfg(time="07:15"), recorder(clock, calls)) is True
    assert cs.config_ids() == ["A"]  # replaced, not added
    assert is_at(cs.next_run("A"), "2026-11-24T07:15:00+01:00")
    clock.set(at("2026-11-24T07:00:00+01:00"))
    cs.run_pending()
    assert calls == []
    clock.set(at("2026-11-24T07:15:00+01:00"))
    cs.run_pending()
    assert [due for _, due, _ in calls] == [at("2026-11-24T07:15:00+01:00")]


def test_changed_zone_reschedules() -> None:
    clock = ManualClock(at("2026-11-24T00:00:00+00:00"))
    cs = ConfigScheduler(clock)
    cfg = make_cfg(time="06:30")
    fp = schedule_fingerprint(cfg)
    assert cs.set_config(cfg, tz=BERLIN, fingerprint=fp, callback=lambda *_: None)
    assert cs.set_config(cfg, tz=SANTIAGO, fingerprint=fp, callback=lambda *_: None)
    assert is_at(cs.next_run("A"), "2026-11-24T06:30:00-03:00")


def test_remove_cancels() -> None:
    clock = ManualClock(at("2026-11-24T06:00:00+01:00"))
    cs = ConfigScheduler(clock)
    calls: Calls = []
    add(cs, make_cfg(time="06:30", id="A"), recorder(clock, calls))
    add(cs, make_cfg(time="06:30", id="B"), recorder(clock, calls))
    assert cs.remove("A") is True
    assert cs.remove("A") is False
    assert cs.config_ids() == ["B"]
    assert cs.next_run("A") is None
    clock.set(at("2026-11-24T06:30:00+01:00"))
    cs.run_pending()
    assert [cid for cid, _, _ in calls] == ["B"]
    cs.remove("B")
    assert cs.idle_seconds() is None


def test_a_raising_callback_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(at("2026-11-24T06:00:00+01:00"))
    cs = ConfigScheduler(clock)
    calls: Calls = []

    def boom(config_id: str, due: dt.datetime) -> None:
        raise RuntimeError("kaputt")

    add(cs, make_cfg(time="06:30", id="A"), boom)
    add(cs, make_cfg(time="06:30", id="B"), recorder(clock, calls))
    add(cs, make_cfg(time="06:30", id="C"), recorder(clock, calls))
    clock.set(at("2026-11-24T06:30:00+01:00"))
    with caplog.at_level(logging.ERROR):
        cs.run_pending()
    assert sorted(cid for cid, _, _ in calls) == ["B", "C"]
    assert "kaputt" in caplog.text
    assert "Schnittstelle A" in caplog.text
    assert is_at(cs.next_run("A"), "2026-11-25T06:30:00+01:00")  # still scheduled


def test_late_wake_fires_once_for_the_most_recent_due_time() -> None:
    clock = ManualClock(at("2026-11-24T06:00:00+01:00"))
    cs = ConfigScheduler(clock)
    calls: Calls = []
    add(cs, make_cfg(time="06:30", id="A"), recorder(clock, calls))
    add(cs, make_cfg("hourly", every=15, id="B"), recorder(clock, calls))
    clock.set(at("2026-11-26T11:07:00+01:00"))  # suspended for two days
    cs.run_pending()
    assert sorted((cid, due) for cid, due, _ in calls) == [
        ("A", at("2026-11-26T06:30:00+01:00")),
        ("B", at("2026-11-26T11:00:00+01:00")),
    ]
    assert is_at(cs.next_run("A"), "2026-11-27T06:30:00+01:00")
    assert is_at(cs.next_run("B"), "2026-11-26T11:15:00+01:00")


def test_late_wake_outside_the_window_makes_up_when_the_window_opens() -> None:
    clock = ManualClock(at("2026-11-24T21:00:00+01:00"))
    cs = ConfigScheduler(clock)
    calls: Calls = []
    add(cs, make_cfg(time="21:30"), recorder(clock, calls))
    clock.set(at("2026-11-24T23:00:00+01:00"))
    cs.run_pending()
    assert calls == []
    assert is_at(cs.next_run("A"), "2026-11-25T06:00:00+01:00")
    clock.set(at("2026-11-25T06:00:00+01:00"))
    cs.run_pending()
    assert [(due, fired) for _, due, fired in calls] == [
        (at("2026-11-24T21:30:00+01:00"), at("2026-11-25T06:00:00+01:00"))
    ]
    assert is_at(cs.next_run("A"), "2026-11-25T21:30:00+01:00")


def test_slightly_late_at_2200_still_fires_within_grace() -> None:
    clock = ManualClock(at("2026-11-24T21:59:00+01:00"))
    cs = ConfigScheduler(clock, grace=dt.timedelta(minutes=5))
    calls: Calls = []
    add(cs, make_cfg(time="22:00"), recorder(clock, calls))
    clock.set(at("2026-11-24T22:03:00+01:00"))
    cs.run_pending()
    assert [due for _, due, _ in calls] == [at("2026-11-24T22:00:00+01:00")]


def test_clock_set_back_does_not_fire_the_same_due_time_twice() -> None:
    clock = ManualClock(at("2026-11-24T06:00:00+01:00"))
    cs = ConfigScheduler(clock)
    calls: Calls = []
    add(cs, make_cfg(time="06:30"), recorder(clock, calls))
    clock.set(at("2026-11-24T06:30:00+01:00"))
    cs.run_pending()
    clock.set(at("2026-11-24T06:10:00+01:00"))
    cs.run_pending()
    clock.set(at("2026-11-24T06:31:00+01:00"))
    cs.run_pending()
    assert len(calls) == 1
    assert is_at(cs.next_run("A"), "2026-11-25T06:30:00+01:00")


def test_catch_up_on_start_with_last_due() -> None:
    clock = ManualClock(at("2026-11-24T09:10:00+01:00"))  # daemon was down 05:00–09:10
    cs = ConfigScheduler(clock)
    calls: Calls = []
    add(
        cs,
        make_cfg(time="06:30", id="A"),
        recorder(clock, calls),
        last_due=at("2026-11-23T06:30:00+01:00"),
    )
    add(
        cs,
        make_cfg(time="06:30", id="B"),
        recorder(clock, calls),
        last_due=at("2026-11-24T06:30:00+01:00"),
    )
    add(cs, make_cfg(time="06:30", id="C"), recorder(clock, calls))  # never ran: no catch-up
    assert is_at(cs.next_run("A"), "2026-11-24T09:10:00+01:00")
    assert cs.idle_seconds() == 0.0
    cs.run_pending()
    assert [(cid, due) for cid, due, _ in calls] == [("A", at("2026-11-24T06:30:00+01:00"))]
    for cid in "ABC":
        assert is_at(cs.next_run(cid), "2026-11-25T06:30:00+01:00")


def test_catch_up_at_night_waits_for_the_window() -> None:
    clock = ManualClock(at("2026-11-24T23:30:00+01:00"))
    cs = ConfigScheduler(clock)
    calls: Calls = []
    add(
        cs, make_cfg(time="21:00"), recorder(clock, calls), last_due=at("2026-11-23T21:00:00+01:00")
    )
    cs.run_pending()
    assert calls == []
    assert is_at(cs.next_run("A"), "2026-11-25T06:00:00+01:00")
    clock.set(at("2026-11-25T06:00:00+01:00"))
    cs.run_pending()
    assert [due for _, due, _ in calls] == [at("2026-11-24T21:00:00+01:00")]


def test_system_clock_is_aware_and_default() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None
    cs = ConfigScheduler()
    cfg = make_cfg("hourly", every=5)
    cs.set_config(cfg, tz=BERLIN, fingerprint=schedule_fingerprint(cfg), callback=lambda *_: None)
    idle = cs.idle_seconds()
    assert idle is not None and 0.0 <= idle <= 16 * 3600


def test_jobs_due_at_the_same_instant_fire_in_the_order_they_were_scheduled() -> None:
    clock = ManualClock(at("2026-11-24T06:00:00+01:00"))
    cs = ConfigScheduler(clock)
    calls: Calls = []
    for cid in "CAB":
        add(cs, make_cfg(time="06:30", id=cid), recorder(clock, calls))
    add(cs, make_cfg(time="06:45", id="C"), recorder(clock, calls))  # replaced: now last
    add(cs, make_cfg(time="06:30", id="C"), recorder(clock, calls))
    clock.set(at("2026-11-24T06:30:00+01:00"))
    cs.run_pending()
    assert [cid for cid, _, _ in calls] == ["A", "B", "C"]


def test_a_job_removed_by_an_earlier_callback_does_not_fire() -> None:
    clock = ManualClock(at("2026-11-24T06:00:00+01:00"))
    cs = ConfigScheduler(clock)
    calls: Calls = []

    def remove_b(config_id: str, due: dt.datetime) -> None:
        calls.append((config_id, due, clock.now()))
        cs.remove("B")

    add(cs, make_cfg(time="06:30", id="A"), remove_b)
    add(cs, make_cfg(time="06:30", id="B"), recorder(clock, calls))
    clock.set(at("2026-11-24T06:30:00+01:00"))
    cs.run_pending()
    assert [cid for cid, _, _ in calls] == ["A"]
    assert cs.config_ids() == ["A"]


def test_many_edits_fire_only_the_current_schedule() -> None:
    clock = ManualClock(at("2026-11-24T06:00:00+01:00"))
    cs = ConfigScheduler(clock)
    calls: Calls = []
    for n in range(300):  # each edit leaves a stale heap entry behind
        for cid in "AB":
            add(cs, make_cfg(time=f"{7 + n % 3:02d}:00", id=cid), recorder(clock, calls))
    assert is_at(cs.next_run("A"), "2026-11-24T09:00:00+01:00")  # n = 299: 7 + 2
    assert cs.idle_seconds() == 3 * 3600.0
    for hour in (7, 8, 9):
        clock.set(at(f"2026-11-24T{hour:02d}:00:00+01:00"))
        cs.run_pending()
    assert [(cid, due.hour) for cid, due, _ in calls] == [("A", 9), ("B", 9)]
