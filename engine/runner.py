"""One run of a config: export, deliver, record, alert (SPEC §3).

The watermark moves only in the same commit that records a successful delivery, so a
failed run loses nothing: the next run exports the same bookings again. One config never
runs twice at once (`RunStore.exclusive`, across processes). Every failure ends as a run
record naming the step and a plain reason; nothing escapes as a bare traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from engine.alerts import AlertState, RunOutcome, decide, deliver_alert
from engine.cipher import CipherError
from engine.config import ExportConfig
from engine.runs import RunBusy, RunRecord, new_run_id
from engine.schedule import inside_window
from engine.transports import make_transport
from engine.transports.base import TransportError, remote_folder
from engine.workspace import Workspace

if TYPE_CHECKING:
    # engine.export and engine.ledger load SQLAlchemy: imported in `_export`, so that the
    # TUI (whose hooks import this module) starts without it.
    from engine.export import ExportResult, ExportWarning

log = logging.getLogger("buchex.run")

Clock = Callable[[], dt.datetime]

MAX_RECORDED_WARNINGS = 100
STEP_PREPARE = "Vorbereitung"
STEP_EXPORT = "Export"


class OutsideWindow(Exception):
    """A manual run outside 06:00–22:00 needs an explicit confirmation (`--force`)."""


@dataclass
class RunOptions:
    trigger: str = "manual"
    due_at: dt.datetime | None = None
    force: bool = False  # confirmed: run even outside the window
    attempts: int = 3  # delivery attempts for transient errors
    backoff: float = 5.0  # seconds before the 2nd attempt; doubles each time
    timeout: float = 30.0
    transfer_deadline: float = 600.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    # Called after each progress step; the daemon passes a stop check here.
    on_progress: Callable[[RunRecord], None] | None = None


class _Failed(Exception):
    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


def _now_local() -> dt.datetime:
    return dt.datetime.now().astimezone()


def run_config(
    ws: Workspace,
    cfg: ExportConfig,
    options: RunOptions | None = None,
    *,
    clock: Clock = _now_local,
) -> RunRecord:
    """Run `cfg` now and return its finished record (status ok / nothing / failed / skipped).

    Raises OutsideWindow for a manual run outside the window without `force`."""
    opts = options or RunOptions()
    tz = ws.time_zone()
    now = clock().astimezone(tz)
    if opts.trigger in ("manual", "cli") and not opts.force and not inside_window(now):
        raise OutsideWindow(
            f"Es ist {now:%H:%M} Uhr: Läufe sind nur zwischen 06:00 und 22:00 Uhr vorgesehen "
            "(Wartungsfenster). Zum Ausführen ausdrücklich bestätigen (--force)."
        )
    record = RunRecord(
        id=new_run_id(now),
        config_id=cfg.id,
        config_name=cfg.name or cfg.id,
        trigger=opts.trigger,
        started_at=now.isoformat(timespec="seconds"),
        due_at=opts.due_at.isoformat(timespec="seconds") if opts.due_at else None,
        host_pid=os.getpid(),
    )
    try:
        with ws.runs.exclusive(cfg.id):
            return _run_locked(ws, cfg, record, opts, clock, tz)
    except RunBusy:
        record.status = "skipped"
        record.reason = "die vorige Ausführung läuft noch"
        record.finished_at = record.started_at
        ws.runs.finish(record)
        return record


def _run_locked(
    ws: Workspace,
    cfg: ExportConfig,
    record: RunRecord,
    opts: RunOptions,
    clock: Clock,
    tz: ZoneInfo,
) -> RunRecord:
    ws.runs.start(record)
    watermarks: dict[str, int] | None = None
    step = STEP_PREPARE
    try:
        with tempfile.TemporaryDirectory(prefix="buchex-run-") as tmp:
            step = STEP_EXPORT
            result = _export(ws, cfg, Path(tmp), clock().astimezone(tz))
            record.warnings = _capped([format_warning(w) for w in result.warnings])
            if result.nothing_to_export:
                record.status = "nothing"
                record.reason = "nichts zu exportieren"
            else:
                rows = sum(f.rows for f in result.files)
                _progress(ws, record, opts, f"Export: {len(result.files)} Datei(en), {rows} Zeilen")
                _deliver(ws, cfg, result, record, opts, clock().astimezone(tz).date())
                record.status = "ok"
            watermarks = result.watermarks
    except _Failed as exc:
        record.status, record.step, record.reason = "failed", exc.step, exc.reason
    except Exception as exc:  # the record must name a step, whatever went wrong
        log.exception("Lauf %s: unerwarteter Fehler im Schritt %s", record.id, step)
        record.status, record.step = "failed", step
        record.reason = f"interner Fehler ({type(exc).__name__}: {exc})"
    record.finished_at = clock().astimezone(tz).isoformat(timespec="seconds")
    alert_state = _alert(ws, cfg, record, tz)
    ws.runs.finish(
        record,
        watermarks=watermarks if record.status in ("ok", "nothing") else None,
        alert_state=alert_state,
    )
    return record


def _capped(warnings: list[str]) -> list[str]:
    """The run record keeps the first MAX_RECORDED_WARNINGS: a history of 1000 runs must stay
    small, and `buchex export` shows all of them when someone needs the full list."""
    if len(warnings) <= MAX_RECORDED_WARNINGS:
        return warnings
    rest = len(warnings) - MAX_RECORDED_WARNINGS
    return [*warnings[:MAX_RECORDED_WARNINGS], f"… und {rest} weitere Warnungen"]


def format_warning(warning: ExportWarning) -> str:
    where = f"Journal-Nr. {warning.journal_no}, " if warning.journal_no is not None else ""
    return f"{where}{warning.field}: {warning.message}"


def _progress(ws: Workspace, record: RunRecord, opts: RunOptions, line: str) -> None:
    record.steps.append(line)
    ws.runs.update(record)
    if opts.on_progress is not None:
        opts.on_progress(record)


def _export(ws: Workspace, cfg: ExportConfig, out: Path, now: dt.datetime) -> ExportResult:
    from engine.export import ExportError, export
    from engine.ledger import LedgerError

    try:
        with ws.ledger() as ledger:
            return export(cfg, ledger, ws.runs.watermarks(cfg.id), out, now=now)
    except ExportError as exc:
        raise _Failed(STEP_EXPORT, str(exc)) from None
    except LedgerError as exc:
        raise _Failed(STEP_EXPORT, str(exc)) from None


def _deliver(
    ws: Workspace,
    cfg: ExportConfig,
    result: ExportResult,
    record: RunRecord,
    opts: RunOptions,
    run_date: dt.date,
) -> None:
    """Upload every file; transient failures retry the whole delivery with backoff.
    Re-uploading a file that already arrived is harmless: the final name is replaced
    atomically with identical content."""
    delay = opts.backoff
    for attempt in range(1, opts.attempts + 1):
        record.attempts = attempt
        try:
            record.files = _upload_all(ws, cfg, result, record, opts, run_date)
            return
        except TransportError as err:
            if not err.transient or attempt == opts.attempts:
                raise _Failed(err.step, _reason(err)) from None
            _progress(ws, record, opts, f"Versuch {attempt} fehlgeschlagen ({err}); neuer Versuch")
            opts.sleep(delay)
            delay *= 2


def _reason(err: TransportError) -> str:
    return f"{err.reason} ({err.detail})" if err.detail else err.reason


def _upload_all(
    ws: Workspace,
    cfg: ExportConfig,
    result: ExportResult,
    record: RunRecord,
    opts: RunOptions,
    run_date: dt.date,
) -> list[dict[str, object]]:
    delivered: list[dict[str, object]] = []
    transport = make_transport(
        cfg.target,
        known_hosts=ws.data_dir.known_hosts_path,
        timeout=opts.timeout,
        transfer_deadline=opts.transfer_deadline,
    )
    with transport:
        transport.connect()
        folder = transport.ensure_directory(remote_folder(cfg.target, run_date))
        for f in result.files:
            uploaded = transport.upload_atomic(f.path, folder, f.name)
            delivered.append(
                {
                    "name": f.name,
                    "kind": f.kind,
                    "client_id": f.client_id,
                    "remote_path": uploaded.remote_path,
                    "size": uploaded.size,
                    "sha256": f.sha256,
                    "rows": f.rows,
                    "debit_cents": f.debit_cents,
                    "credit_cents": f.credit_cents,
                }
            )
            _progress(ws, record, opts, f"übertragen: {uploaded.remote_path} ({uploaded.size} B)")
    return delivered


def _alert(ws: Workspace, cfg: ExportConfig, record: RunRecord, tz: ZoneInfo) -> dict[str, object]:
    """Failure / reminder / recovery mail per SPEC §3. A mail problem never fails the run."""
    try:
        state = AlertState.from_json(ws.runs.alert_state(cfg.id))
    except ValueError:
        state = AlertState()
    finished = dt.datetime.fromisoformat(record.finished_at or record.started_at)
    outcome = RunOutcome(
        config_id=cfg.id,
        config_name=cfg.name or cfg.id,
        run_id=record.id,
        ok=record.status in ("ok", "nothing"),
        finished_at=finished,
        step=record.step,
        reason=record.reason,
        nothing_to_export=record.status == "nothing",
    )
    if record.status == "skipped":
        return state.to_json()
    secrets = [cfg.target.password]
    new_state, mail = decide(state, outcome, secrets=secrets, tz=tz)
    if mail is not None and cfg.email:
        try:
            smtp = ws.smtp_settings()
        except CipherError as exc:
            record.mail = f"nicht gesendet: {exc}"
        else:
            problem = deliver_alert(smtp, cfg.email, mail, secrets=secrets)
            record.mail = f"nicht gesendet: {problem}" if problem else f"gesendet an {cfg.email}"
    return new_state.to_json()
