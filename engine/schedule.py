"""When an export configuration is due, and the `schedule`-library integration of the daemon.

`due_times` / `next_due` / `previous_due` are THE definition of "due" (SPEC §3,
docs/schedule.md): `buchex schedule` prints them and the daemon fires on them.

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
import contextlib
import datetime as dt
import functools
import itertools
import json
import logging
import math
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import schedule

from engine.config import ExportConfig
from engine.fields import WINDOW_END, WINDOW_START

logger = logging.getLogger(__name__)

__all__ = [
    "WEEKDAYS",
    "Clock",
    "ConfigScheduler",
    "DueCallback",
    "ManualClock",
    "SystemClock",
    "TimeZoneError",
    "due_times",
    "format_due_times",
    "next_due",
    "parse_moment",
    "previous_due",
    "resolve_tz",
    "schedule_fingerprint",
    "system_tz",
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


def _utc(moment: dt.datetime) -> dt.datetime:
    """Instants are compared and subtracted in UTC only: Python compares two datetimes that
    share a tzinfo by their wall-clock reading, ignoring `fold`, which is wrong in the
    repeated hour of a fall-back."""
    return moment.astimezone(dt.UTC)


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


def _require_aware(moment: dt.datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} braucht eine Zeitangabe mit Zeitzone: {moment.isoformat()}")


def _forward(plan: _Plan, after: dt.datetime, tz: ZoneInfo) -> Iterator[dt.datetime]:
    """Due times strictly after `after`, strictly increasing, in `tz`."""
    last = _utc(after)
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
    _require_aware(after, "after")
    plan = _plan(cfg)
    if plan is None or count <= 0:
        return []
    return list(itertools.islice(_forward(plan, after, tz), count))


def next_due(cfg: ExportConfig, after: dt.datetime, *, tz: ZoneInfo) -> dt.datetime | None:
    """The first due time strictly after `after`; None if the config can never run."""
    _require_aware(after, "after")
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
    _require_aware(at_or_before, "at_or_before")
    plan = _plan(cfg)
    if plan is None:
        return None
    try:
        moment = _utc(at_or_before)
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


# --- time zones -------------------------------------------------------------------------


class TimeZoneError(ValueError):
    """An unknown time zone name."""


def resolve_tz(name: str | None) -> ZoneInfo:
    """`name` as an IANA zone (`Europe/Berlin`); None or "" means the system zone."""
    if name is None or not name.strip():
        return system_tz()
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeZoneError(f"unbekannte Zeitzone „{name.strip()}“ (z. B. Europe/Berlin)") from exc


def _key_from_path(path: str) -> str | None:
    """`/usr/share/zoneinfo/Europe/Berlin` (also relative or posix/…) → `Europe/Berlin`."""
    marker = "zoneinfo/"
    if marker not in path:
        return None
    key = path.rsplit(marker, 1)[1].removeprefix("posix/")
    return key or None


def _try_zone(key: str | None) -> ZoneInfo | None:
    if not key:
        return None
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def system_tz(
    *,
    environ: Mapping[str, str] | None = None,
    localtime: Path = Path("/etc/localtime"),
    timezone_file: Path = Path("/etc/timezone"),
) -> ZoneInfo:
    """The system's local zone without third-party helpers.

    Order: `$TZ` (IANA name or zoneinfo path, optionally with leading ":"), the target of
    the `/etc/localtime` symlink, `/etc/timezone`, the contents of a copied
    `/etc/localtime`; else UTC with a logged warning. A POSIX rule string in `$TZ`
    (`CET-1CEST,…`) is not an IANA name: warned about and skipped.
    """
    env = os.environ if environ is None else environ
    raw = env.get("TZ", "").strip().removeprefix(":")
    if raw:
        zone = _try_zone(_key_from_path(raw) if raw.startswith("/") else raw)
        if zone is None and raw.startswith("/"):
            zone = _zone_from_file(Path(raw))
        if zone is not None:
            return zone
        logger.warning("TZ=%s ist keine bekannte Zeitzone; nehme die Systemeinstellung", raw)

    try:
        target = os.readlink(localtime)
    except OSError:
        target = None
    if target is not None and (zone := _try_zone(_key_from_path(target))) is not None:
        return zone

    try:
        name = timezone_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        name = ""
    if (zone := _try_zone(name)) is not None:
        return zone

    if (zone := _zone_from_file(localtime)) is not None:
        return zone

    logger.warning(
        "Systemzeitzone nicht ermittelbar (weder $TZ noch %s noch %s); "
        "verwende UTC. Zeitzone bitte ausdrücklich angeben.",
        localtime,
        timezone_file,
    )
    return ZoneInfo("UTC")


def _zone_from_file(path: Path) -> ZoneInfo | None:
    try:
        with path.open("rb") as fh:
            return ZoneInfo.from_file(fh, key=str(path))
    except (OSError, ValueError):
        return None


# --- clocks and the daemon's scheduler -------------------------------------------------------


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock for tests: stands still until set or advanced."""

    def __init__(self, start: dt.datetime) -> None:
        _require_aware(start, "ManualClock")
        self._now = start

    def now(self) -> dt.datetime:
        return self._now

    def set(self, moment: dt.datetime) -> None:
        _require_aware(moment, "ManualClock.set")
        self._now = moment

    def advance(self, delta: dt.timedelta | None = None, /, **units: float) -> dt.datetime:
        """Move forward by `delta` and/or timedelta keywords (`minutes=15`); returns now."""
        step = (delta or dt.timedelta()) + dt.timedelta(**units)
        # elapsed time, not wall-clock arithmetic (which a ZoneInfo-aware datetime does)
        self._now = (_utc(self._now) + step).astimezone(self._now.tzinfo)
        return self._now


