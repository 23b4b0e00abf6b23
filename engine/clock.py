"""Time in one place: the clock, the time zone, and the 06:00–22:00 window (SPEC §3).

- `Clock` is the one protocol every part of buchex reads "now" from (`now()` → an aware
  instant). `SystemClock` is the production clock; `ManualClock` stands still for tests.
  A clock that is set from outside (a test's file clock) may also be a `SteppingClock`:
  its `wait` returns as soon as it was set, so the daemon sleeping until the next due
  time notices at once that the time jumped (the system clock needs no such thing).
  Code that takes the time as a plain function (`run_config(..., clock=...)`) types it
  `Now` and defaults to `now_local`, the system clock's `now`.
- `resolve_tz` / `system_tz`: the configured IANA zone, or the system's own, without
  third-party helpers.
- `inside_window`: whether a local time lies in the maintenance-free window 06:00–22:00.

When a config is *due* is not here: that is `engine.due` (pure functions of config,
instant and zone); the daemon's timer is `engine.schedule.ConfigScheduler`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.fields import WINDOW_END, WINDOW_START

logger = logging.getLogger(__name__)

__all__ = [
    "SYSTEM_CLOCK",
    "Clock",
    "ManualClock",
    "Now",
    "SteppingClock",
    "SystemClock",
    "TimeZoneError",
    "inside_window",
    "inside_window_at",
    "now_local",
    "require_aware",
    "resolve_tz",
    "system_tz",
    "utc",
]


# --- clocks ---------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware."""
        ...


@runtime_checkable
class SteppingClock(Clock, Protocol):
    """A clock whose time is set from outside rather than passing by itself."""

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Like `stop.wait(seconds)`, but also returns (False) as soon as the time was set;
        True when `stop` is set."""
        ...


Now = Callable[[], dt.datetime]
"""A clock as a plain function (`clock.now`, or `lambda: NOON` in a test)."""


def require_aware(moment: dt.datetime, what: str) -> None:
    """ValueError (German) for a naive datetime: every instant in buchex carries its zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} braucht eine Zeitangabe mit Zeitzone: {moment.isoformat()}")


def utc(moment: dt.datetime) -> dt.datetime:
    """Instants are compared and subtracted in UTC only: Python compares two datetimes that
    share a tzinfo by their wall-clock reading, ignoring `fold`, which is wrong in the
    repeated hour of a fall-back."""
    return moment.astimezone(dt.UTC)


class SystemClock:
    """The operating system's clock, as an aware instant in the system's local offset."""

    def now(self) -> dt.datetime:
        # From UTC, so the repeated hour of a fall-back is never misread as its first run.
        return dt.datetime.now(dt.UTC).astimezone()


SYSTEM_CLOCK: Final = SystemClock()


def now_local() -> dt.datetime:
    """`SYSTEM_CLOCK.now()` as a plain function: the default of `Now` parameters."""
    return SYSTEM_CLOCK.now()


class ManualClock:
    """A clock for tests: stands still until set or advanced."""

    def __init__(self, start: dt.datetime) -> None:
        require_aware(start, "ManualClock")
        self._now = start

    def now(self) -> dt.datetime:
        return self._now

    def set(self, moment: dt.datetime) -> None:
        require_aware(moment, "ManualClock.set")
        self._now = moment

    def advance(self, delta: dt.timedelta | None = None, /, **units: float) -> dt.datetime:
        """Move forward by `delta` and/or timedelta keywords (`minutes=15`); returns now."""
        step = (delta or dt.timedelta()) + dt.timedelta(**units)
        # elapsed time, not wall-clock arithmetic (which a ZoneInfo-aware datetime does)
        self._now = (utc(self._now) + step).astimezone(self._now.tzinfo)
        return self._now


# --- the window -----------------------------------------------------------------------------


def inside_window(moment: dt.datetime) -> bool:
    """Whether `moment` (local time) lies in 06:00–22:00 (SPEC §3), to the minute: the whole
    22:00 minute is inside, as the 22:00 slot is."""
    return WINDOW_START <= moment.time().replace(second=0, microsecond=0) <= WINDOW_END


def inside_window_at(moment: dt.datetime, tz: ZoneInfo) -> bool:
    """`inside_window` for an instant, read as local time in `tz`."""
    return inside_window(moment.astimezone(tz))


# --- time zones -----------------------------------------------------------------------------


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
