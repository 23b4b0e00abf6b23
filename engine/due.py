"""When an export configuration is due: THE definition of "due" (SPEC §3, docs/schedule.md).

`due_times` / `next_due` / `previous_due` are pure functions of (config, instant, zone): no
clock, no timer. `buchex schedule` prints them, the TUI shows them and the daemon's timer
(`engine.schedule.ConfigScheduler`) fires on them.

Model: a config has a set of wall-clock *slots* (hourly: 06:00, 06:00+N, … ≤ 22:00; else its
`time`) on a set of *dates* (every day, chosen weekdays, or day D of each month clamped to the
month's last day), never before `start`. Each (date, slot) is turned into an instant in the
configured zone: an ambiguous wall time (fall back) is its first occurrence (fold=0); a wall
time inside a gap (spring forward) is the first instant after the gap. An instant whose local
time then lies outside 06:00–22:00 or on another date is dropped, so every due time is inside
the window. Instants that coincide (several slots in one gap) count once.

Everything is computed per candidate date with a bisection over the day's slots: a next or
previous due time costs a handful of zone conversions, never a scan minute by minute.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import itertools
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from engine.clock import require_aware, utc
from engine.config import ExportConfig
from engine.fields import WINDOW_END, WINDOW_START

__all__ = [
    "WEEKDAYS",
    "due_times",
    "format_due_times",
    "next_due",
    "parse_moment",
    "previous_due",
    "schedule_fingerprint",
    "window_opening",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ONE_DAY = dt.timedelta(days=1)
# Candidate dates in a row that produce no due time before we call a config "never due".
# Only a pathological zone (a whole day skipped, a gap swallowing the slot) produces misses;
# valid configs hit on the first or second candidate date.
_MAX_EMPTY_DATES = 64


# --- the definition of "due" --------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """The schedule-relevant part of a config, validated and normalised."""

    slots: tuple[dt.time, ...]  # sorted wall-clock times of day, all inside the window
    weekdays: frozenset[int] | None  # weekly: date.weekday() values; None: not weekly
    month_day: int | None  # monthly: 1..31, clamped to the month's last day
    start: dt.date | None


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _parse_hhmm(text: object) -> dt.time | None:
    if not isinstance(text, str):
        return None
    hh, sep, mm = text.strip().partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit():
        return None
    try:
        return dt.time(int(hh), int(mm))
    except ValueError:
        return None


def _plan(cfg: ExportConfig) -> _Plan | None:
    """None when the config can never be due (invalid or incomplete schedule fields)."""
    interval = cfg.interval
    kind = interval.kind
    if kind == "hourly":
        every = interval.every_minutes
        if not isinstance(every, int) or isinstance(every, bool) or every <= 0:
            return None
        # "On the clock": anchored at the window start, last slot at most the window end.
        first, last = _minutes(WINDOW_START), _minutes(WINDOW_END)
        slots = tuple(dt.time(m // 60, m % 60) for m in range(first, last + 1, every))
    elif kind in ("daily", "weekly", "monthly"):
        t = _parse_hhmm(cfg.time)
        if t is None or not WINDOW_START <= t <= WINDOW_END:
            return None  # validation forbids it; never schedule outside the window anyway
        slots = (t,)
    else:
        return None

    weekdays: frozenset[int] | None = None
    month_day: int | None = None
    if kind == "weekly":
        weekdays = frozenset(WEEKDAYS.index(d) for d in interval.days if d in WEEKDAYS)
        if not weekdays:
            return None
    elif kind == "monthly":
        day = interval.day
        if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 31:
            return None
        month_day = day

    start = cfg.start
    if isinstance(start, dt.datetime):
        start = start.date()
    return _Plan(slots=slots, weekdays=weekdays, month_day=month_day, start=start)


def _month_date(year: int, month: int, day: int) -> dt.date:
    """Day `day` of the month, or the month's last day if it is shorter."""
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _dates_forward(plan: _Plan, first: dt.date) -> Iterator[dt.date]:
    """Candidate dates ≥ first (and ≥ start), ascending; computed directly, not by scanning."""
    d = max(first, plan.start) if plan.start is not None else first
    try:
        if plan.month_day is not None:
            y, m = d.year, d.month
            if _month_date(y, m, plan.month_day) < d:
                y, m = _shift_month(y, m, 1)
            while y <= dt.MAXYEAR:
                yield _month_date(y, m, plan.month_day)
                y, m = _shift_month(y, m, 1)
            return
        while True:
            if plan.weekdays is None or d.weekday() in plan.weekdays:
                yield d
            d += _ONE_DAY
    except OverflowError:  # ran past date.max: no further dates
        return


