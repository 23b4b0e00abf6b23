"""Clocks and time zones (engine.clock): the system zone without third-party helpers, the
manual test clock, the 06:00–22:00 window."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from engine.clock import (
    ManualClock,
    SystemClock,
    inside_window,
    inside_window_at,
    resolve_tz,
    system_tz,
)
from tests.test_due import BERLIN, SANTIAGO, at, is_at

# --- time zones -----------------------------------------------------------------------------


def test_resolve_tz_by_name() -> None:
    assert resolve_tz("Europe/Berlin") is BERLIN
    assert resolve_tz(" America/Santiago ") is SANTIAGO
    with pytest.raises(ValueError, match="unbekannte Zeitzone"):
        resolve_tz("Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        resolve_tz("../etc/passwd")


def test_system_tz_from_environment(tmp_path: Path) -> None:
    none = tmp_path / "missing"
    assert system_tz(environ={"TZ": "Europe/Berlin"}, localtime=none, timezone_file=none) is BERLIN
    assert system_tz(environ={"TZ": ":America/Santiago"}, localtime=none, timezone_file=none) is (
        SANTIAGO
    )
    path_tz = system_tz(
        environ={"TZ": "/usr/share/zoneinfo/Europe/Berlin"}, localtime=none, timezone_file=none
    )
    assert path_tz is BERLIN


def test_system_tz_from_localtime_symlink_timezone_file_or_copy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    none = tmp_path / "missing"
    link = tmp_path / "localtime"
    link.symlink_to("../usr/share/zoneinfo/Europe/Berlin")  # target need not exist here
    # a POSIX TZ rule is no IANA name: warned about, then the symlink decides
    assert system_tz(environ={"TZ": "CET-1CEST"}, localtime=link, timezone_file=none) is BERLIN
    assert "TZ=CET-1CEST" in caplog.text

    tzfile = tmp_path / "timezone"
    tzfile.write_text("America/Santiago\n", encoding="utf-8")
    assert system_tz(environ={}, localtime=none, timezone_file=tzfile) is SANTIAGO

    source = Path("/usr/share/zoneinfo/Europe/Berlin")
    if not source.is_file():
        pytest.skip("no system zoneinfo files to copy")
    copy = tmp_path / "copied"
    copy.write_bytes(source.read_bytes())
    copied = system_tz(environ={}, localtime=copy, timezone_file=none)
    assert dt.datetime(2026, 7, 1, 12, tzinfo=copied).utcoffset() == dt.timedelta(hours=2)


def test_system_tz_falls_back_to_utc_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    none = tmp_path / "missing"
    with caplog.at_level(logging.WARNING):
        zone = system_tz(environ={}, localtime=none, timezone_file=none)
    assert zone.key == "UTC"
    assert "verwende UTC" in caplog.text


def test_resolve_tz_none_is_the_system_zone() -> None:
    assert resolve_tz(None).key == system_tz().key
    assert resolve_tz("").key == system_tz().key


# --- clocks -------------------------------------------------------------------------------------


def test_manual_clock_rejects_naive_times() -> None:
    with pytest.raises(ValueError):
        ManualClock(dt.datetime(2026, 11, 24))
    clock = ManualClock(at("2026-11-24T06:00:00+01:00"))
    assert is_at(clock.advance(dt.timedelta(minutes=1), seconds=30), "2026-11-24T06:01:30+01:00")


def test_system_clock_is_aware_local_time_of_now() -> None:
    before = dt.datetime.now(dt.UTC)
    now = SystemClock().now()
    after = dt.datetime.now(dt.UTC)
    assert now.utcoffset() == dt.datetime.now().astimezone().utcoffset()
    assert before <= now <= after


# --- the window -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "inside"),
    [
        ("2026-11-24T05:59:59", False),
        ("2026-11-24T06:00:00", True),
        ("2026-11-24T13:00:00", True),
        ("2026-11-24T22:00:59", True),  # the whole 22:00 minute, as the 22:00 slot
        ("2026-11-24T22:01:00", False),
        ("2026-11-24T00:00:00", False),
    ],
)
def test_inside_window_to_the_minute(local: str, inside: bool) -> None:
    moment = dt.datetime.fromisoformat(local).replace(tzinfo=BERLIN)
    assert inside_window(moment) is inside
    # an instant read in the zone: 21:30 UTC is 22:30 in Berlin, outside
    assert inside_window_at(moment.astimezone(dt.UTC), BERLIN) is inside
