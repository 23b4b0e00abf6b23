"""The hooks of the real engine: `engine_hooks(ws)` makes `python -m tui` the working UI.

Every hook runs in a worker thread (see `tui.hooks`). Answers and errors are German; an
engine failure becomes an Exception whose text the UI shows as is. The runner, the
transports and the mailer are imported by the hooks that use them, not at start.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Hashable, Iterator
from zoneinfo import ZoneInfo

from engine.audit import current_actor
from engine.config import ExportConfig
from engine.runs import RunRecord, RunSummary
from engine.schedule import next_due
from engine.workspace import Workspace
from tui.hooks import Clock, Hooks, LastRun, SystemClock


class _LastRunCache:
    """The newest run per config, re-read only when that config's run file changed: the
    list asks for every config on each reload, and the run store changes with every
    progress step of a daemon run. (The read itself is cheap: one indexed query.)"""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[int | None, RunSummary | None]] = {}

    def get(self, cfg_id: str) -> RunSummary | None:
        stamp = self._ws.runs.file_stamp(cfg_id)
        with self._lock:
            cached = self._cache.get(cfg_id)
        if cached is not None and cached[0] == stamp and stamp is not None:
            return cached[1]
        record = self._ws.runs.last_run(cfg_id)
        with self._lock:
            self._cache[cfg_id] = (stamp, record)
        return record


class _NextDueCache:
    """The next due time per config, worked out again only when it has passed (or the
    config, the time zone or the clock changed): the list asks for all of them on every
    reload, that is every minute and after every run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # id -> (config, zone, computed at, due)
        self._cache: dict[str, tuple[ExportConfig, ZoneInfo, dt.datetime, dt.datetime]] = {}

    def get(self, cfg: ExportConfig, now: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
        with self._lock:
            cached = self._cache.get(cfg.id)
        # next_due gives the first due time strictly after `now`: for any moment from the
        # one it was worked out at up to that due time, the answer is the same.
        if cached is not None and cached[:2] == (cfg, tz) and cached[2] <= now < cached[3]:
            return cached[3]
        due = next_due(cfg, now, tz=tz)
        with self._lock:
            if due is None:
                self._cache.pop(cfg.id, None)
            else:
                self._cache[cfg.id] = (cfg, tz, now, due)
        return due


def run_summary(record: RunRecord) -> str:
    """A German one-liner for a finished manual run; failures raise instead (see run_now)."""
    name = f"„{record.config_name}“"
    if record.status == "ok":
        rows = sum(int(f.get("rows", 0)) for f in record.files)
        return f"{name}: erfolgreich – {len(record.files)} Datei(en), {rows} Zeilen übertragen."
    return f"{name}: {record.label}."


def engine_hooks(ws: Workspace, *, clock: Clock | None = None) -> Hooks:
    """Hooks backed by the engine for `ws`. `clock` (default: the system's) is what runs,
    schedules and test dates use; pass the app's clock so that both agree."""
    clock = clock or SystemClock()
    last_runs = _LastRunCache(ws)
    due_times = _NextDueCache()

    def due(cfg: ExportConfig) -> dt.datetime | None:
        return due_times.get(cfg, clock.now(), ws.time_zone())

    def last_run(cfg_id: str) -> LastRun | None:
        record = last_runs.get(cfg_id)
        if record is None:
            return None
        when = record.finished_at if record.status != "running" else None
        return record.label, dt.datetime.fromisoformat(when or record.started_at)

    def run_now(cfg_id: str, force: bool) -> str | None:
        from engine.runner import RunOptions, run_config

        cfg = ws.get_config(cfg_id)
        # OutsideWindow (force False, outside 06:00–22:00) propagates with its German text:
        # the UI asks before it passes force, so this only happens if the clocks disagree.
        record = run_config(ws, cfg, RunOptions(trigger="manual", force=force), clock=clock.now)
        if record.status == "failed":
            raise RuntimeError(f"fehlgeschlagen – {record.step}: {record.reason}")
        if record.status == "skipped":
            raise RuntimeError(f"übersprungen: {record.reason}")
        return run_summary(record)

    def redeliver(run_id: str, force: bool, current: bool) -> str | None:
        from engine.redelivery import redeliver as send_again
        from engine.runner import RunOptions

        record = send_again(
            ws,
            run_id,
            RunOptions(trigger="redeliver", force=force),
            current=current,
            user=current_actor(),
            clock=clock.now,
        )
        if record.status == "failed":
            raise RuntimeError(f"fehlgeschlagen – {record.step}: {record.reason}")
        return f"Nachlieferung: {run_summary(record)}"

    def connection_test(cfg: ExportConfig, trust: str | None = None) -> Iterator[object]:
        from engine.transports import test_connection

        # `trust` is the exact fingerprint the admin confirmed: a key swapped in between
        # does not match it and still fails.
        return test_connection(
            cfg.target,
            known_hosts=ws.data_dir.known_hosts_path,
            trust_new_key=trust or None,
            run_date=clock.now().astimezone(ws.time_zone()).date(),
            config_id=cfg.id or None,
        )

    def test_mail(address: str) -> str | None:
        from engine.mailer import MailError, send_test_mail

        smtp = ws.smtp_settings()
        if smtp is None or not smtp.host:
            raise RuntimeError("Kein SMTP Postausgangsserver eingerichtet.")
        try:
            send_test_mail(smtp, address)
        except MailError as exc:
            raise RuntimeError(exc.message) from None
        return f"Test-E-Mail an {address} gesendet (über {smtp.host}:{smtp.effective_port})"

    def changes() -> Hashable:
        return ws.runs.stamp()

    return Hooks(
        next_due=due,
        last_run=last_run,
        run_now=run_now,
        test_connection=connection_test,
        send_test_mail=test_mail,
        redeliver=redeliver,
        changes=changes,
    )
