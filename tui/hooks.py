"""What the TUI needs from parts of buchex that live elsewhere (scheduler, runner, transports,
mailer). `tui.wiring.engine_hooks` builds them from the engine for `buchex tui`; every hook
is optional, so tests can inject their own and the UI works without them.

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


class ConnectionTest(Protocol):
    """test_connection(cfg, trust=None): `trust` is the SHA256 fingerprint of an unknown SFTP
    host key the admin has just confirmed (only that exact key may be stored)."""

    def __call__(self, cfg: ExportConfig, trust: str | None = None) -> Iterable[object]: ...


@dataclass
class Hooks:
    """Callables the app calls; None means "noch nicht verfügbar".

    - next_due(cfg) -> datetime | None: the next scheduled run ("Nächste Ausführung").
    - last_run(cfg_id) -> (status, when) | None: the latest run ("Letzter Lauf").
    - run_now(cfg_id, force) -> str | None: runs the export now and returns a short German
      summary (None: a generic "ausgeführt"); raise an Exception with a German message on
      failure. `force` is True only after the user confirmed a run outside 06:00–22:00
      (the UI asks first, by the app's clock).
    - test_connection(cfg, trust=None) -> Iterable[step]: the connection test, yielding one
      result per step as it completes. A step is a str or any object with `ok: bool | None`
      and a text in `message` (or `detail`) and optionally a step name in `step` (or
      `name`/`label`). A failed step whose `error` is an `engine.transports.UnknownHostKey`
      opens the host-key dialog; "Vertrauen" calls again with `trust=<its fingerprint>`.
    - send_test_mail(address) -> str | None: sends a test mail with the stored SMTP
      settings; returns a summary or raises with a German message.
    - redeliver(run_id, force, current) -> str | None: sends a past run's bookings again
      (Nachlieferung); raises engine.runner.OutsideWindow (ask, then force=True) or
      RedeliveryRefused (with journal_nos: changed since; ask, then current=True).
    - changes() -> Hashable: an extra cheap change signal polled with the store's stamp,
      e.g. the run store's stamp, so "Letzter Lauf" refreshes after a run.
    """

    next_due: Callable[[ExportConfig], dt.datetime | None] = _no_next_due
    last_run: Callable[[str], LastRun | None] = _no_last_run
    run_now: Callable[[str, bool], str | None] | None = None
    test_connection: ConnectionTest | None = None
    send_test_mail: Callable[[str], str | None] | None = None
    redeliver: Callable[[str, bool, bool], str | None] | None = None
    changes: Callable[[], Hashable] | None = None
