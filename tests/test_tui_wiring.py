"""tui.wiring's caches against the engine functions they stand in for."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from engine.schedule import next_due
from engine.workspace import Workspace
from tests.test_tui_support import make_workspace, seed_configs
from tui.wiring import engine_hooks


class MovableClock:
    def __init__(self, now: dt.datetime) -> None:
        self.moment = now

    def now(self) -> dt.datetime:
        return self.moment


def test_next_due_hook_matches_the_schedule_as_the_clock_moves(tmp_path: Path) -> None:
    ws: Workspace = make_workspace(tmp_path / "home")
    seed_configs(ws)
    tz = ws.time_zone()
    start = dt.datetime(2026, 11, 20, 5, 0, tzinfo=tz)
    clock = MovableClock(start)
    hooks = engine_hooks(ws, clock=clock)
    configs = ws.list_configs()
    assert {c.interval.kind for c in configs} == {"daily", "hourly", "monthly"}
    # Every 7 minutes for two days: across due times (06:30 daily, every 15 min hourly,
    # the 15th monthly), exactly on them, and with the clock set back twice.
    moments = [start + dt.timedelta(minutes=7 * n) for n in range(2 * 24 * 60 // 7)]
    moments[100:100] = [dt.datetime(2026, 11, 20, 6, 30, tzinfo=tz), start]
    moments.append(start + dt.timedelta(hours=1))
    seen: set[dt.datetime] = set()
    for moment in moments:
        clock.moment = moment
        for cfg in configs:
            expected = next_due(cfg, moment, tz=tz)
            assert hooks.next_due(cfg) == expected, (cfg.id, moment)
            assert expected is not None
            seen.add(expected)
    assert len(seen) > 100  # the due times really moved on

    # A changed config is worked out anew, not taken from the cache.
    clock.moment = start
    daily = next(c for c in configs if c.interval.kind == "daily")
    assert hooks.next_due(daily) == dt.datetime(2026, 11, 20, 6, 30, tzinfo=tz)
    later = dataclasses.replace(daily, time="07:45")
    assert hooks.next_due(later) == dt.datetime(2026, 11, 20, 7, 45, tzinfo=tz)
