"""Due times (engine.due): hand-written expectations and a brute-force oracle.

Expected instants are written out by hand (or built from hand-written rules such as "summer
time from 2026-03-29 to 2026-10-24"); the property tests compare against an independent
oracle that walks UTC minute by minute and only ever converts UTC → local.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import struct
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.config import ExportConfig, Interval, Target
from engine.due import (
    WEEKDAYS,
    due_times,
    format_due_times,
    next_due,
    parse_moment,
    previous_due,
    schedule_fingerprint,
    window_opening,
)

BERLIN = ZoneInfo("Europe/Berlin")
SANTIAGO = ZoneInfo("America/Santiago")
APIA = ZoneInfo("Pacific/Apia")
UTC = dt.UTC


def make_cfg(
    kind: str = "daily",
    *,
    time: str | None = None,
    every: int | None = None,
    days: Iterable[str] = (),
    day: int | None = None,
    start: dt.date | None = None,
    id: str = "A",
) -> ExportConfig:
    return ExportConfig(
        id=id,
        start=start,
        time=time,
        interval=Interval(kind=kind, every_minutes=every, days=tuple(days), day=day),  # type: ignore[arg-type]
    )


def at(text: str) -> dt.datetime:
    """An aware instant from ISO text with offset."""
    moment = dt.datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return moment


def iso(times: Iterable[dt.datetime]) -> list[str]:
    return [t.isoformat() for t in times]


def is_at(moment: dt.datetime | None, text: str) -> bool:
    """`moment` is the instant `text` with exactly that offset.

    ISO text, not `==`: Python compares datetimes sharing a tzinfo by wall reading (ignoring
    fold), and an interzone `==` with a time in a fold is always False (PEP 495).
    """
    return moment is not None and moment.isoformat() == text


def utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(UTC)


def same(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    """Same instant with the same offset."""
    return (a and a.isoformat()) == (b and b.isoformat())


def tzif_zone(posix: str, std_offset_seconds: int, abbr: str) -> ZoneInfo:
    """A zone with no transition table, only a POSIX rule footer (TZif v2).

    Lets the tests put DST switches where no real zone has them today (06:00, 12:00, 22:00).
    """
    chars = abbr.encode() + b"\0"

    def block() -> bytes:
        header = b"TZif2" + b"\0" * 15 + struct.pack(">6l", 0, 0, 0, 0, 1, len(chars))
        return header + struct.pack(">lbb", std_offset_seconds, 0, 0) + chars

    data = block() + block() + b"\n" + posix.encode() + b"\n"
    return ZoneInfo.from_file(io.BytesIO(data), key=f"Test/{posix}")


# Standard time +01:00, summer time +02:00, switching on the last Sundays of March and
# October (2026-03-29, 2026-10-25) at the given local standard time.
AT_NOON = tzif_zone("XST-1XDT,M3.5.0/12,M10.5.0/12", 3600, "XST")
AT_SIX = tzif_zone("XST-1XDT,M3.5.0/6,M10.5.0/6", 3600, "XST")
AT_2200 = tzif_zone("XST-1XDT,M3.5.0/22,M10.5.0/22", 3600, "XST")
AT_0530 = tzif_zone("XST-1XDT,M3.5.0/5:30,M10.5.0/5:30", 3600, "XST")


def hourly_times(day: str, offset: str, every: int, first: str = "06:00") -> list[str]:
    """Hand rule for 'on the clock' slots from `first` to 22:00 with one fixed offset."""
    out = []
    h, m = (int(x) for x in first.split(":"))
    minutes = h * 60 + m
    while minutes <= 22 * 60:
        out.append(f"{day}T{minutes // 60:02d}:{minutes % 60:02d}:00{offset}")
        minutes += every
    return out


# --- daily, hourly: Europe/Berlin over 2026 -------------------------------------------------


def test_daily_0630_berlin_whole_year_switches_offset_on_the_dst_dates() -> None:
    times = due_times(make_cfg(time="06:30"), at("2026-01-01T00:00:00+01:00"), tz=BERLIN, count=366)
    assert len(times) == 366
    for i, t in enumerate(times[:365]):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=i)
        summer = dt.date(2026, 3, 29) <= day < dt.date(2026, 10, 25)
        assert t.isoformat() == f"{day.isoformat()}T06:30:00{'+02:00' if summer else '+01:00'}"
    assert times[365].isoformat() == "2027-01-01T06:30:00+01:00"
    # the switch days themselves, also in UTC
    by_day = {t.date().isoformat(): t for t in times}
    assert by_day["2026-03-28"].astimezone(UTC).isoformat() == "2026-03-28T05:30:00+00:00"
    assert by_day["2026-03-29"].astimezone(UTC).isoformat() == "2026-03-29T04:30:00+00:00"
    assert by_day["2026-10-24"].astimezone(UTC).isoformat() == "2026-10-24T04:30:00+00:00"
    assert by_day["2026-10-25"].astimezone(UTC).isoformat() == "2026-10-25T05:30:00+00:00"


@pytest.mark.parametrize(("day", "offset"), [("2026-03-29", "+02:00"), ("2026-10-25", "+01:00")])
def test_hourly_15_on_a_dst_day_gives_65_times_0600_to_2200(day: str, offset: str) -> None:
    start = dt.datetime.fromisoformat(f"{day}T00:00").replace(tzinfo=BERLIN)
    times = due_times(make_cfg("hourly", every=15), start, tz=BERLIN, count=66)
    on_day = [t for t in times if t.date().isoformat() == day]
    assert len(on_day) == 65
    expected = [
        f"{day}T{h:02d}:{m:02d}:00{offset}" for h in range(6, 22) for m in (0, 15, 30, 45)
    ] + [f"{day}T22:00:00{offset}"]
    assert iso(on_day) == expected
    next_day = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()
    assert times[65].isoformat() == f"{next_day}T06:00:00{offset}"


def test_hourly_60_gives_17_per_day_across_a_dst_change() -> None:
    times = due_times(
        make_cfg("hourly", every=60), at("2026-10-24T00:00:00+02:00"), tz=BERLIN, count=51
    )
    assert iso(times[:17]) == [f"2026-10-24T{h:02d}:00:00+02:00" for h in range(6, 23)]
    assert iso(times[17:34]) == [f"2026-10-25T{h:02d}:00:00+01:00" for h in range(6, 23)]
    assert iso(times[34:]) == [f"2026-10-26T{h:02d}:00:00+01:00" for h in range(6, 23)]


def test_hourly_20_ends_2140_then_2200() -> None:
    times = due_times(
        make_cfg("hourly", every=20), at("2026-11-24T21:00:00+01:00"), tz=BERLIN, count=4
    )
    assert iso(times) == [
        "2026-11-24T21:20:00+01:00",
        "2026-11-24T21:40:00+01:00",
        "2026-11-24T22:00:00+01:00",
        "2026-11-25T06:00:00+01:00",
    ]


@pytest.mark.parametrize(("every", "per_day"), [(5, 193), (10, 97), (30, 33)])
def test_hourly_counts_per_day(every: int, per_day: int) -> None:
    times = due_times(
        make_cfg("hourly", every=every),
        at("2026-11-24T00:00:00+01:00"),
        tz=BERLIN,
        count=per_day + 1,
    )
    assert times[0].isoformat() == "2026-11-24T06:00:00+01:00"
    assert times[per_day - 1].isoformat() == "2026-11-24T22:00:00+01:00"
    assert times[per_day].isoformat() == "2026-11-25T06:00:00+01:00"


# --- monthly --------------------------------------------------------------------------------


def test_monthly_31_over_2027_runs_on_each_months_last_day_when_shorter() -> None:
    times = due_times(
        make_cfg("monthly", time="07:00", day=31),
        at("2026-12-31T22:00:00+01:00"),
        tz=BERLIN,
        count=12,
    )
    assert iso(times) == [
        "2027-01-31T07:00:00+01:00",
        "2027-02-28T07:00:00+01:00",
        "2027-03-31T07:00:00+02:00",
        "2027-04-30T07:00:00+02:00",
        "2027-05-31T07:00:00+02:00",
        "2027-06-30T07:00:00+02:00",
        "2027-07-31T07:00:00+02:00",
        "2027-08-31T07:00:00+02:00",
        "2027-09-30T07:00:00+02:00",
        "2027-10-31T07:00:00+01:00",
        "2027-11-30T07:00:00+01:00",
        "2027-12-31T07:00:00+01:00",
    ]


def test_monthly_29_february_leap_and_common_year() -> None:
    cfg = make_cfg("monthly", time="08:00", day=29)
    assert iso(due_times(cfg, at("2027-01-30T00:00:00+01:00"), tz=BERLIN, count=2)) == [
        "2027-02-28T08:00:00+01:00",
        "2027-03-29T08:00:00+02:00",
    ]
    assert iso(due_times(cfg, at("2028-01-30T00:00:00+01:00"), tz=BERLIN, count=2)) == [
        "2028-02-29T08:00:00+01:00",
        "2028-03-29T08:00:00+02:00",
    ]


def test_monthly_30_february_then_march_30() -> None:
    cfg = make_cfg("monthly", time="08:00", day=30)
    assert iso(due_times(cfg, at("2028-01-30T09:00:00+01:00"), tz=BERLIN, count=2)) == [
        "2028-02-29T08:00:00+01:00",
        "2028-03-30T08:00:00+02:00",
    ]
    assert iso(due_times(cfg, at("2027-02-01T00:00:00+01:00"), tz=BERLIN, count=2)) == [
        "2027-02-28T08:00:00+01:00",
        "2027-03-30T08:00:00+02:00",
    ]


def test_monthly_same_day_later_time_is_still_this_month() -> None:
    cfg = make_cfg("monthly", time="21:00", day=24)
    assert is_at(
        next_due(cfg, at("2026-11-24T20:59:00+01:00"), tz=BERLIN), "2026-11-24T21:00:00+01:00"
    )
    assert is_at(
        next_due(cfg, at("2026-11-24T21:00:00+01:00"), tz=BERLIN), "2026-12-24T21:00:00+01:00"
    )


# --- weekly, start, strictly after ----------------------------------------------------------


def test_weekly_mon_fri_from_a_wednesday() -> None:
    cfg = make_cfg("weekly", time="06:30", days=["mon", "fri"])
    times = due_times(cfg, at("2026-11-25T12:00:00+01:00"), tz=BERLIN, count=5)  # a Wednesday
    assert iso(times) == [
        "2026-11-27T06:30:00+01:00",
        "2026-11-30T06:30:00+01:00",
        "2026-12-04T06:30:00+01:00",
        "2026-12-07T06:30:00+01:00",
        "2026-12-11T06:30:00+01:00",
    ]


def test_weekly_fingerprint_and_schedule_ignore_day_order() -> None:
    a = make_cfg("weekly", time="06:30", days=["fri", "mon"])
    b = make_cfg("weekly", time="06:30", days=["mon", "fri"])
    assert schedule_fingerprint(a) == schedule_fingerprint(b)
    after = at("2026-11-25T12:00:00+01:00")
    assert due_times(a, after, tz=BERLIN, count=4) == due_times(b, after, tz=BERLIN, count=4)


def test_future_start_date_first_due_on_or_after_start() -> None:
    after = at("2026-11-24T10:00:00+01:00")
    daily = make_cfg(time="06:30", start=dt.date(2026, 12, 1))
    assert is_at(next_due(daily, after, tz=BERLIN), "2026-12-01T06:30:00+01:00")
    hourly = make_cfg("hourly", every=15, start=dt.date(2026, 12, 1))
    assert is_at(next_due(hourly, after, tz=BERLIN), "2026-12-01T06:00:00+01:00")
    # start on a Wednesday, Mondays only
    weekly = make_cfg("weekly", time="09:00", days=["mon"], start=dt.date(2026, 12, 2))
    assert is_at(next_due(weekly, after, tz=BERLIN), "2026-12-07T09:00:00+01:00")
    monthly = make_cfg("monthly", time="09:00", day=15, start=dt.date(2026, 12, 20))
    assert is_at(next_due(monthly, after, tz=BERLIN), "2027-01-15T09:00:00+01:00")


def test_start_date_in_the_past_does_not_matter() -> None:
    cfg = make_cfg(time="06:30", start=dt.date(2020, 1, 1))
    assert is_at(
        next_due(cfg, at("2026-11-24T10:00:00+01:00"), tz=BERLIN), "2026-11-25T06:30:00+01:00"
    )


def test_after_exactly_on_a_due_time_gives_the_next_one() -> None:
    daily = make_cfg(time="06:30")
    assert is_at(
        next_due(daily, at("2026-11-24T06:30:00+01:00"), tz=BERLIN), "2026-11-25T06:30:00+01:00"
    )
    assert is_at(
        next_due(daily, at("2026-11-24T06:29:59+01:00"), tz=BERLIN), "2026-11-24T06:30:00+01:00"
    )
    hourly = make_cfg("hourly", every=15)
    assert is_at(
        next_due(hourly, at("2026-11-24T06:15:00+01:00"), tz=BERLIN), "2026-11-24T06:30:00+01:00"
    )
    assert is_at(
        next_due(hourly, at("2026-11-24T22:00:00+01:00"), tz=BERLIN), "2026-11-25T06:00:00+01:00"
    )
    # the same instant given in UTC
    assert is_at(
        next_due(hourly, at("2026-11-24T05:15:00+00:00"), tz=BERLIN), "2026-11-24T06:30:00+01:00"
    )


def test_results_are_in_the_requested_zone() -> None:
    t = next_due(make_cfg(time="06:30"), at("2026-11-24T00:00:00+00:00"), tz=BERLIN)
    assert t is not None
    assert t.tzinfo is BERLIN


def test_naive_moments_are_rejected() -> None:
    with pytest.raises(ValueError):
        next_due(make_cfg(time="06:30"), dt.datetime(2026, 11, 24), tz=BERLIN)
    with pytest.raises(ValueError):
        previous_due(make_cfg(time="06:30"), dt.datetime(2026, 11, 24), tz=BERLIN)


@pytest.mark.parametrize(
    "cfg",
    [
        make_cfg(time=None),  # daily without time
        make_cfg(time="23:00"),  # outside the window (validation forbids it)
        make_cfg(time="05:59"),
        make_cfg(time="kaputt"),
        make_cfg("hourly", every=None),
        make_cfg("hourly", every=0),
        make_cfg("weekly", time="06:30", days=()),
        make_cfg("monthly", time="06:30", day=None),
        make_cfg("monthly", time="06:30", day=32),
    ],
)
def test_configs_that_can_never_run_give_none_not_an_error(cfg: ExportConfig) -> None:
    after = at("2026-11-24T10:00:00+01:00")
    assert next_due(cfg, after, tz=BERLIN) is None
    assert previous_due(cfg, after, tz=BERLIN) is None
    assert due_times(cfg, after, tz=BERLIN, count=5) == []


def test_count_zero_gives_nothing() -> None:
    assert (
        due_times(make_cfg(time="06:30"), at("2026-11-24T10:00:00+01:00"), tz=BERLIN, count=0) == []
    )


# --- previous_due: catch-up -----------------------------------------------------------------


def test_previous_due_daemon_down_0500_to_0910_makes_up_today_0630() -> None:
    cfg = make_cfg(time="06:30")
    assert is_at(
        previous_due(cfg, at("2026-11-24T09:10:00+01:00"), tz=BERLIN), "2026-11-24T06:30:00+01:00"
    )
    # at 05:00 the last due time was yesterday's: so 06:30 today was missed
    assert is_at(
        previous_due(cfg, at("2026-11-24T05:00:00+01:00"), tz=BERLIN), "2026-11-23T06:30:00+01:00"
    )


def test_previous_due_down_several_days_only_the_most_recent() -> None:
    daily = make_cfg(time="06:30")
    assert is_at(
        previous_due(daily, at("2026-11-28T09:10:00+01:00"), tz=BERLIN), "2026-11-28T06:30:00+01:00"
    )
    hourly = make_cfg("hourly", every=15)
    assert is_at(
        previous_due(hourly, at("2026-11-28T09:10:00+01:00"), tz=BERLIN),
        "2026-11-28T09:00:00+01:00",
    )
    assert is_at(
        previous_due(hourly, at("2026-11-28T23:30:00+01:00"), tz=BERLIN),
        "2026-11-28T22:00:00+01:00",
    )
    assert is_at(
        previous_due(hourly, at("2026-11-28T05:59:00+01:00"), tz=BERLIN),
        "2026-11-27T22:00:00+01:00",
    )
    weekly = make_cfg("weekly", time="06:30", days=["mon", "fri"])
    assert is_at(
        previous_due(weekly, at("2026-12-03T09:00:00+01:00"), tz=BERLIN),
        "2026-11-30T06:30:00+01:00",
    )
    monthly = make_cfg("monthly", time="06:30", day=31)
    assert is_at(
        previous_due(monthly, at("2027-03-15T09:00:00+01:00"), tz=BERLIN),
        "2027-02-28T06:30:00+01:00",
    )


def test_previous_due_includes_the_moment_itself() -> None:
    cfg = make_cfg(time="06:30")
    assert is_at(
        previous_due(cfg, at("2026-11-24T06:30:00+01:00"), tz=BERLIN), "2026-11-24T06:30:00+01:00"
    )


def test_previous_due_before_start_is_none() -> None:
    cfg = make_cfg(time="06:30", start=dt.date(2026, 12, 1))
    assert previous_due(cfg, at("2026-11-30T23:00:00+01:00"), tz=BERLIN) is None
    assert previous_due(cfg, at("2026-12-01T06:29:00+01:00"), tz=BERLIN) is None
    assert is_at(
        previous_due(cfg, at("2026-12-01T06:30:00+01:00"), tz=BERLIN), "2026-12-01T06:30:00+01:00"
    )
    monthly = make_cfg("monthly", time="06:30", day=5, start=dt.date(2026, 12, 6))
    assert previous_due(monthly, at("2026-12-31T12:00:00+01:00"), tz=BERLIN) is None
    assert is_at(
        previous_due(monthly, at("2027-01-05T12:00:00+01:00"), tz=BERLIN),
        "2027-01-05T06:30:00+01:00",
    )


# --- zones that switch at midnight or inside the window --------------------------------------


def test_santiago_spring_forward_at_midnight() -> None:
    # 2026-09-06 00:00 (-04) jumps to 01:00 (-03): midnight of that day does not exist.
    cfg = make_cfg(time="06:30")
    times = due_times(cfg, at("2026-09-05T00:00:00-04:00"), tz=SANTIAGO, count=3)
    assert iso(times) == [
        "2026-09-05T06:30:00-04:00",
        "2026-09-06T06:30:00-03:00",
        "2026-09-07T06:30:00-03:00",
    ]
    assert iso(t.astimezone(UTC) for t in times) == [
        "2026-09-05T10:30:00+00:00",
        "2026-09-06T09:30:00+00:00",
        "2026-09-07T09:30:00+00:00",
    ]
    started = make_cfg(time="06:30", start=dt.date(2026, 9, 6))
    assert is_at(
        next_due(started, at("2026-09-01T00:00:00-04:00"), tz=SANTIAGO), "2026-09-06T06:30:00-03:00"
    )
    hourly = make_cfg("hourly", every=60, start=dt.date(2026, 9, 6))
    assert is_at(
        next_due(hourly, at("2026-09-01T00:00:00-04:00"), tz=SANTIAGO), "2026-09-06T06:00:00-03:00"
    )


def test_santiago_fall_back_at_midnight() -> None:
    # 2026-04-05 00:00 (-03) falls back to 2026-04-04 23:00 (-04): 23:00–24:00 twice.
    cfg = make_cfg(time="22:00")
    assert iso(due_times(cfg, at("2026-04-04T00:00:00-03:00"), tz=SANTIAGO, count=2)) == [
        "2026-04-04T22:00:00-03:00",
        "2026-04-05T22:00:00-04:00",
    ]
    # in the repeated hour, the last due time is still 22:00 -03
    assert is_at(
        previous_due(cfg, at("2026-04-04T23:30:00-04:00"), tz=SANTIAGO), "2026-04-04T22:00:00-03:00"
    )
    hourly = make_cfg("hourly", every=60)
    times = due_times(hourly, at("2026-04-04T00:00:00-03:00"), tz=SANTIAGO, count=34)
    assert iso(times[:17]) == [f"2026-04-04T{h:02d}:00:00-03:00" for h in range(6, 23)]
    assert iso(times[17:]) == [f"2026-04-05T{h:02d}:00:00-04:00" for h in range(6, 23)]


def test_apia_skipped_day_2011_12_30() -> None:
    # Samoa went from 2011-12-29 23:59 (-10) straight to 2011-12-31 00:00 (+14).
    times = due_times(make_cfg(time="06:30"), at("2011-12-29T00:00:00-10:00"), tz=APIA, count=2)
    assert iso(times) == ["2011-12-29T06:30:00-10:00", "2011-12-31T06:30:00+14:00"]
    assert is_at(
        previous_due(make_cfg(time="06:30"), at("2011-12-31T06:00:00+14:00"), tz=APIA),
        "2011-12-29T06:30:00-10:00",
    )


def test_gap_inside_the_window_runs_at_the_first_instant_after_it() -> None:
    # AT_NOON: 2026-03-29 12:00 (+01) jumps to 13:00 (+02).
    times = due_times(make_cfg(time="12:30"), at("2026-03-28T00:00:00+01:00"), tz=AT_NOON, count=3)
    assert iso(times) == [
        "2026-03-28T12:30:00+01:00",
        "2026-03-29T13:00:00+02:00",
        "2026-03-30T12:30:00+02:00",
    ]
    assert is_at(
        next_due(make_cfg(time="12:00"), at("2026-03-29T00:00:00+01:00"), tz=AT_NOON),
        "2026-03-29T13:00:00+02:00",
    )
    # hourly: 12:00, 12:15, 12:30, 12:45 all fall on 13:00, which runs once
    hourly = make_cfg("hourly", every=15)
    day = due_times(hourly, at("2026-03-29T00:00:00+01:00"), tz=AT_NOON, count=61)
    assert iso(day) == (
        hourly_times("2026-03-29", "+01:00", 15)[:24]  # 06:00 … 11:45
        + hourly_times("2026-03-29", "+02:00", 15, first="13:00")  # 13:00 … 22:00
    )
    # 11:45 +01 → 13:00 +02 is 15 minutes of real time (subtract in UTC: datetimes sharing a
    # tzinfo subtract their wall readings)
    assert utc(day[24]) - utc(day[23]) == dt.timedelta(minutes=15)


def test_ambiguous_hour_inside_the_window_runs_once_at_the_first_occurrence() -> None:
    # AT_NOON: 2026-10-25 12:00 (+02) falls back to 11:00 (+01): 11:00–12:00 twice.
    assert is_at(
        next_due(make_cfg(time="11:30"), at("2026-10-25T00:00:00+02:00"), tz=AT_NOON),
        "2026-10-25T11:30:00+02:00",
    )
    hourly = make_cfg("hourly", every=15)
    day = due_times(hourly, at("2026-10-25T00:00:00+02:00"), tz=AT_NOON, count=66)
    assert iso(day[:65]) == (
        hourly_times("2026-10-25", "+02:00", 15)[:24]  # 06:00 … 11:45, first occurrences
        + hourly_times("2026-10-25", "+01:00", 15, first="12:00")
    )
    assert day[65].isoformat() == "2026-10-26T06:00:00+01:00"
    # in the second 11:00–12:00 nothing is due; the last due time is the first 11:45
    assert is_at(
        previous_due(hourly, at("2026-10-25T11:40:00+01:00"), tz=AT_NOON),
        "2026-10-25T11:45:00+02:00",
    )
    # the same moment as a fold=1 datetime of the zone itself
    second_1140 = dt.datetime(2026, 10, 25, 11, 40, fold=1, tzinfo=AT_NOON)
    assert second_1140.isoformat() == "2026-10-25T11:40:00+01:00"
    assert is_at(next_due(hourly, second_1140, tz=AT_NOON), "2026-10-25T12:00:00+01:00")
    assert is_at(previous_due(hourly, second_1140, tz=AT_NOON), "2026-10-25T11:45:00+02:00")


def test_switch_at_0600_first_run_after_the_gap() -> None:
    # AT_SIX: 2026-03-29 06:00 (+01) jumps to 07:00 (+02).
    hourly = make_cfg("hourly", every=15)
    day = due_times(hourly, at("2026-03-29T00:00:00+01:00"), tz=AT_SIX, count=61)
    assert iso(day) == hourly_times("2026-03-29", "+02:00", 15, first="07:00")
    assert is_at(
        next_due(make_cfg(time="06:00"), at("2026-03-29T00:00:00+01:00"), tz=AT_SIX),
        "2026-03-29T07:00:00+02:00",
    )
    # AT_0530: 05:30 jumps to 06:30, so 06:00 and 06:15 fall on 06:30
    day = due_times(hourly, at("2026-03-29T00:00:00+01:00"), tz=AT_0530, count=63)
    assert iso(day) == hourly_times("2026-03-29", "+02:00", 15, first="06:30")


def test_gap_pushing_past_2200_drops_that_run() -> None:
    # AT_2200: 2026-03-29 22:00 (+01) jumps to 23:00 (+02): outside the window, no run.
    daily = make_cfg(time="22:00")
    assert iso(due_times(daily, at("2026-03-28T00:00:00+01:00"), tz=AT_2200, count=2)) == [
        "2026-03-28T22:00:00+01:00",
        "2026-03-30T22:00:00+02:00",
    ]
    assert is_at(
        previous_due(daily, at("2026-03-29T23:30:00+02:00"), tz=AT_2200),
        "2026-03-28T22:00:00+01:00",
    )
    hourly = make_cfg("hourly", every=15)
    day = due_times(hourly, at("2026-03-29T00:00:00+01:00"), tz=AT_2200, count=65)
    assert iso(day[:64]) == hourly_times("2026-03-29", "+01:00", 15)[:64]  # … 21:45
    assert day[64].isoformat() == "2026-03-30T06:00:00+02:00"
    # fall back at 22:00 (+02) to 21:00 (+01): 21:30 once, 22:00 after the repeat
    assert is_at(
        next_due(make_cfg(time="21:30"), at("2026-10-25T00:00:00+02:00"), tz=AT_2200),
        "2026-10-25T21:30:00+02:00",
    )
    day = due_times(hourly, at("2026-10-25T00:00:00+02:00"), tz=AT_2200, count=65)
    assert iso(day) == [*hourly_times("2026-10-25", "+02:00", 15)[:64], "2026-10-25T22:00:00+01:00"]


# --- an independent oracle ------------------------------------------------------------------

WINDOW = (dt.time(6, 0), dt.time(22, 0))


def oracle(
    slots: set[dt.time],
    date_ok: Callable[[dt.date], bool],
    tz: ZoneInfo,
    after: dt.datetime,
    until: dt.datetime,
) -> list[dt.datetime]:
    """Due instants in (after, until] by walking UTC minute by minute (only UTC → local).

    A wall time is due the first time the local clock shows it; a wall time the clock skips
    (gap) is due at the instant the clock jumps over it; the instant must show the same date
    and lie inside the window.
    """
    minute = dt.timedelta(minutes=1)
    after, until = utc(after), utc(until)
    u = after.replace(second=0, microsecond=0) - dt.timedelta(days=1)
    seen: set[dt.datetime] = set()
    prev = (u - minute).astimezone(tz).replace(tzinfo=None)
    out = []
    while u <= until:
        wall = u.astimezone(tz).replace(tzinfo=None)
        shown = [wall]
        if wall - prev > minute:  # the clock jumped: the skipped minutes come due now
            shown = [prev + minute * k for k in range(1, (wall - prev) // minute + 1)]
        due = False
        for w in shown:
            if w in seen:
                continue
            seen.add(w)
            if (
                w.time() in slots
                and date_ok(w.date())
                and w.date() == wall.date()
                and WINDOW[0] <= wall.time() <= WINDOW[1]
            ):
                due = True
        if due and u > after:
            out.append(u.astimezone(tz))
        prev = wall
        u += minute
    return out


def cfg_slots(cfg: ExportConfig) -> set[dt.time]:
    if cfg.interval.kind == "hourly":
        every = cfg.interval.every_minutes
        assert every
        return {dt.time(m // 60, m % 60) for m in range(360, 22 * 60 + 1, every)}
    assert cfg.time
    return {dt.time.fromisoformat(cfg.time)}


def cfg_date_ok(cfg: ExportConfig) -> Callable[[dt.date], bool]:
    import calendar

    def ok(d: dt.date) -> bool:
        if cfg.start is not None and d < cfg.start:
            return False
        iv = cfg.interval
        if iv.kind == "weekly":
            return WEEKDAYS[d.weekday()] in iv.days
        if iv.kind == "monthly":
            assert iv.day
            return d.day == min(iv.day, calendar.monthrange(d.year, d.month)[1])
        return True

    return ok


@pytest.mark.parametrize("tz", [AT_NOON, AT_SIX, AT_2200, AT_0530, BERLIN])
@pytest.mark.parametrize("day", ["2026-03-29", "2026-10-25"])
def test_hourly_5_on_switch_days_matches_the_oracle(tz: ZoneInfo, day: str) -> None:
    cfg = make_cfg("hourly", every=5)
    after = dt.datetime.fromisoformat(f"{day}T00:00").replace(tzinfo=UTC) - dt.timedelta(hours=3)
    until = after + dt.timedelta(days=2)
    expected = oracle(cfg_slots(cfg), cfg_date_ok(cfg), tz, after, until)
    got = [t for t in due_times(cfg, after, tz=tz, count=600) if utc(t) <= until]
    assert iso(got) == iso(expected)


def test_nothing_outside_the_window_over_a_year_in_several_zones() -> None:
    zones = [BERLIN, SANTIAGO, APIA, AT_NOON, AT_SIX, AT_2200, AT_0530]
    zones += [ZoneInfo(k) for k in ("Australia/Lord_Howe", "America/Havana", "Asia/Beirut")]
    cfg = make_cfg("hourly", every=30)
    for tz in zones:
        after = dt.datetime(2026, 1, 1, tzinfo=tz)
        times = due_times(cfg, after, tz=tz, count=33 * 365)
        for prev, t in itertools.pairwise(times):
            assert utc(prev) < utc(t)
        for t in times:
            local = t.astimezone(tz)
            assert dt.time(6, 0) <= local.time() <= dt.time(22, 0), (tz, t)


# --- property: random configs, random zones -------------------------------------------------

ZONES = [
    BERLIN,
    SANTIAGO,
    APIA,
    ZoneInfo("Australia/Lord_Howe"),  # 30-minute DST
    ZoneInfo("America/Havana"),
    ZoneInfo("Asia/Beirut"),
    ZoneInfo("America/St_Johns"),
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("UTC"),
    AT_NOON,
    AT_SIX,
    AT_2200,
    AT_0530,
]
SWITCH_DAYS = [
    dt.datetime(2026, 3, 29),
    dt.datetime(2026, 10, 25),
    dt.datetime(2026, 4, 5),
    dt.datetime(2026, 9, 6),
    dt.datetime(2011, 12, 30),
    dt.datetime(2026, 4, 5),
    dt.datetime(2026, 10, 4),
]


@st.composite
def configs(draw: st.DrawFn) -> ExportConfig:
    kind = draw(st.sampled_from(["hourly", "daily", "weekly", "monthly"]))
    start = draw(st.none() | st.dates(dt.date(2011, 11, 1), dt.date(2027, 12, 31)))
    if kind == "hourly":
        return make_cfg(kind, every=draw(st.sampled_from([5, 10, 15, 20, 30, 60])), start=start)
    hour = draw(st.integers(6, 22))
    minute = 0 if hour == 22 else draw(st.integers(0, 59))
    # often a time in or at the edge of a test zone's gap or repeated hour
    edgy = st.sampled_from(["06:00", "06:10", "06:45", "11:20", "12:00", "12:30", "21:30", "22:00"])
    time = draw(edgy | st.just(f"{hour:02d}:{minute:02d}"))
    days = draw(st.sets(st.sampled_from(WEEKDAYS), min_size=1)) if kind == "weekly" else ()
    day = draw(st.integers(1, 31)) if kind == "monthly" else None
    return make_cfg(kind, time=time, days=sorted(days, key=WEEKDAYS.index), day=day, start=start)


@st.composite
def moments(draw: st.DrawFn) -> tuple[ZoneInfo, dt.datetime]:
    tz = draw(st.sampled_from(ZONES))
    near = draw(st.sampled_from(SWITCH_DAYS))
    naive = draw(
        st.datetimes(near - dt.timedelta(days=3), near + dt.timedelta(days=2))
        | st.datetimes(dt.datetime(2011, 1, 1), dt.datetime(2035, 12, 31))
    )
    fold = draw(st.sampled_from([0, 1]))
    return tz, naive.replace(tzinfo=tz, fold=fold)


@given(cfg=configs(), moment=moments(), count=st.integers(1, 40))
def test_property_due_times_are_consistent(
    cfg: ExportConfig, moment: tuple[ZoneInfo, dt.datetime], count: int
) -> None:
    tz, after = moment
    times = due_times(cfg, after, tz=tz, count=count)
    # compare in UTC / as ISO text: datetimes sharing a tzinfo compare by wall reading
    assert len(times) == count
    assert utc(times[0]) > utc(after)
    assert same(next_due(cfg, after, tz=tz), times[0])
    for a, b in itertools.pairwise(times):
        assert utc(a) < utc(b)
        assert same(next_due(cfg, a, tz=tz), b)
    for t in times:
        assert t.tzinfo is tz
        assert dt.time(6, 0) <= t.time() <= dt.time(22, 0)
        assert cfg.start is None or t.date() >= cfg.start
        assert same(previous_due(cfg, t, tz=tz), t)
    before = previous_due(cfg, after, tz=tz)
    if before is not None:
        assert utc(before) <= utc(after)
        assert same(next_due(cfg, before, tz=tz), times[0])
        assert cfg.start is None or before.date() >= cfg.start


@given(cfg=configs(), moment=moments())
def test_property_matches_the_minute_by_minute_oracle(
    cfg: ExportConfig, moment: tuple[ZoneInfo, dt.datetime]
) -> None:
    tz, after = moment
    until = utc(after) + dt.timedelta(days=3)
    expected = oracle(cfg_slots(cfg), cfg_date_ok(cfg), tz, after, until)
    got = [t for t in due_times(cfg, after, tz=tz, count=700) if utc(t) <= until]
    assert iso(got) == iso(expected)


# --- CLI output and --from ----------------------------------------------------------------


def test_format_due_times_one_iso_line_each() -> None:
    times = due_times(make_cfg(time="06:30"), at("2026-11-23T12:00:00+01:00"), tz=BERLIN, count=2)
    assert format_due_times(times) == "2026-11-24T06:30:00+01:00\n2026-11-25T06:30:00+01:00"
    assert format_due_times([]) == ""


def test_parse_moment() -> None:
    assert parse_moment("2026-11-24T06:00", BERLIN).isoformat() == "2026-11-24T06:00:00+01:00"
    assert parse_moment("2026-11-24", BERLIN).isoformat() == "2026-11-24T00:00:00+01:00"
    assert parse_moment("2026-11-24T05:00:00Z", BERLIN).isoformat() == "2026-11-24T06:00:00+01:00"
    assert parse_moment("2026-03-29T02:30", BERLIN).isoformat() == "2026-03-29T03:00:00+02:00"
    assert parse_moment("2026-10-25T02:30", BERLIN).isoformat() == "2026-10-25T02:30:00+02:00"
    with pytest.raises(ValueError):
        parse_moment("morgen", BERLIN)


# --- fingerprint ------------------------------------------------------------------------------


def test_fingerprint_covers_only_schedule_fields() -> None:
    base = make_cfg(time="06:30", start=dt.date(2026, 12, 1))
    import dataclasses

    same = dataclasses.replace(
        base, name="Anders", branch="10", target=Target(host="ftp.example.org", user="u")
    )
    assert schedule_fingerprint(same) == schedule_fingerprint(base)
    assert schedule_fingerprint(dataclasses.replace(base, time="06:45")) != schedule_fingerprint(
        base
    )
    assert schedule_fingerprint(dataclasses.replace(base, start=None)) != schedule_fingerprint(base)
    weekly = make_cfg("weekly", time="06:30", start=dt.date(2026, 12, 1), days=["mon"])
    assert schedule_fingerprint(weekly) != schedule_fingerprint(base)
    # a stale value that does not apply to the kind does not count
    stale = dataclasses.replace(base, interval=Interval(kind="daily", day=5, every_minutes=15))
    assert schedule_fingerprint(stale) == schedule_fingerprint(base)


def test_window_opening_is_the_next_0600_local() -> None:
    assert is_at(
        window_opening(at("2026-11-24T23:00:00+01:00"), BERLIN), "2026-11-25T06:00:00+01:00"
    )
    assert is_at(
        window_opening(at("2026-11-25T05:00:00+00:00"), BERLIN), "2026-11-26T06:00:00+01:00"
    )
    # a switch at 06:00 (no 06:00 that day): the first instant after the gap
    assert is_at(
        window_opening(at("2026-03-29T00:00:00+01:00"), AT_SIX), "2026-03-29T07:00:00+02:00"
    )
