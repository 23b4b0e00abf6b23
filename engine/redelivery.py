"""Nachlieferung (SPEC §3): a past delivered run's bookings sent again on purpose.

Rebuilt from the ledger (exactly the journal numbers the journal lists for that run, and
their document images when that run delivered images), written with new names marked
`_Nachlieferung`, delivered through the config's target with
a control file that names the original run. Its own run record (trigger "redeliver",
linked to the original); it moves no watermark and journals nothing. A booking changed or
deleted since refuses the redelivery, naming the journal numbers, unless the admin asks
for today's values.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from engine import control
from engine.clock import Now, inside_window, now_local
from engine.errors import OutsideWindow, RedeliveryRefused
from engine.liveness import own_start, this_host
from engine.runner import (
    STEP_EXPORT,
    Outgoing,
    RunOptions,
    StepFailed,
    capped,
    control_file,
    format_warning,
    outgoing_files,
    upload_all,
    with_retries,
)
from engine.runs import RunCancelled, RunRecord, new_run_id
from engine.transports.base import remote_folder
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.export import ExportResult


def redeliver(
    ws: Workspace,
    run_id: str,
    options: RunOptions | None = None,
    *,
    current: bool = False,
    user: str = "",
    clock: Now = now_local,
) -> RunRecord:
    """Deliver the bookings of a past delivered run again ("Nachlieferung", SPEC §3): rebuilt
    from the ledger, new file names marked as a redelivery, through the config's target.
    Recorded as its own run (trigger "redeliver"); moves no watermark, journals nothing.

    A booking that changed in the ledger since (fingerprint differs) or is gone refuses the
    redelivery naming the journal numbers, unless `current` (send today's values).
    Raises RedeliveryRefused, OutsideWindow (without `options.force`), NotFound, RunBusy."""

    from engine.errors import LedgerError
    from engine.export import ExportError, export

    opts = options or RunOptions(trigger="redeliver")
    delivery = ws.runs.delivery(run_id)
    if delivery is None or delivery.state != "done":
        raise RedeliveryRefused(
            f"Lauf {run_id} hat keine abgeschlossene Lieferung; nachliefern lässt sich nur ein "
            "Lauf, der Dateien übertragen hat."
        )
    cfg = ws.get_config(delivery.config_id)
    tz = ws.time_zone()
    now = clock().astimezone(tz)
    if not opts.force and not inside_window(now):
        raise OutsideWindow(
            f"Es ist {now:%H:%M} Uhr: Läufe sind nur zwischen 06:00 und 22:00 Uhr vorgesehen "
            "(Wartungsfenster). Zum Ausführen ausdrücklich bestätigen (--force)."
        )
    journaled = ws.runs.delivery_bookings(run_id)
    if not journaled:
        raise RedeliveryRefused(f"Lauf {run_id} hat keine Buchungen geliefert.")
    wanted: dict[str, dict[int, int]] = {}
    for client_id, journal_no, fp, _file_no in journaled:
        wanted.setdefault(client_id, {})[journal_no] = fp
    record = RunRecord(
        id=new_run_id(now),
        config_id=cfg.id,
        config_name=cfg.name or cfg.id,
        trigger="redeliver",
        started_at=now.isoformat(timespec="seconds"),
        host_pid=os.getpid(),
        host_started=own_start(),
        host_name=this_host(),
        redelivery_of=run_id,
    )
    differs: list[int] = []
    with ws.runs.exclusive(cfg.id):
        outbox = ws.data_dir.outbox_dir / record.id
        try:
            with ws.ledger() as ledger:
                result = export(
                    cfg,
                    ledger,
                    {},
                    outbox,
                    now=now,
                    index_dir=outbox / ".index",
                    only={c: list(numbers) for c, numbers in wanted.items()},
                    # the images go again exactly when the original delivery had them
                    documents=any(f.kind == "documents" for f in delivery.files),
                )
            differs = _differences(result, wanted)
            if differs and not current:
                listed = ", ".join(str(n) for n in differs[:20])
                more = f" … ({len(differs) - 20} weitere)" if len(differs) > 20 else ""
                raise RedeliveryRefused(
                    f"{len(differs)} Buchung(en) von Lauf {run_id} wurden seitdem in der "
                    f"Buchhaltung geändert oder gelöscht (Journal-Nr. {listed}{more}). "
                    "Mit den heutigen Werten nachliefern: --current (in der Oberfläche: "
                    "bestätigen).",
                    tuple(differs),
                )
            ws.runs.start(record)
            record.steps.append(
                f"Nachlieferung von Lauf {run_id}: {sum(len(v) for v in wanted.values())} "
                "Buchungen"
                + (f", {len(differs)} mit heutigen Werten (--current)" if differs else "")
            )
            record.warnings = capped([format_warning(w) for w in result.warnings])
            outgoing = [
                Outgoing(path, replace(o.planned, name=path.name), o.index, o.values)
                for o in outgoing_files(result)
                for path in [_tagged(o.path)]
            ]
            if cfg.control_file:
                outgoing.append(
                    control_file(cfg, record, outgoing, outbox, now, redelivery_of=run_id)
                )
            folder = remote_folder(cfg.target, now.date())
            record.files = with_retries(
                ws,
                record,
                opts,
                lambda: upload_all(ws, cfg, outgoing, record, opts, folder, lambda: None),
                target=cfg.target,
                folder=folder,
            )
            record.status = "ok"
        except RedeliveryRefused:
            raise
        except StepFailed as exc:
            record.status, record.step, record.reason = "failed", exc.step, exc.reason
            record.detail = exc.detail or None
        except (ExportError, LedgerError) as exc:
            record.status, record.step, record.reason = "failed", STEP_EXPORT, str(exc)
        except RunCancelled as exc:  # RunOptions.cancel (the TUI's x, quitting, SIGHUP)
            record.status, record.step = "failed", exc.step or "Übertragung"
            record.reason = f"abgebrochen: {exc.reason}"
        finally:
            shutil.rmtree(outbox, ignore_errors=True)
        record.finished_at = clock().astimezone(tz).isoformat(timespec="seconds")
        ws.runs.finish(record)
        ws.audit.record(
            "run.redeliver",
            actor=user or None,
            config_id=cfg.id,
            detail=f"Lauf {run_id} nachgeliefert als {record.id}: {record.label}"
            + (", mit heutigen Werten" if current and differs else ""),
        )
    return record


def _tagged(path: Path) -> Path:
    """`EXTF_…_20261127-101500.csv` → `EXTF_…_20261127-101500_Nachlieferung.csv`."""
    tagged = path.with_name(f"{path.stem}_{control.REDELIVERY_TAG}{path.suffix}")
    path.rename(tagged)
    return tagged


def _differences(result: ExportResult, wanted: dict[str, dict[int, int]]) -> list[int]:
    """Journal numbers whose rebuilt values differ from what was delivered, or that are
    gone from the ledger."""
    from engine.export import read_index

    rebuilt: dict[tuple[str, int], int] = {}
    for f in result.files:
        if f.index is not None:
            numbers, fingerprints = read_index(f.index)
            rebuilt.update(
                ((f.client_id, n), fp) for n, fp in zip(numbers, fingerprints, strict=True)
            )
    return sorted(
        journal_no
        for client_id, numbers in wanted.items()
        for journal_no, fp in numbers.items()
        if rebuilt.get((client_id, journal_no)) != fp
    )
