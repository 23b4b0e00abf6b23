"""The headless scheduler: `buchex daemon [--workstation NAME] [--once]` (SPEC §2, §3).

- Runs the configs that belong to it: with `--workstation NAME` the configs bound to NAME,
  without it the server-side configs bound to no workstation.
- Notices config changes by polling the store's stamp (one stat call per second) and
  reschedules only configs whose schedule changed; SIGHUP reloads at once.
- Runs exports in a small thread pool, so one slow server never delays another config; a
  due time that finds the same config still running is recorded as skipped.
- Makes up a run missed while it was down, once, inside the window: the scheduler is told
  the last due time this config ran for (or the daemon's last heartbeat).
- SIGTERM/SIGINT: stops taking work, lets running uploads finish for up to 30 s, then
  exits; uploads are atomic, so no final file is ever partial, and an unfinished run moves
  no watermark.
- One daemon per data directory and workstation (exit code 3 otherwise).
- Never imports Textual.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import FrameType
from zoneinfo import ZoneInfo

import schedule
from filelock import FileLock, Timeout

from engine.clock import SYSTEM_CLOCK, Clock, SteppingClock, inside_window, resolve_tz
from engine.config import ExportConfig
from engine.due import previous_due, schedule_fingerprint
from engine.errors import DaemonLocked
from engine.liveness import owner_alive
from engine.paths import write_atomic
from engine.runner import RunOptions, record_abort, run_config
from engine.runs import RunRecord, new_run_id, owner_gone_reason
from engine.schedule import ConfigScheduler
from engine.workspace import Workspace

log = logging.getLogger("buchex.daemon")

STOP_GRACE_S = 30.0  # how long SIGTERM waits for running uploads
HEARTBEAT_S = 30.0
CATCHUP_AFTER = dt.timedelta(minutes=1)  # a due time this far behind is a make-up run


@dataclass
class DaemonOptions:
    workstation: str | None = None
    # Runs wait mostly on the network (uploads to the advisors' servers): 8 at a time keep
    # 50 configs due at 07:00 from queueing behind each other; ~1 MB RSS per running run.
    workers: int = 8
    poll_s: float = 1.0
    run_options: Callable[[str, dt.datetime], RunOptions] | None = None
    stop_grace_s: float = STOP_GRACE_S  # SIGTERM: how long running uploads may finish


class Daemon:
    """The scheduler of one data directory (and workstation). `clock` is the system clock
    unless a test injects its own (tests/daemon_clock.py drives a real process by a file)."""

    def __init__(self, ws: Workspace, options: DaemonOptions, clock: Clock | None = None) -> None:
        self.ws = ws
        self.opts = options
        self.clock: Clock = clock or SYSTEM_CLOCK
        self.scheduler = ConfigScheduler(self.clock)
        self.configs: dict[str, ExportConfig] = {}
        self.tz: ZoneInfo = resolve_tz(None)
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._inflight: dict[str, Future[RunRecord]] = {}
        self._inflight_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="run")
        self._stamp: object = object()
        suffix = f"-{options.workstation}" if options.workstation else ""
        self._lock = FileLock(
            ws.data_dir.lock_path(f"daemon{suffix}"), mode=0o600, thread_local=False
        )
        self._state_path = ws.data_dir.root / f"daemon{suffix}.json"

    # --- ownership ------------------------------------------------------------------------

    def belongs(self, cfg: ExportConfig) -> bool:
        if self.opts.workstation:
            return cfg.workstation == self.opts.workstation
        return cfg.server_side and not cfg.workstation

    def acquire(self) -> None:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            who = f" für Rechner {self.opts.workstation}" if self.opts.workstation else ""
            raise DaemonLocked(
                f"Datenverzeichnis {self.ws.data_dir.root} ist gesperrt: ein anderer "
                f"buchex-Daemon{who} läuft bereits."
            ) from None

    def release(self) -> None:
        self._lock.release()

    # --- heartbeat (for make-up runs after a crash) ----------------------------------------

    def _last_seen(self) -> dt.datetime | None:
        try:
            data = json.loads(self._state_path.read_text())
            return dt.datetime.fromisoformat(data["last_tick"])
        except (FileNotFoundError, KeyError, ValueError):
            return None

    def _heartbeat(self) -> None:
        payload = {"last_tick": self.clock.now().isoformat(), "pid": os.getpid()}
        write_atomic(self._state_path, json.dumps(payload).encode())

    # --- configs --------------------------------------------------------------------------

    def _last_due(self, cfg: ExportConfig, seen: dt.datetime | None) -> dt.datetime | None:
        due = self.ws.runs.last_due(cfg.id)  # one indexed look, not the whole history
        return dt.datetime.fromisoformat(due) if due else seen

    def reload(self, *, initial: bool = False) -> None:
        """Bring the jobs in line with the store; unchanged schedules keep their jobs.

        A config object the store hands out again unchanged (same object: the workspace
        parses only changed documents) in an unchanged zone is skipped outright."""
        tz = self.ws.time_zone()
        same_zone = tz is self.tz and not initial
        self.tz = tz
        seen = self._last_seen() if initial else None
        wanted = {c.id: c for c in self.ws.list_configs() if self.belongs(c)}
        for cfg_id in set(self.scheduler.config_ids()) - wanted.keys():
            self.scheduler.remove(cfg_id)
            log.info("Schnittstelle %s entfernt", cfg_id)
        for cfg in wanted.values():
            if same_zone and self.configs.get(cfg.id) is cfg:
                continue
            changed = self.scheduler.set_config(
                cfg,
                tz=self.tz,
                fingerprint=schedule_fingerprint(cfg),
                callback=self._due,
                last_due=self._last_due(cfg, seen) if initial else None,
            )
            if changed:
                nxt = self.scheduler.next_run(cfg.id)
                log.info(
                    "Schnittstelle %s (%s) geplant, nächste Ausführung %s",
                    cfg.id,
                    cfg.name,
                    nxt.astimezone(self.tz).isoformat(timespec="minutes") if nxt else "keine",
                )
        self.configs = wanted

    def _check_store(self) -> None:
        stamp = self.ws.store.stamp()
        if stamp != self._stamp or self._reload.is_set():
            self._reload.clear()
            self._stamp = stamp
            try:
                self.reload()
            except Exception as exc:  # a broken store must not stop running jobs
                log.error("Konfiguration nicht geladen: %s", exc)

    # --- runs -----------------------------------------------------------------------------

    def _due(self, config_id: str, due: dt.datetime) -> None:
        cfg = self.configs.get(config_id)
        if cfg is None:
            return
        now = self.clock.now()
        trigger = "catchup" if now - due > CATCHUP_AFTER else "schedule"
        with self._inflight_lock:
            busy = self._inflight.get(config_id)
            if busy is not None and not busy.done():
                self._record_skipped(cfg, due, trigger)
                return
            opts = self._run_options(config_id, due)
            opts.trigger, opts.due_at = trigger, due
            future = self._pool.submit(self._run, cfg, opts)
            self._inflight[config_id] = future

    def _run_options(self, config_id: str, due: dt.datetime) -> RunOptions:
        if self.opts.run_options is not None:
            return self.opts.run_options(config_id, due)
        return RunOptions()

    def _run(self, cfg: ExportConfig, opts: RunOptions) -> RunRecord:
        log.info("Lauf für %s (%s) beginnt, fällig %s", cfg.id, cfg.name, opts.due_at)
        try:
            record = run_config(self.ws, cfg, opts, clock=self.clock.now)
        except Exception:  # run_config records failures itself; this is the last guard
            log.exception("Lauf für %s abgebrochen", cfg.id)
            raise
        if record.status == "failed":
            log.error("Lauf %s für %s fehlgeschlagen – %s: %s", record.id, cfg.id,
                      record.step, record.reason)  # fmt: skip
        else:
            log.info("Lauf %s für %s: %s", record.id, cfg.id, record.label)
        return record

    def _record_skipped(self, cfg: ExportConfig, due: dt.datetime, trigger: str) -> None:
        now = self.clock.now().astimezone(self.tz)
        record = RunRecord(
            id=new_run_id(now),
            config_id=cfg.id,
            config_name=cfg.name or cfg.id,
            trigger=trigger,
            started_at=now.isoformat(timespec="seconds"),
            finished_at=now.isoformat(timespec="seconds"),
            due_at=due.isoformat(timespec="seconds"),
            status="skipped",
            reason="die vorige Ausführung läuft noch",
            host_pid=os.getpid(),
        )
        self.ws.runs.finish(record)
        log.warning("Lauf für %s übersprungen: vorige Ausführung läuft noch", cfg.id)

    def _mark_abandoned(self, pid: int | None = None) -> None:
        """Runs left `running` by a killed process (or by us, when stopping) become failed,
        with the failure mail a failed run sends."""
        for cfg_id, cfg in self.configs.items():
            for run in self.ws.runs.running(cfg_id):
                if pid is not None and run.host_pid == pid:
                    reason = (
                        "abgebrochen: der Dienst wurde beendet, bevor die Übertragung fertig "
                        "war; der nächste Lauf gleicht sie mit dem Server ab"
                    )
                elif pid is None and not owner_alive(run.host_pid, run.host_started, run.host_name):
                    reason = owner_gone_reason(run)
                else:
                    continue
                try:
                    record_abort(self.ws, cfg, run, reason, clock=self.clock.now)
                except Exception as exc:  # stopping must go on
                    log.error("Lauf %s nicht als abgebrochen vermerkt: %s", run.id, exc)

    # --- main loop ------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        self._reload.set()

    def serve(self) -> None:
        self._stamp = self.ws.store.stamp()
        self.reload(initial=True)
        self._mark_abandoned()
        log.info(
            "buchex-Daemon läuft (PID %d, %s, %d Schnittstellen)",
            os.getpid(),
            f"Rechner {self.opts.workstation}" if self.opts.workstation else "serverseitig",
            len(self.configs),
        )
        self._heartbeat()
        chores = Housekeeping(
            [(self.opts.poll_s, self._check_store), (HEARTBEAT_S, self._heartbeat)]
        )
        while not self._stop.is_set():
            if self._reload.is_set():  # SIGHUP: at once, not at the next poll
                self._check_store()
            chores.run_pending()
            self.scheduler.run_pending()
            # Wake for the next due time or the next chore, whichever comes first; the
            # floor keeps a job that cannot fire yet (deferred to 06:00) from spinning.
            idle = self.scheduler.idle_seconds()
            wait = max(0.2, min(chores.idle_seconds(), idle if idle is not None else 1e9))
            if isinstance(self.clock, SteppingClock):  # a test's clock: set, not passing
                self.clock.wait(self._stop, wait)
            else:
                self._stop.wait(wait)
        self.shutdown()

    def shutdown(self) -> None:
        grace = self.opts.stop_grace_s
        log.info("Beenden: keine neuen Läufe, laufende bis zu %.0f s abwarten", grace)
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._inflight_lock:
            pending = [f for f in self._inflight.values() if not f.done()]
        deadline = time.monotonic() + grace
        for future in pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            with contextlib.suppress(Exception):  # its outcome is in its run record
                future.result(timeout=remaining)
        self._heartbeat()
        if any(not f.done() for f in pending):
            # Uploads still busy after the grace period are cut off: atomic upload means no
            # final file is partial, and their watermarks never moved.
            self._mark_abandoned(os.getpid())
            log.warning("Laufende Übertragungen abgebrochen")
            logging.shutdown()
            os._exit(0)
        log.info("buchex-Daemon beendet")

    def run_once(self) -> int:
        """`--once`: run every config whose latest due time has not run yet; for cron."""
        self.reload()
        now = self.clock.now()
        if not inside_window(now.astimezone(self.tz)):
            log.info("außerhalb 06:00–22:00: nichts zu tun")
            return 0
        failed = 0
        for cfg in self.configs.values():
            due = previous_due(cfg, now, tz=self.tz)
            last = self._last_due(cfg, None)
            if due is None or (last is not None and last >= due):
                continue
            opts = self._run_options(cfg.id, due)
            opts.trigger, opts.due_at = "schedule", due
            failed += self._run(cfg, opts).status == "failed"
        self._heartbeat()
        return failed


class Housekeeping:
    """The daemon's fixed-interval chores (store poll, heartbeat), on `schedule`'s public API
    (`every(n).seconds.do`, `run_pending`, `idle_seconds`): what that library is good at.
    The due times of configs are not its job (engine/schedule.py, docs/schedule.md).

    `schedule` keeps time with the naive local `datetime.now()`: a clock set back or a DST
    fall-back would stall its jobs for that long. So the chores are planned anew whenever
    the local wall clock jumps against the monotonic clock."""

    JUMP_S = 1.0

    def __init__(self, chores: list[tuple[float, Callable[[], None]]]) -> None:
        self._chores = chores
        self._jobs = schedule.Scheduler()
        self._offset = self._wall_offset()
        self._plan()

    @staticmethod
    def _wall_offset() -> float:
        naive = dt.datetime.now() - dt.datetime(1970, 1, 1)
        return naive.total_seconds() - time.monotonic()

    def _plan(self) -> None:
        self._jobs.clear()
        for seconds, chore in self._chores:
            self._jobs.every(max(1, round(seconds))).seconds.do(chore)

    def run_pending(self) -> None:
        offset = self._wall_offset()
        if abs(offset - self._offset) > self.JUMP_S:
            log.info(
                "Uhrzeit gesprungen (%+.0f s): Routineaufgaben neu geplant", offset - self._offset
            )
            self._offset = offset
            self._plan()
        self._jobs.run_pending()

    def idle_seconds(self) -> float:
        idle = self._jobs.idle_seconds
        return 0.0 if idle is None else max(0.0, float(idle))


def install_signal_handlers(daemon: Daemon) -> None:
    def on_stop(signum: int, frame: FrameType | None) -> None:
        log.info("Signal %s empfangen", signal.Signals(signum).name)
        daemon.request_stop()

    def on_hup(signum: int, frame: FrameType | None) -> None:
        log.info("SIGHUP: Konfiguration neu laden")
        daemon.request_reload()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hup)