def _dates_backward(plan: _Plan, last: dt.date) -> Iterator[dt.date]:
    """Candidate dates ≤ last and ≥ start, descending."""
    stop = plan.start if plan.start is not None else dt.date.min
    try:
        if plan.month_day is not None:
            y, m = last.year, last.month
            if _month_date(y, m, plan.month_day) > last:
                y, m = _shift_month(y, m, -1)
            while y >= dt.MINYEAR:
                candidate = _month_date(y, m, plan.month_day)
                if candidate < stop:
                    return
                yield candidate
                y, m = _shift_month(y, m, -1)
            return
        d = last
        while d >= stop:
            if plan.weekdays is None or d.weekday() in plan.weekdays:
                yield d
            d -= _ONE_DAY
    except OverflowError:
        return


def _localize(wall: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The instant (in UTC) a naive wall-clock time in `tz` stands for.

    Existing or ambiguous: the first occurrence (fold=0). Inside a gap: the first instant
    after the gap (the transition itself), found by bisection over whole seconds between the
    two readings PEP 495 gives for a gap; transitions fall on whole seconds.
    """
    first = wall.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)
    local = first.astimezone(tz)
    if local.replace(tzinfo=None) == wall:
        return first
    # Gap: fold=0 reads the wall time with the offset before the jump, fold=1 with the one
    # after; the transition lies between the two readings.
    other = wall.replace(tzinfo=tz, fold=1).astimezone(dt.UTC)
    lo_dt, hi_dt = sorted((first, other))
    lo, hi = math.floor(lo_dt.timestamp()), math.ceil(hi_dt.timestamp())

    def reached(seconds: int) -> bool:
        return dt.datetime.fromtimestamp(seconds, tz).replace(tzinfo=None) >= wall

    if reached(lo):
        return dt.datetime.fromtimestamp(lo, dt.UTC)
    if not reached(hi):
        return first  # unexpected zone data; the window/date check decides about it
    while hi - lo > 1:  # invariant: not reached(lo), reached(hi)
        mid = (lo + hi) // 2
        if reached(mid):
            hi = mid
        else:
            lo = mid
    return dt.datetime.fromtimestamp(hi, dt.UTC)


def _instant_key(d: dt.date, tz: ZoneInfo) -> Callable[[dt.time], dt.datetime]:
    return lambda t: _localize(dt.datetime.combine(d, t), tz)


def _valid(instant: dt.datetime, d: dt.date, tz: ZoneInfo) -> bool:
    """Still on its date and inside the window after gap resolution."""
    local = instant.astimezone(tz)
    return local.date() == d and WINDOW_START <= local.time() <= WINDOW_END


def _forward(plan: _Plan, after: dt.datetime, tz: ZoneInfo) -> Iterator[dt.datetime]:
    """Due times strictly after `after`, strictly increasing, in `tz`."""
    last = utc(after)
    try:
        # Start one day early: only a transition of many hours could put a due time of the
        # previous local date after `after`, but it costs one bisection to be sure.
        local_date = after.astimezone(tz).date()
        first = local_date - _ONE_DAY if local_date > dt.date.min else local_date
        empty = 0
        for d in _dates_forward(plan, first):
            key = _instant_key(d, tz)
            # Instants grow with the wall time within a date (fold=0, gaps resolved forward),
            # so bisection finds the first slot after `last`.
            index = bisect.bisect_right(plan.slots, last, key=key)
            found = False
            for t in plan.slots[index:]:
                instant = key(t)
                if instant > last and _valid(instant, d, tz):
                    yield instant.astimezone(tz)
                    last = instant
                    found = True
            empty = 0 if found else empty + 1
            if empty > _MAX_EMPTY_DATES:
                return
    except OverflowError:  # beyond datetime's range
        return


def due_times(
    cfg: ExportConfig, after: dt.datetime, *, tz: ZoneInfo, count: int
) -> list[dt.datetime]:
    """The next `count` due times strictly after `after` (aware, in `tz`), ascending."""
    require_aware(after, "after")
    plan = _plan(cfg)
    if plan is None or count <= 0:
        return []
    return list(itertools.islice(_forward(plan, after, tz), count))


def next_due(cfg: ExportConfig, after: dt.datetime, *, tz: ZoneInfo) -> dt.datetime | None:
    """The first due time strictly after `after`; None if the config can never run."""
    require_aware(after, "after")
    plan = _plan(cfg)
    if plan is None:
        return None
    return next(_forward(plan, after, tz), None)


def previous_due(
    cfg: ExportConfig, at_or_before: dt.datetime, *, tz: ZoneInfo
) -> dt.datetime | None:
    """The latest due time ≤ `at_or_before` (never before start); None if there is none.

    The daemon uses it to make up a run missed while it was down: only the most recent
    missed due time counts, however many were missed.
    """
    require_aware(at_or_before, "at_or_before")
    plan = _plan(cfg)
    if plan is None:
        return None
    try:
        moment = utc(at_or_before)
        local_date = at_or_before.astimezone(tz).date()
        last = local_date + _ONE_DAY if local_date < dt.date.max else local_date
        for empty, d in enumerate(_dates_backward(plan, last)):
            if empty > _MAX_EMPTY_DATES:
                return None
            key = _instant_key(d, tz)
            index = bisect.bisect_right(plan.slots, moment, key=key)
            for t in reversed(plan.slots[:index]):
                instant = key(t)
                if _valid(instant, d, tz):
                    return instant.astimezone(tz)
    except OverflowError:
        return None
    return None


def format_due_times(times: list[dt.datetime]) -> str:
    """One ISO 8601 local date-time with offset per line (`2026-11-24T06:30:00+01:00`)."""
    return "\n".join(t.isoformat(timespec="seconds") for t in times)


def parse_moment(text: str, tz: ZoneInfo) -> dt.datetime:
    """`--from` of `buchex schedule`: ISO date or date-time; without offset it is local in tz.

    A local time without offset follows the same rules as due times: ambiguous means the
    first occurrence, a time in a gap the first instant after it.
    """
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"„{text}“ ist kein ISO-8601-Zeitpunkt (z. B. 2026-11-24T06:00)") from exc
    if moment.tzinfo is None:
        return _localize(moment, tz).astimezone(tz)
    return moment.astimezone(tz)


def schedule_fingerprint(cfg: ExportConfig) -> str:
    """The fields that decide when `cfg` is due, canonically: equal strings, equal schedules.

    Fields that do not apply to the interval kind are left out (a stale `day` on a daily
    config does not count). The time zone is not part of a config; `ConfigScheduler`
    compares it separately.
    """
    interval = cfg.interval
    data: dict[str, object] = {
        "start": cfg.start.isoformat() if cfg.start else None,
        "kind": interval.kind,
    }
    if interval.kind == "hourly":
        data["every_minutes"] = interval.every_minutes
    else:
        data["time"] = cfg.time
    if interval.kind == "weekly":
        data["days"] = [d for d in WEEKDAYS if d in interval.days]  # order-insensitive
    if interval.kind == "monthly":
        data["day"] = interval.day
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


_WINDOW_OPENINGS = _Plan(slots=(WINDOW_START,), weekdays=None, month_day=None, start=None)


def window_opening(after: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
    """The next 06:00 local strictly after `after` (same DST rules as due times): when a run
    missed at night is made up."""
    return next(_forward(_WINDOW_OPENINGS, after, tz), None)