DueCallback = Callable[[str, dt.datetime], None]


class _ConfigJob(schedule.Job):
    """A `schedule.Job` whose next run comes from `next_due`, on an injected clock.

    `next_run` holds an aware instant (schedule itself keeps naive process-local times),
    so the wrapped scheduler must only be driven through `ConfigScheduler`, whose
    `run_pending` uses `should_run`/`run` of this class and never `datetime.now()`.
    """

    def __init__(
        self,
        scheduler: schedule.Scheduler,
        cfg: ExportConfig,
        *,
        tz: ZoneInfo,
        fingerprint: str,
        clock: Clock,
        grace: dt.timedelta,
        fire_first_at: dt.datetime | None,
    ) -> None:
        super().__init__(1, scheduler)
        self.config_id = cfg.id
        self.cfg = cfg
        self.tz = tz
        self.fingerprint = fingerprint
        self._clock = clock
        self._grace = grace
        self._fire_first_at = fire_first_at  # a make-up run, fired on the next run_pending
        self._last_due: dt.datetime | None = None  # due time of the last callback
        self.tag(cfg.id)

    def __repr__(self) -> str:
        when = self.next_run.isoformat() if self.next_run else "nie"
        return f"<ConfigJob {self.config_id!r} next {when} fp {self.fingerprint}>"

    @property
    def should_run(self) -> bool:
        return self.next_run is not None and _utc(self._clock.now()) >= _utc(self.next_run)

    def __lt__(self, other: schedule.Job) -> bool:
        # schedule sorts runnable jobs with this; compare instants, not wall readings
        if self.next_run is None or other.next_run is None:
            return other.next_run is None and self.next_run is not None
        return _utc(self.next_run) < _utc(other.next_run)

    def run(self) -> None:
        now = self._clock.now()
        due = previous_due(self.cfg, now, tz=self.tz)
        if due is None or (self._last_due is not None and _utc(due) <= _utc(self._last_due)):
            self._schedule_next_run()  # nothing new due (clock set back): just look ahead
            return
        if not _inside_window(now, self.tz) and _utc(now) - _utc(due) > self._grace:
            # Woke up long after a due time and outside the window (suspend, overload): the
            # missed run is made up once when the window opens, never at night (SPEC §3).
            opening = _window_opening(now, self.tz)
            if opening is not None:
                logger.info(
                    "Schnittstelle %s: Lauf von %s verpasst, wird um %s nachgeholt",
                    self.config_id,
                    due.isoformat(),
                    opening.isoformat(),
                )
                self.next_run = opening
                return
        self._last_due = due
        self.last_run = now
        assert self.job_func is not None  # set by do()
        try:
            self.job_func(due)  # partial(callback, config_id)
        except Exception:  # a callback must never stop the other configs
            logger.exception("Schnittstelle %s: Fehler beim Start des Laufs", self.config_id)
        self._schedule_next_run()

    def _schedule_next_run(self) -> None:
        if self._fire_first_at is not None:
            self.next_run, self._fire_first_at = self._fire_first_at, None
            return
        after = self._clock.now()
        if self._last_due is not None and _utc(self._last_due) > _utc(after):
            after = self._last_due  # clock set back: never fire the same due time twice
        self.next_run = next_due(self.cfg, after, tz=self.tz)


def inside_window(moment: dt.datetime) -> bool:
    """Whether `moment` (local time) lies in 06:00–22:00 (SPEC §3), to the minute: the whole
    22:00 minute is inside, as the 22:00 slot is."""
    return WINDOW_START <= moment.time().replace(second=0, microsecond=0) <= WINDOW_END


def _inside_window(moment: dt.datetime, tz: ZoneInfo) -> bool:
    return inside_window(moment.astimezone(tz))


_WINDOW_OPENINGS = _Plan(slots=(WINDOW_START,), weekdays=None, month_day=None, start=None)


