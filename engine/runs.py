"""Run history, watermarks and alert state: one small store file per config.

`runs/<config_id>.json` holds that config's run records (newest RETENTION kept), its
per-client watermarks and its failure-mail state. Keeping them together makes "record the
run and move the watermark" one atomic commit; keeping them apart from `buchex.json` means
the daemon's frequent writes never rewrite the configs the admins edit, and one busy config
never makes another's history slow.

Pollers (the TUI's live log) watch `stamp()`: the runs directory's mtime changes whenever a
file in it is replaced, at the cost of one stat call.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock, Timeout
from tinydb import Query, TinyDB

from engine.store import Store

RETENTION = 1000
RUNS = "runs"
STATE = "state"

Status = Literal["running", "ok", "nothing", "failed", "skipped"]
Trigger = Literal["schedule", "catchup", "manual", "cli"]
STATUS_LABELS: dict[str, str] = {
    "running": "läuft",
    "ok": "erfolgreich",
    "nothing": "nichts zu exportieren",
    "failed": "fehlgeschlagen",
    "skipped": "übersprungen",
}


@dataclass(frozen=True)
class DeliveredFile:
    name: str
    remote_path: str
    size: int
    sha256: str
    rows: int
    debit_cents: int = 0
    credit_cents: int = 0


@dataclass
class RunRecord:
    id: str
    config_id: str
    config_name: str
    trigger: str
    started_at: str  # ISO 8601 with offset
    status: str = "running"
    due_at: str | None = None
    finished_at: str | None = None
    step: str | None = None
    reason: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # human-readable progress lines
    attempts: int = 0
    mail: str | None = None  # why a failure mail could not be sent, if it could not
    host_pid: int = 0

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> RunRecord:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in doc.items() if k in known})


def new_run_id(now: dt.datetime) -> str:
    """Sortable by time, unique across processes."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"


class RunBusy(Exception):
    """The config is already running (in this or another process)."""


class RunStore:
    def __init__(self, runs_dir: Path) -> None:
        self.dir = runs_dir

    def _store(self, config_id: str) -> Store:
        self.dir.mkdir(mode=0o700, exist_ok=True)
        return Store(self.dir / f"{config_id}.json")

    # --- change signal -------------------------------------------------------------------

    def stamp(self) -> int | None:
        try:
            return os.stat(self.dir).st_mtime_ns
        except FileNotFoundError:
            return None

    # --- one run at a time per config, across processes ----------------------------------

    @contextmanager
    def exclusive(self, config_id: str) -> Iterator[None]:
        """Held for the whole run; a second attempt raises RunBusy at once."""
        self.dir.mkdir(mode=0o700, exist_ok=True)
        lock = FileLock(self.dir / f"{config_id}.run.lock", mode=0o600, thread_local=False)
        try:
            lock.acquire(timeout=0)
        except Timeout as exc:
            raise RunBusy(config_id) from exc
        try:
            yield
        finally:
            lock.release()

    def is_busy(self, config_id: str) -> bool:
        try:
            with self.exclusive(config_id):
                return False
        except RunBusy:
            return True

    # --- records -------------------------------------------------------------------------

    def start(self, record: RunRecord) -> None:
        with self._store(record.config_id).transaction() as db:
            db.table(RUNS).insert(asdict(record))

    def update(self, record: RunRecord) -> None:
        """Progress of a running run (steps, attempts) for the live log."""
        with self._store(record.config_id).transaction() as db:
            db.table(RUNS).upsert(asdict(record), Query().id == record.id)

    def finish(
        self,
        record: RunRecord,
        *,
        watermarks: Mapping[str, int] | None = None,
        alert_state: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the outcome; move watermarks in the same commit (only after delivery)."""
        with self._store(record.config_id).transaction() as db:
            runs = db.table(RUNS)
            runs.upsert(asdict(record), Query().id == record.id)
            _merge_state(db, watermarks, alert_state)
            excess = len(runs) - RETENTION
            if excess > 0:
                oldest = sorted(runs.all(), key=lambda d: d["id"])[:excess]
                runs.remove(doc_ids=[d.doc_id for d in oldest])

    # --- reading -------------------------------------------------------------------------

    def _state(self, config_id: str) -> dict[str, Any]:
        path = self.dir / f"{config_id}.json"
        if not path.exists():
            return {}
        with Store(path).snapshot() as db:
            return dict(db.table(STATE).get(doc_id=1) or {})

    def watermarks(self, config_id: str) -> dict[str, int]:
        return {k: int(v) for k, v in self._state(config_id).get("watermarks", {}).items()}

    def alert_state(self, config_id: str) -> dict[str, Any]:
        return dict(self._state(config_id).get("alert", {}))

    def set_watermarks(self, config_id: str, watermarks: Mapping[str, int]) -> None:
        """Direct move (`buchex export --commit`)."""
        with self._store(config_id).transaction() as db:
            _merge_state(db, watermarks, None)

    def runs(self, config_id: str | None = None, *, failed: bool = False) -> list[RunRecord]:
        """Newest first."""
        paths = (
            [self.dir / f"{config_id}.json"]
            if config_id
            else sorted(self.dir.glob("*.json"))
            if self.dir.exists()
            else []
        )
        records: list[RunRecord] = []
        for path in paths:
            if not path.exists():
                continue
            with Store(path).snapshot() as db:
                records += [RunRecord.from_doc(d) for d in db.table(RUNS).all()]
        if failed:
            records = [r for r in records if r.status == "failed"]
        return sorted(records, key=lambda r: r.id, reverse=True)

    def last_run(self, config_id: str) -> RunRecord | None:
        runs = self.runs(config_id)
        return runs[0] if runs else None


def _merge_state(
    db: TinyDB, watermarks: Mapping[str, int] | None, alert_state: Mapping[str, Any] | None
) -> None:
    state = db.table(STATE)
    doc = dict(state.get(doc_id=1) or {})
    if watermarks:
        merged = dict(doc.get("watermarks", {}))
        merged.update({str(k): int(v) for k, v in watermarks.items()})
        doc["watermarks"] = merged
    if alert_state is not None:
        doc["alert"] = dict(alert_state)
    if not doc:
        return
    if state.get(doc_id=1) is None:
        state.insert(doc)
    else:
        state.update(doc, doc_ids=[1])
