"""One run of a config: reconcile, export, plan, deliver, record, alert (SPEC §3).

1. Reconcile: a delivery an earlier run planned but never finished (killed, cut, full
   disk) is completed first. Its files wait in the outbox; on the server, a file already
   there under its final name with the planned size counts as delivered, the others are
   sent under the planned names, leftover temporary files are removed. So after a crash the
   advisor gets every booking exactly once.
2. Export: the bookings above the watermark, plus those below it (down to the look-back
   floor) that the journal does not list: late-visible bookings are never lost.
3. Plan: before the first upload, the files and their bookings go into the journal.
4. Deliver; then one commit marks the delivery done, records the run, moves the watermark.

A failed delivery keeps its plan and outbox for the next run's reconcile. One config never
runs twice at once (`Journal.exclusive`, across processes). Every failure ends as a run
record naming the step and a plain reason; nothing escapes as a bare traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import posixpath
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

from engine import control
from engine.alerts import AlertState, RunOutcome, decide, deliver_alert
from engine.changes import warning_line
from engine.clock import Now, inside_window, now_local
from engine.config import ExportConfig, Target
from engine.errors import CipherError, OutsideWindow, Step, TransportError, Unfinished
from engine.explain import explain_transport
from engine.journal import BookingIndex, Change, ClientMark, Delivery, JournalError, PlannedFile
from engine.liveness import own_start, this_host
from engine.paths import local_problem
from engine.runs import (
    CancelToken,
    Interrupted,
    RunBusy,
    RunCancelled,
    RunRecord,
    new_run_id,
    owner_gone_reason,
)
from engine.transports import make_transport
from engine.transports.base import Transport, remote_folder, temp_name
from engine.workspace import Workspace

if TYPE_CHECKING:
    # engine.export and engine.ledger load SQLAlchemy: imported in `_export`, so that the
    # TUI (whose hooks import this module) starts without it.
    from engine.export import ExportResult, ExportWarning, LookBack

log = logging.getLogger("buchex.run")

MAX_RECORDED_WARNINGS = 100
STEP_PREPARE = "Vorbereitung"
STEP_RECONCILE = "Abgleich"
STEP_EXPORT = "Export"
STEP_PLAN = "Exportjournal"
STEP_DELIVER = "Übertragung"
#: How often a run looks below the look-back window, down to the baseline (SPEC §3).
FULL_CHECK_EVERY = dt.timedelta(days=1)

_T = TypeVar("_T")


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
    # Cancels the run (the TUI's "Abbrechen", its SIGHUP): checked between steps and files
    # and per upload block; the record ends failed, "abgebrochen", with the step.
    cancel: CancelToken | None = None


class StepFailed(Exception):
    """`reason`: German, for anyone; `detail`: the server's own text (RunRecord.detail)."""

    def __init__(self, step: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason
        self.detail = detail


def run_config(
    ws: Workspace,
    cfg: ExportConfig,
    options: RunOptions | None = None,
    *,
    clock: Now = now_local,
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
        host_started=own_start(),
        host_name=this_host(),
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
    clock: Now,
    tz: ZoneInfo,
) -> RunRecord:
    _settle_dead_runs(ws, cfg, clock().astimezone(tz))
    record.progress = {"step": STEP_PREPARE}
    ws.runs.start(record)
    watermarks: dict[str, int] | None = None
    marks: dict[str, ClientMark] | None = None
    changes: list[Change] = []
    full_check_at: str | None = None
    planned = False
    outbox = ws.data_dir.outbox_dir / record.id
    step = STEP_PREPARE
    try:
        unfinished = ws.runs.open_delivery(cfg.id)
        reconciled: list[dict[str, object]] = []
        if unfinished is not None:
            step = STEP_RECONCILE
            reconciled = _reconcile(ws, cfg, unfinished, record, opts, clock, tz)
            record.files = list(reconciled)
        step = STEP_EXPORT
        if opts.cancel is not None:
            opts.cancel.check()
        record.progress["step"] = STEP_EXPORT
        ws.runs.update(record)
        now = clock().astimezone(tz)
        lookback, marks, full = _lookback(ws, cfg, now)
        result, changes = _export(ws, cfg, outbox, now, lookback)
        record.warnings = capped(
            [*(warning_line(c) for c in changes), *(format_warning(w) for w in result.warnings)]
        )
        if changes:
            _tell_changes(ws, cfg, record, changes)
        record.late = result.late
        record.gaps = _gap_lines(result)
        if full:
            full_check_at = now.isoformat(timespec="seconds")
        if result.late:
            log.warning(
                "Lauf %s: %d spät sichtbare Buchung(en) nachgeliefert", record.id, result.late
            )
        if result.nothing_to_export and reconciled:
            record.status = "ok"
            record.reason = "unterbrochene Lieferung abgeschlossen; keine neuen Buchungen"
        elif result.nothing_to_export:
            record.status = "nothing"
            record.reason = "nichts zu exportieren"
        else:
            rows = sum(f.rows for f in result.files if f.kind != "documents")
            images = sum(len(f.images) for f in result.files)
            _progress(
                ws,
                record,
                opts,
                f"Export: {len(result.files)} Datei(en), {rows} Zeilen"
                + (f", {images} Belegbilder" if images else ""),
                step=STEP_DELIVER,
                rows=rows,
            )
            outgoing = outgoing_files(result)
            if cfg.control_file:
                outgoing.append(control_file(cfg, record, outgoing, outbox, now))
            folder = remote_folder(cfg.target, clock().astimezone(tz).date())

            def plan() -> None:
                # Once connected and in the folder, right before the first upload: a run
                # that cannot even log in leaves nothing to reconcile.
                nonlocal planned, step
                if not planned:
                    step = STEP_PLAN
                    _plan(ws, record, result, outgoing, folder, clock().astimezone(tz))
                    planned, step = True, STEP_DELIVER
                    _progress(ws, record, opts, "Lieferung im Exportjournal vorgemerkt")

            delivered = with_retries(
                ws,
                record,
                opts,
                lambda: upload_all(ws, cfg, outgoing, record, opts, folder, plan),
                target=cfg.target,
                folder=folder,
            )
            record.files = [*reconciled, *delivered]
            record.status = "ok"
        watermarks = result.watermarks
    except StepFailed as exc:
        record.status, record.step, record.reason = "failed", exc.step, exc.reason
        record.detail = exc.detail or None
    except JournalError as exc:
        record.status, record.step, record.reason = "failed", step, str(exc)
    except OSError as exc:  # the data directory: full, read-only, gone
        record.status, record.step, record.reason = "failed", step, local_problem(exc)
    except RunCancelled as exc:
        record.status, record.step = "failed", exc.step or step
        record.reason = f"abgebrochen: {exc.reason}"
    except (KeyboardInterrupt, Interrupted) as exc:
        # Stopped from outside: record the true end, then let the process stop.
        how = exc.signal_name if isinstance(exc, Interrupted) else "Strg+C (SIGINT)"
        record.status, record.step = "failed", step
        record.reason = f"abgebrochen: Prozess beendet ({how})"
        record.finished_at = clock().astimezone(tz).isoformat(timespec="seconds")
        if planned:
            record.reason += "; die geplanten Dateien werden beim nächsten Lauf abgeglichen"
        with contextlib.suppress(Exception):
            ws.runs.finish(record, alert_state=_alert(ws, cfg, record, tz))
        raise
    except Exception as exc:  # the record must name a step, whatever went wrong
        log.exception("Lauf %s: unerwarteter Fehler im Schritt %s", record.id, step)
        record.status, record.step = "failed", step
        record.reason = f"interner Fehler ({type(exc).__name__}: {exc})"
    if record.status == "failed" and planned:
        record.reason = (
            f"{(record.reason or '').rstrip('.')}. Die geplanten Dateien liegen bereit und "
            "werden beim nächsten Lauf mit dem Server abgeglichen und nachgereicht."
        )
    record.finished_at = clock().astimezone(tz).isoformat(timespec="seconds")
    alert_state = _alert(ws, cfg, record, tz)
    succeeded = record.status in ("ok", "nothing")
    ws.runs.finish(
        record,
        watermarks=watermarks if succeeded else None,
        alert_state=alert_state,
        delivery=record.id if record.status == "ok" else None,
        marks=marks if succeeded else None,
        full_check_at=full_check_at if succeeded else None,
        changes=changes,
        keep_values_above=(
            {c: wm - ws.chain_settings().lookback for c, wm in watermarks.items()}
            if succeeded and watermarks
            else None
        ),
    )
    if succeeded or not planned:  # a planned, unfinished delivery keeps its files
        shutil.rmtree(outbox, ignore_errors=True)
    return record


def export_local(
    ws: Workspace,
    cfg: ExportConfig,
    out: Path,
    *,
    commit: bool,
    warnings_file: Path | None = None,
    clock: Now = now_local,
) -> ExportResult:
    """`buchex export`: the files a run would upload, written to `out`, with the same
    selection as a run (look-back included). `commit`: record them in the journal as
    delivered (a run record with trigger "export"), so no run sends them again.

    Raises RunBusy, Unfinished, ExportError, LedgerError, JournalError."""
    import tempfile

    from engine.export import export

    tz = ws.time_zone()
    now = clock().astimezone(tz)
    with ws.runs.exclusive(cfg.id), tempfile.TemporaryDirectory(prefix="buchex-idx-") as tmp:
        unfinished = ws.runs.open_delivery(cfg.id)
        if commit and unfinished is not None:
            raise Unfinished(
                f"Die Lieferung von Lauf {unfinished.run_id} ist nicht abgeschlossen; erst "
                f"»buchex run {cfg.id}« ausführen, damit sie abgeglichen wird."
            )
        lookback, marks, full = _lookback(ws, cfg, now)
        with ws.ledger() as ledger:
            result = export(
                cfg,
                ledger,
                ws.runs.watermarks(cfg.id),
                out,
                now=now,
                lookback=lookback,
                index_dir=Path(tmp) if commit else None,
                warnings_file=warnings_file,
            )
        if not commit:
            return result
        record = RunRecord(
            id=new_run_id(now),
            config_id=cfg.id,
            config_name=cfg.name or cfg.id,
            trigger="export",
            started_at=now.isoformat(timespec="seconds"),
            finished_at=now.isoformat(timespec="seconds"),
            status="ok" if result.files else "nothing",
            reason=f"lokal exportiert nach {out} und als geliefert verbucht",
            warnings=capped([format_warning(w) for w in result.warnings]),
            late=result.late,
            gaps=_gap_lines(result),
            host_pid=os.getpid(),
        )
        outgoing = outgoing_files(result)
        record.files = [o.planned.doc(str(o.path)) for o in outgoing]
        if result.files:
            _plan(ws, record, result, outgoing, str(out), now)
        ws.runs.finish(
            record,
            watermarks=result.watermarks,
            delivery=record.id if result.files else None,
            marks=marks,
            full_check_at=now.isoformat(timespec="seconds") if full else None,
        )
        return result


def _settle_dead_runs(ws: Workspace, cfg: ExportConfig, now: dt.datetime) -> None:
    """Records of this config still "running" belong to a process that is gone: we hold
    the config's run lock, which that process would hold while it ran."""
    for stale in ws.runs.running(cfg.id):
        record_abort(ws, cfg, stale, owner_gone_reason(stale), clock=lambda: now)


def record_abort(
    ws: Workspace, cfg: ExportConfig, record: RunRecord, reason: str, *, clock: Now = now_local
) -> None:
    """End a run record that its process could not end (killed, cut by the daemon's stop):
    failed, the failure mail as for any failed run, one commit."""
    tz = ws.time_zone()
    record.status, record.step = "failed", record.step or STEP_PREPARE
    record.reason = reason
    record.finished_at = clock().astimezone(tz).isoformat(timespec="seconds")
    ws.runs.finish(record, alert_state=_alert(ws, cfg, record, tz))


def selection_key(cfg: ExportConfig) -> str:
    """The filters that decide which bookings a config selects: when they change, the
    look-back starts at the watermark (filters apply to bookings journaled from then on)."""
    doc = {
        "document_types": sorted(cfg.document_types),
        "payment_methods": sorted(cfg.payment_methods),
        "branch": cfg.branch or "",
        "incoming_export": bool(cfg.incoming_export),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def _lookback(
    ws: Workspace, cfg: ExportConfig, now: dt.datetime
) -> tuple[dict[str, LookBack], dict[str, ClientMark], bool]:
    """Per client: where this run looks for bookings the journal does not list; the
    baselines to store; whether this is the daily full check (down to the baseline)."""
    from engine.export import LookBack

    window = ws.chain_settings().lookback
    marks = ws.runs.marks(cfg.id)
    last_full = ws.runs.last_full_check(cfg.id)
    full = last_full is None or now - last_full >= FULL_CHECK_EVERY or now < last_full
    key = selection_key(cfg)
    lookback: dict[str, LookBack] = {}
    new_marks: dict[str, ClientMark] = {}
    for client_id in dict.fromkeys(cfg.clients):
        mark = marks.get(client_id, ClientMark())
        baseline = mark.baseline
        if mark.selection is not None and mark.selection != key:
            baseline = max(baseline, mark.watermark)
        if mark.selection != key:
            new_marks[client_id] = ClientMark(mark.watermark, baseline, key)
        normal = max(baseline, mark.watermark - window)
        lookback[client_id] = LookBack(
            floor=baseline if full else normal,
            loud_below=normal,
            delivered=functools.partial(ws.runs.delivered_numbers, cfg.id, client_id),
        )
    return lookback, new_marks, full


def _gap_lines(result: ExportResult) -> list[str]:
    from engine.export import format_gaps

    return [format_gaps(client_id, gaps) for client_id, gaps in result.gaps.items()]


@dataclass(frozen=True)
class Outgoing:
    """A file of this run's delivery: where it lies, what is planned for it."""

    path: Path
    planned: PlannedFile
    index: Path | None = None  # its bookings (journal number, fingerprint), for the journal
    values: Path | None = None  # values of its bookings in the look-back window (JSON lines)


def outgoing_files(result: ExportResult) -> list[Outgoing]:
    return [
        Outgoing(
            f.path,
            PlannedFile(
                name=f.name,
                size=f.size,
                sha256=f.sha256,
                rows=f.rows,
                kind=f.kind,
                client_id=f.client_id,
                debit_cents=f.debit_cents,
                credit_cents=f.credit_cents,
                journal_from=f.journal_from,
                journal_to=f.journal_to,
                date_from=f.date_from.isoformat() if f.date_from else None,
                date_to=f.date_to.isoformat() if f.date_to else None,
                accounts=f.accounts,
                tax_keys=f.tax_keys,
                images=tuple((i.journal_no, i.guid, i.member, i.size, i.sha256) for i in f.images),
            ),
            f.index,
            f.values,
        )
        for f in result.files
    ]


def control_file(
    cfg: ExportConfig,
    record: RunRecord,
    data: list[Outgoing],
    folder: Path,
    now: dt.datetime,
    *,
    redelivery_of: str | None = None,
) -> Outgoing:
    """The control file for `data`, written into `folder`; delivered last."""
    name = control.file_name(cfg.id, now, redelivery=redelivery_of is not None)
    path = folder / name
    size, sha256 = control.write(
        path,
        run_id=record.id,
        config_id=cfg.id,
        config_name=cfg.name or cfg.id,
        now=now,
        files=[{**o.planned.doc(""), "images": o.planned.images} for o in data],
        redelivery_of=redelivery_of,
    )
    planned = PlannedFile(name=name, size=size, sha256=sha256, rows=0, kind="control", client_id="")
    return Outgoing(path, planned)


def _plan(
    ws: Workspace,
    record: RunRecord,
    result: ExportResult,
    outgoing: list[Outgoing],
    folder: str,
    now: dt.datetime,
) -> None:
    """Journal the files and their bookings before the first upload (SPEC §3)."""
    from engine.export import read_index

    def indexes() -> Iterator[BookingIndex]:
        for file_no, o in enumerate(outgoing):
            if o.index is None:
                continue
            journal_nos, fingerprints = read_index(o.index)
            values: list[tuple[int, str]] = []
            if o.values is not None:
                with o.values.open(encoding="utf-8") as fh:
                    values = [(int(line[1 : line.index(",")]), line.rstrip("\n")) for line in fh]
            yield BookingIndex(o.planned.client_id, file_no, journal_nos, fingerprints, values)

    ws.runs.plan_delivery(
        record,
        folder=folder,
        files=[o.planned for o in outgoing],
        watermarks=result.watermarks,
        bookings=indexes(),
        now=now.isoformat(timespec="seconds"),
    )


def _reconcile(
    ws: Workspace,
    cfg: ExportConfig,
    delivery: Delivery,
    record: RunRecord,
    opts: RunOptions,
    clock: Now,
    tz: ZoneInfo,
) -> list[dict[str, object]]:
    """Complete the delivery a cut run planned: what arrived counts, the rest is sent now
    under the planned names from the outbox. Files whose outbox copy is gone are taken out
    of the journal, so the look-back selects their bookings again."""
    outbox = ws.data_dir.outbox_dir / delivery.run_id
    intact = {i for i, f in enumerate(delivery.files) if _intact(outbox / f.name, f)}
    _progress(
        ws,
        record,
        opts,
        f"Abgleich: Lieferung von Lauf {delivery.run_id} war nicht abgeschlossen "
        f"({len(delivery.files)} Datei(en) geplant)",
        step=STEP_RECONCILE,
    )

    def attempt() -> tuple[list[int], list[int], list[int], list[dict[str, object]]]:
        there: list[int] = []
        sent: list[int] = []
        lost: list[int] = []
        done: list[dict[str, object]] = []
        with _transport(ws, cfg, opts) as transport:
            transport.connect()
            folder = transport.ensure_directory(delivery.folder)
            for i, f in enumerate(delivery.files):
                final = posixpath.join(folder, f.name)
                transport.discard(posixpath.join(folder, temp_name(f.name)))
                if transport.remote_size(final) == f.size:
                    there.append(i)
                elif i in intact:
                    transport.upload_atomic(outbox / f.name, folder, f.name)
                    sent.append(i)
                else:
                    lost.append(i)
                    continue
                done.append(f.doc(final))
        return there, sent, lost, done

    there, sent, lost, done = with_retries(
        ws, record, opts, attempt, target=cfg.target, folder=delivery.folder
    )
    if lost:
        dropped = ws.runs.drop_files(delivery.run_id, lost)
        log.warning(
            "Lauf %s: %d geplante Datei(en) von Lauf %s fehlen im Ausgang; %d Buchungen "
            "werden neu ausgewählt",
            record.id,
            len(lost),
            delivery.run_id,
            dropped,
        )
    now = clock().astimezone(tz).isoformat(timespec="seconds")
    cut = ws.runs.run(delivery.run_id) or RunRecord(
        id=delivery.run_id,
        config_id=cfg.id,
        config_name=cfg.name or cfg.id,
        trigger="manual",
        started_at=delivery.created_at,
        status="failed",
    )
    summary = (
        f"Lieferung beim Lauf {record.id} abgeglichen: {len(there)} Datei(en) waren schon auf "
        f"dem Server, {len(sent)} nachgereicht"
        + (f", {len(lost)} nicht mehr vorhanden (Buchungen neu ausgewählt)" if lost else "")
    )
    cut.files = done
    cut.steps.append(summary)
    if cut.status == "running":
        cut.status, cut.step = "failed", cut.step or STEP_PREPARE
        cut.reason = "abgebrochen, bevor die Lieferung abgeschlossen war"
        cut.finished_at = now
    ws.runs.finish(cut, delivery=delivery.run_id)
    shutil.rmtree(outbox, ignore_errors=True)
    _progress(ws, record, opts, summary)
    return done


def _intact(path: Path, planned: PlannedFile) -> bool:
    """The outbox copy is the planned file, byte for byte."""
    try:
        if path.stat().st_size != planned.size:
            return False
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest() == planned.sha256
    except OSError:
        return False


def _tell_changes(
    ws: Workspace, cfg: ExportConfig, record: RunRecord, changes: list[Change]
) -> None:
    """One mail to the config's E-Mail naming the changes found (each is found once)."""
    from engine.alerts import Mail
    from engine.changes import mail_text

    log.warning("Lauf %s: %d gelieferte Buchung(en) nachträglich geändert", record.id, len(changes))
    if not cfg.email:
        return
    subject, body = mail_text(cfg.name or cfg.id, cfg.id, changes)
    try:
        smtp = ws.smtp_settings()
    except CipherError as exc:
        record.mail = f"Änderungsmail nicht gesendet: {exc}"
        return
    problem = deliver_alert(smtp, cfg.email, Mail(subject, body, "changes"), secrets=[])
    record.mail = (
        f"Änderungsmail nicht gesendet: {problem}"
        if problem
        else f"Änderungsmail gesendet an {cfg.email}"
    )


def capped(warnings: list[str]) -> list[str]:
    """The run record keeps the first MAX_RECORDED_WARNINGS: a history of 1000 runs must stay
    small, and `buchex export` shows all of them when someone needs the full list."""
    if len(warnings) <= MAX_RECORDED_WARNINGS:
        return warnings
    rest = len(warnings) - MAX_RECORDED_WARNINGS
    return [*warnings[:MAX_RECORDED_WARNINGS], f"… und {rest} weitere Warnungen"]


def format_warning(warning: ExportWarning) -> str:
    where = f"Journal-Nr. {warning.journal_no}, " if warning.journal_no is not None else ""
    return f"{where}{warning.field}: {warning.message}"


def _progress(
    ws: Workspace, record: RunRecord, opts: RunOptions, line: str, **progress: object
) -> None:
    """A progress line (and `progress` into RunRecord.progress), written for the readers."""
    record.steps.append(line)
    record.progress.update(progress)
    ws.runs.update(record)
    if opts.on_progress is not None:
        opts.on_progress(record)
    if opts.cancel is not None:  # between steps and files
        opts.cancel.check()


def _export(
    ws: Workspace,
    cfg: ExportConfig,
    outbox: Path,
    now: dt.datetime,
    lookback: dict[str, LookBack],
) -> tuple[ExportResult, list[Change]]:
    """The run's files, and the delivered bookings of the look-back window that the ledger
    changed or deleted since (reported, never resent)."""
    from engine.changes import find_changes
    from engine.errors import LedgerError
    from engine.export import ExportError, export

    try:
        with ws.ledger() as ledger:
            watermarks = ws.runs.watermarks(cfg.id)
            changes = [
                change
                for client_id, back in lookback.items()
                if watermarks.get(client_id, 0) > back.loud_below
                for change in find_changes(
                    ledger,
                    ws.runs,
                    cfg.id,
                    client_id,
                    back.loud_below,
                    watermarks[client_id],
                )
            ]
            result = export(
                cfg,
                ledger,
                watermarks,
                outbox,
                now=now,
                lookback=lookback,
                index_dir=outbox / ".index",
                keep_values_window=ws.chain_settings().lookback,
            )
            return result, changes
    except ExportError as exc:
        raise StepFailed(STEP_EXPORT, str(exc)) from None
    except LedgerError as exc:
        raise StepFailed(STEP_EXPORT, str(exc)) from None


def with_retries(
    ws: Workspace,
    record: RunRecord,
    opts: RunOptions,
    action: Callable[[], _T],
    *,
    target: Target | None = None,
    folder: str | None = None,
) -> _T:
    """`action` (one connection's work); transient failures retry it with backoff.
    Re-uploading a file that already arrived is harmless: the final name is replaced
    atomically with identical content. The last failure becomes `StepFailed` with the
    German sentence about `target` and `folder` (engine.explain) and the server's text."""
    delay = opts.backoff
    for attempt in range(1, opts.attempts + 1):
        record.attempts = attempt
        try:
            return action()
        except TransportError as err:
            if opts.cancel is not None and opts.cancel.cancelled:  # cut by the cancel
                raise RunCancelled(opts.cancel.reason, err.step) from None
            if not err.transient or attempt == opts.attempts:
                raise transport_failed(err, target, folder, record.config_id) from None
            _progress(ws, record, opts, f"Versuch {attempt} fehlgeschlagen ({err}); neuer Versuch")
            if opts.cancel is None:
                opts.sleep(delay)
            elif opts.cancel.wait(delay):
                raise RunCancelled(opts.cancel.reason, err.step) from None
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover - attempts >= 1


def _reason(err: TransportError) -> str:
    return f"{err.reason} ({err.detail})" if err.detail else err.reason


def transport_failed(
    err: TransportError, target: Target | None, folder: str | None, config_id: str
) -> StepFailed:
    """A failed delivery step for the run record: what happened and what to check, naming
    host, port, user and folder (engine.explain); the server's own text as its detail."""
    if target is None:
        return StepFailed(err.step, _reason(err))
    explained = explain_transport(err, target, folder=folder, config_id=config_id)
    return StepFailed(err.step, explained.sentence, explained.detail)


@contextlib.contextmanager
def _transport(ws: Workspace, cfg: ExportConfig, opts: RunOptions) -> Iterator[Transport]:
    """One connection, closed at the end; a cancelled run cuts it (`CancelToken`)."""
    with make_transport(
        cfg.target,
        known_hosts=ws.data_dir.known_hosts_path,
        timeout=opts.timeout,
        transfer_deadline=opts.transfer_deadline,
    ) as transport:
        transport.cancel = opts.cancel
        if opts.cancel is None:
            yield transport
            return
        opts.cancel.check(Step.CONNECT)
        with opts.cancel.abort_hook(transport.abort):
            yield transport


def upload_all(
    ws: Workspace,
    cfg: ExportConfig,
    outgoing: list[Outgoing],
    record: RunRecord,
    opts: RunOptions,
    folder: str,
    before_upload: Callable[[], None],
) -> list[dict[str, object]]:
    """Every file in order; the control file comes last, so its presence on the server
    means the delivery is complete."""
    delivered: list[dict[str, object]] = []
    record.progress.update(
        files_total=len(outgoing),
        files_done=0,
        bytes_total=sum(o.planned.size for o in outgoing),
        bytes_done=0,
    )
    # [wall s since the epoch, process CPU s] at start, connected, planned, closed (for
    # bench.transfer: the delivery part of a whole-process run)
    clock: list[tuple[float, float]] = []
    record.progress["delivery_clock"] = clock
    clock.append((round(time.time(), 4), round(time.process_time(), 4)))
    with _transport(ws, cfg, opts) as transport:
        transport.connect()
        remote = transport.ensure_directory(folder)
        clock.append((round(time.time(), 4), round(time.process_time(), 4)))
        before_upload()
        clock.append((round(time.time(), 4), round(time.process_time(), 4)))
        for o in outgoing:
            uploaded = transport.upload_atomic(o.path, remote, o.planned.name)
            delivered.append(o.planned.doc(uploaded.remote_path))
            _progress(
                ws,
                record,
                opts,
                f"übertragen: {uploaded.remote_path} ({uploaded.size} B)",
                files_done=len(delivered),
                bytes_done=int(record.progress.get("bytes_done") or 0) + uploaded.size,
            )
    clock.append((round(time.time(), 4), round(time.process_time(), 4)))
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
        detail=record.detail,
        nothing_to_export=record.status == "nothing",
        delivered=control.summary(record.files) if record.files else None,
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
