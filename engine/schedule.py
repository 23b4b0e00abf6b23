"""The daemon's timer: one job per config, fired at the config's due times.

When a config is due is `engine.due` (pure functions); what "now" is comes from an injected
`engine.clock.Clock`. `ConfigScheduler` only keeps, per config, the next instant to fire
and a min-heap of those instants (docs/schedule.md, "The daemon's scheduler"):

- jobs live in a dict keyed by config id: finding, replacing or removing one is O(1);
- the heap holds `(due in UTC, job sequence, config id)`; an entry whose job has moved on
  (fired, rescheduled, removed) is stale and skipped when it reaches the top, and the heap
  is rebuilt once stale entries outnumber the jobs;
- `run_pending` reads the clock once and pops only the jobs that are due, `idle_seconds`
  looks at the top: an idle tick with 1000 configs costs one clock reading, not 1000;
- an unchanged config (same fingerprint and zone) keeps its job: a reload after one edit
  replans that one config.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from zoneinfo import ZoneInfo

from engine.clock import SYSTEM_CLOCK, Clock, inside_window_at, require_aware, utc
from engine.config import ExportConfig
from engine.due import next_due, previous_due, window_opening

logger = logging.getLogger(__name__)

__all__ = ["ConfigJob", "ConfigScheduler", "DueCallback"]

DueCallback = Callable[[str, dt.datetime], None]

# (due time in UTC, job sequence, config id): equal due times fire in the order the jobs
# were created.
_Entry = tuple[dt.datetime, int, str]
# Rebuild the heap only when it holds this many stale entries and more stale than live ones.
_MIN_COMPACT = 64


class ConfigJob:
    """The job of one config; owned by its `ConfigScheduler`, read-only for everyone else."""

    __slots__ = (
        "_entry",
        "callback",
        "cfg",
        "config_id",
        "fingerprint",
        "last_due",
        "next_run",
        "seq",
        "tz",
    )

    def __init__(
        self,
        cfg: ExportConfig,
        *,
        tz: ZoneInfo,
        fingerprint: str,
        callback: DueCallback,
        seq: int,
    ) -> None:
        self.config_id = cfg.id
        self.cfg = cfg
        self.tz = tz
        self.fingerprint = fingerprint
        self.callback = callback
        self.seq = seq
        self.next_run: dt.datetime | None = None  # aware; None: never due
        self.last_due: dt.datetime | None = None  # due time of the last callback
        self._entry: _Entry | None = None  # its live heap entry

    def __repr__(self) -> str:
        when = self.next_run.isoformat() if self.next_run else "nie"
        return f"<ConfigJob {self.config_id!r} next {when} fp {self.fingerprint}>"


def _same_zone(a: ZoneInfo, b: ZoneInfo) -> bool:
    return a is b or (a.key is not None and a.key == b.key)


class ConfigScheduler:
    """The daemon's jobs: one per config, keyed by the config id.

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
        self._clock: Clock = clock or SYSTEM_CLOCK
        self._grace = grace
        self._jobs: dict[str, ConfigJob] = {}
        self._heap: list[_Entry] = []
        self._stale = 0  # entries in the heap no job points to any more
        self._seq = itertools.count()
        self._lock = threading.RLock()

    # --- the heap -------------------------------------------------------------------------

    def _set_next_run(self, job: ConfigJob, when: dt.datetime | None) -> None:
        if job._entry is not None:
            self._stale += 1
        job.next_run = when
        job._entry = None
        if when is not None and self._jobs.get(job.config_id) is job:
            job._entry = (utc(when), job.seq, job.config_id)
            heapq.heappush(self._heap, job._entry)
        if self._stale >= _MIN_COMPACT and self._stale > len(self._jobs):
            self._heap = [j._entry for j in self._jobs.values() if j._entry is not None]
            heapq.heapify(self._heap)
            self._stale = 0

    def _top(self) -> _Entry | None:
        """The earliest live entry (stale ones above it are dropped), left in the heap."""
        heap = self._heap
        while heap:
            entry = heap[0]
            job = self._jobs.get(entry[2])
            if job is not None and job._entry is entry:
                return entry
            heapq.heappop(heap)
            self._stale -= 1
        return None

    # --- configs ----------------------------------------------------------------------------

    def job(self, config_id: str) -> ConfigJob | None:
        """The job of `config_id` (to inspect; change it only through this class)."""
        with self._lock:
            return self._jobs.get(config_id)

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
            job = self._jobs.get(cfg.id)
            if job is not None and job.fingerprint == fingerprint and _same_zone(job.tz, tz):
                job.cfg = cfg
                job.callback = callback
                return False
            if job is not None:
                self._drop(job)
            now = self._clock.now()
            first: dt.datetime | None = None
            if last_due is not None:
                require_aware(last_due, "last_due")
                missed = previous_due(cfg, now, tz=tz)
                if missed is not None and utc(missed) > utc(last_due):
                    first = now  # a make-up run, fired on the next run_pending
            new = ConfigJob(
                cfg, tz=tz, fingerprint=fingerprint, callback=callback, seq=next(self._seq)
            )
            self._jobs[cfg.id] = new
            self._set_next_run(new, first if first is not None else next_due(cfg, now, tz=tz))
            return True

    def _drop(self, job: ConfigJob) -> None:
        self._set_next_run(job, None)
        del self._jobs[job.config_id]

    def remove(self, config_id: str) -> bool:
        """Cancel the job of `config_id`; True if there was one."""
        with self._lock:
            job = self._jobs.get(config_id)
            if job is None:
                return False
            self._drop(job)
            return True

    def config_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._jobs)

    def next_run(self, config_id: str) -> dt.datetime | None:
        """When the job of `config_id` fires next (aware); None if unknown or never."""
        with self._lock:
            job = self._jobs.get(config_id)
            return job.next_run if job is not None else None

    def idle_seconds(self) -> float | None:
        """Seconds until the earliest job fires (0.0 if overdue); None without jobs."""
        with self._lock:
            entry = self._top()
            if entry is None:
                return None
            return max(0.0, (entry[0] - utc(self._clock.now())).total_seconds())

    # --- firing -----------------------------------------------------------------------------

    def run_pending(self) -> None:
        """Fire every job whose time has come; the clock is read once for all of them."""
        with self._lock:
            now = self._clock.now()
            now_utc = utc(now)
            due: list[ConfigJob] = []
            while (entry := self._top()) is not None and entry[0] <= now_utc:
                heapq.heappop(self._heap)
                job = self._jobs[entry[2]]
                job._entry = None
                due.append(job)
            for job in due:
                if self._jobs.get(job.config_id) is job:  # a callback may have replaced it
                    self._fire(job, now)

    def _fire(self, job: ConfigJob, now: dt.datetime) -> None:
        due = previous_due(job.cfg, now, tz=job.tz)
        if due is None or (job.last_due is not None and utc(due) <= utc(job.last_due)):
            self._plan_next(job, now)  # nothing new due (clock set back): just look ahead
            return
        if not inside_window_at(now, job.tz) and utc(now) - utc(due) > self._grace:
            # Woke up long after a due time and outside the window (suspend, overload): the
            # missed run is made up once when the window opens, never at night (SPEC §3).
            opening = window_opening(now, job.tz)
            if opening is not None:
                logger.info(
                    "Schnittstelle %s: Lauf von %s verpasst, wird um %s nachgeholt",
                    job.config_id,
                    due.isoformat(),
                    opening.isoformat(),
                )
                self._set_next_run(job, opening)
                return
        job.last_due = due
        try:
            job.callback(job.config_id, due)
        except Exception:  # a callback must never stop the other configs
            logger.exception("Schnittstelle %s: Fehler beim Start des Laufs", job.config_id)
        self._plan_next(job, now)

    def _plan_next(self, job: ConfigJob, now: dt.datetime) -> None:
        after = now
        if job.last_due is not None and utc(job.last_due) > utc(after):
            after = job.last_due  # clock set back: never fire the same due time twice
        self._set_next_run(job, next_due(job.cfg, after, tz=job.tz))