def _window_opening(after: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
    """The next 06:00 local (same DST rules as due times)."""
    return next(_forward(_WINDOW_OPENINGS, after, tz), None)


def _same_zone(a: ZoneInfo, b: ZoneInfo) -> bool:
    return a is b or (a.key is not None and a.key == b.key)


class ConfigScheduler:
    """The daemon's jobs: one `schedule` job per config, tagged with the config id.

    `run_pending` calls `callback(config_id, due_time)` for every job whose due time has
    come by the injected clock, then schedules the job's next due time. `due_time` is the
    latest due time ≤ now: a job that wakes late (suspend) fires once for the most recent
    missed due time, not once per missed one. If it wakes outside the window more than
    `grace` after that due time, the run is made up when the window opens (06:00).

    Callbacks must be quick (hand the run to a pool); their exceptions are logged and
    never stop `run_pending`. Thread-safe: all methods hold one lock.
    """

    def __init__(
        self, clock: Clock | None = None, *, grace: dt.timedelta = dt.timedelta(minutes=5)
    ) -> None:
        self._source: Clock = clock or SystemClock()
        # Jobs read this clock: frozen during run_pending, so one pass over 1000 jobs reads
        # the real clock once instead of 1000 times.
        self._clock = _TickClock(self._source)
        self._grace = grace
        self._scheduler = schedule.Scheduler()
        self._lock = threading.RLock()

    @property
    def scheduler(self) -> schedule.Scheduler:
        """The wrapped scheduler (inspect jobs/tags; drive it only through this class)."""
        return self._scheduler

    def _job(self, config_id: str) -> _ConfigJob | None:
        for job in self._scheduler.get_jobs(config_id):
            if isinstance(job, _ConfigJob):
                return job
        return None

    def set_config(
        self,
        cfg: ExportConfig,
        *,
        tz: ZoneInfo,
        fingerprint: str,
        callback: DueCallback,
        last_due: dt.datetime | None = None,
    ) -> bool:
        """Create or replace the job of `cfg.id`; True if (re)scheduled.

        Same fingerprint and zone: the job and its next run stay, only the config object
        and callback are swapped in. `last_due` (the due time of the last recorded run)
        asks for catch-up: if a due time after it has passed, the job fires on the next
        `run_pending` (window rules as above). None: no catch-up (a new config).
        """
        with self._lock:
            job = self._job(cfg.id)
            if job is not None and job.fingerprint == fingerprint and _same_zone(job.tz, tz):
                job.cfg = cfg
                job.job_func = functools.partial(callback, cfg.id)
                return False
            if job is not None:
                self._scheduler.clear(cfg.id)
            now = self._clock.now()
            fire_first_at = None
            if last_due is not None:
                _require_aware(last_due, "last_due")
                missed = previous_due(cfg, now, tz=tz)
                if missed is not None and _utc(missed) > _utc(last_due):
                    fire_first_at = now
            new = _ConfigJob(
                self._scheduler,
                cfg,
                tz=tz,
                fingerprint=fingerprint,
                clock=self._clock,
                grace=self._grace,
                fire_first_at=fire_first_at,
            )
            new.do(callback, cfg.id)  # schedule: computes next_run, registers the job
            return True

    def remove(self, config_id: str) -> bool:
        """Cancel the job of `config_id`; True if there was one."""
        with self._lock:
            found = bool(self._scheduler.get_jobs(config_id))
            self._scheduler.clear(config_id)
            return found

    def config_ids(self) -> list[str]:
        with self._lock:
            return sorted(j.config_id for j in self._scheduler.jobs if isinstance(j, _ConfigJob))

    def next_run(self, config_id: str) -> dt.datetime | None:
        """When the job of `config_id` fires next (aware); None if unknown or never."""
        with self._lock:
            job = self._job(config_id)
            return job.next_run if job is not None else None

    def idle_seconds(self) -> float | None:
        """Seconds until the earliest job fires (0.0 if overdue); None without jobs."""
        with self._lock:
            runs = [j.next_run for j in self._scheduler.jobs if j.next_run is not None]
            if not runs:
                return None
            earliest = min(_utc(r) for r in runs)
            return max(0.0, (earliest - _utc(self._clock.now())).total_seconds())

    def run_pending(self) -> None:
        with self._lock, self._clock.frozen():
            self._scheduler.run_pending()


class _TickClock:
    """The source clock, or one frozen reading of it for the duration of a tick."""

    def __init__(self, source: Clock) -> None:
        self._source = source
        self._frozen: dt.datetime | None = None

    def now(self) -> dt.datetime:
        return self._frozen if self._frozen is not None else self._source.now()

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        self._frozen = self._source.now()
        try:
            yield
        finally:
            self._frozen = None
