"""The service methods the TUI calls instead of tui.wiring's former hooks: the next due time
(cached) against the schedule, and the German answers the screens show."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from engine.due import next_due
from engine.errors import MailError
from engine.service import Service, run_summary
from engine.workspace import Workspace
from tests.servers import FTPServer
from tests.test_tui_protocol import BERLIN, Ticking, ftp_raw
from tests.test_tui_support import FixedClock, make_workspace, seed_configs
from tui.screens.configs import last_run_of


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
    service = Service(ws, clock=clock)
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
            assert service.next_due(cfg) == expected, (cfg.id, moment)
            assert expected is not None
            seen.add(expected)
    assert len(seen) > 100  # the due times really moved on

    # A changed config is worked out anew, not taken from the cache.
    clock.moment = start
    daily = next(c for c in configs if c.interval.kind == "daily")
    assert service.next_due(daily) == dt.datetime(2026, 11, 20, 6, 30, tzinfo=tz)
    later = dataclasses.replace(daily, time="07:45")
    assert service.next_due(later) == dt.datetime(2026, 11, 20, 7, 45, tzinfo=tz)


@pytest.fixture
def berlin_ws(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path / "home")
    ws.save_chain_settings({"timezone": "Europe/Berlin"})
    return ws


def test_engine_hooks_answer_in_german(berlin_ws: Workspace, ftp: FTPServer) -> None:
    ws = berlin_ws
    ws.save_config(ftp_raw(ftp))
    clock = Ticking(dt.datetime(2026, 11, 20, 12, 0, tzinfo=BERLIN))
    service = Service(ws, clock=clock)
    cfg = ws.get_config("stb")
    due = service.next_due(cfg)
    assert due == dt.datetime(2026, 11, 21, 6, 30, tzinfo=BERLIN)
    assert last_run_of(service.last_run("stb")) is None
    first = service.stamps().runs
    summary = run_summary(service.run_now("stb"))
    assert summary is not None and summary.startswith("„Kanzlei per FTP“: erfolgreich – ")
    last = last_run_of(service.last_run("stb"))
    assert last is not None and last[0] == "erfolgreich"
    assert service.stamps().runs != first
    steps = list(service.test_connection(cfg))
    assert [getattr(s, "ok", None) for s in steps] == [True] * 5
    with pytest.raises(MailError, match="Kein SMTP Postausgangsserver"):
        service.send_test_mail("fibu@optik.example")
    late = Service(ws, clock=FixedClock(dt.datetime(2026, 11, 20, 23, 0, tzinfo=BERLIN)))
    with pytest.raises(Exception, match="Es ist 23:00 Uhr"):
        late.run_now("stb")  # the engine refuses too without force
