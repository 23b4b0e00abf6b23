"""What the TUI needs from parts of buchex that live elsewhere (scheduler, runner, transports,
mailer). The lead wires them in `buchex tui`; every hook is optional so the UI works (and
is testable) before those parts exist.

All hooks are called from worker threads, never from the UI thread: they may block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol

from engine.config import ExportConfig


class Clock(Protocol):
    """Same shape as `engine.schedule.Clock`: the current, timezone-aware instant."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now().astimezone()


# (status, when): status is shown as is, e.g. "OK", "fehlgeschlagen", "nichts zu exportieren".
LastRun = tuple[str, dt.datetime]


def _no_next_due(cfg: ExportConfig) -> dt.datetime | None:
    return None


def _no_last_run(cfg_id: str) -> LastRun | None:
    return None


@dataclass
class Hooks:
    """Callables the app calls; None means "noch nicht verfügbar".

    - next_due(cfg) -> datetime | None: the next scheduled run ("Nächste Ausführung").
    - last_run(cfg_id) -> (status, when) | None: the latest run ("Letzter Lauf").
    - run_now(cfg_id) -> str | None: runs the export now and returns a short German summary
      (None: a generic "beendet"); raise an Exception with a German message on failure.
    - test_connection(cfg) -> Iterable[step]: the connection test, yielding one result per
      step as it completes. A step is a str or any object with `ok: bool | None` and a text
      in `message` (or `detail`) and optionally a step name in `step` (or `name`/`label`).
    - send_test_mail(address) -> str | None: sends a test mail with the stored SMTP
      settings; returns a summary or raises with a German message.
    - changes() -> Hashable: an extra cheap change signal polled with the store's stamp,
      e.g. the run store's stamp, so "Letzter Lauf" refreshes after a run.
    """

    next_due: Callable[[ExportConfig], dt.datetime | None] = _no_next_due
    last_run: Callable[[str], LastRun | None] = _no_last_run
    run_now: Callable[[str], str | None] | None = None
    test_connection: Callable[[ExportConfig], Iterable[object]] | None = None
    send_test_mail: Callable[[str], str | None] | None = None
    changes: Callable[[], Hashable] | None = None
