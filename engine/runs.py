"""Run history, watermarks and alert state: one small store file per config.

`runs/<config_id>.json` holds that config's run records (newest RETENTION kept), its
per-client watermarks and its failure-mail state, and a summary of its newest run (state
key "last", kept by every write, so "Letzter Lauf" need not parse the records: meta and
state are written first in the file and read alone). Keeping them together makes "record the
run and move the watermark" one atomic commit; keeping them apart from `buchex.json` means
the daemon's frequent writes never rewrite the configs the admins edit, and one busy config
never makes another's history slow.

Pollers (the TUI's live log) watch `stamp()`: the runs directory's mtime changes whenever a
file in it is replaced, at the cost of one stat call; `file_stamp(config_id)` does the same
for one config's file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock, Timeout
from tinydb import Query, TinyDB

from engine.store import META, SCHEMA_VERSION, Stamp, Store

RETENTION = 1000
RUNS = "runs"
STATE = "state"
LAST = "last"  # key in the state doc: summary of the newest run (see RunSummary)
_HEAD_BYTES = 64 * 1024  # the state doc is written first; this much holds it in practice

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


@dataclass(frozen=True)
class RunSummary:
    """The newest run of a config, kept in the state doc so "Letzter Lauf" needs no scan."""

    id: str
    status: str
    started_at: str
    finished_at: str | None = None

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> RunSummary:
        return cls(
            id=str(doc["id"]),
            status=str(doc.get("status", "running")),
            started_at=str(doc["started_at"]),
            finished_at=doc.get("finished_at"),
        )

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


def new_run_id(now: dt.datetime) -> str:
    """Sortable by time, unique across processes."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"


class RunBusy(Exception):
    """The config is already running (in this or another process)."""


class RunStore:
    def __init__(self, runs_dir: Path) -> None:
        self.dir = runs_dir

    def _path(self, config_id: str) -> Path:
        return self.dir / f"{config_id}.json"

    def _store(self, config_id: str) -> Store:
        self.dir.mkdir(mode=0o700, exist_ok=True)
        # Meta and state first in the file: `_read_head` then reads them without parsing
        # the (up to RETENTION) run records behind them.
        return Store(self._path(config_id), first_keys=(META, STATE))

    # --- change signal -------------------------------------------------------------------

    def stamp(self) -> int | None:
        try:
            return os.stat(self.dir).st_mtime_ns
        except FileNotFoundError:
            return None

    def file_stamp(self, config_id: str) -> Stamp | None:
        """Changes with every commit to this config's file (one stat call, like
        `Store.stamp`); None if it has none."""
        try:
            st = os.stat(self._path(config_id))
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

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
            _note_last(db, record)

    def update(self, record: RunRecord) -> None:
        """Progress of a running run (steps, attempts) for the live log."""
        with self._store(record.config_id).transaction() as db:
            db.table(RUNS).upsert(asdict(record), Query().id == record.id)
            _note_last(db, record)

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
            _note_last(db, record)
            excess = len(runs) - RETENTION
            if excess > 0:
                oldest = sorted(runs.all(), key=lambda d: d["id"])[:excess]
                runs.remove(doc_ids=[d.doc_id for d in oldest])

    # --- reading -------------------------------------------------------------------------

    def _state(self, config_id: str) -> dict[str, Any]:
        path = self._path(config_id)
        head = _read_head(path)
        if head is not None:
            return head
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

    def last_run(self, config_id: str) -> RunSummary | None:
        """The newest run: from the state doc's summary, or (files written before it
        existed) from one pass over the records."""
        path = self._path(config_id)
        head = _read_head(path)
        if head is not None and isinstance(head.get(LAST), Mapping):
            return RunSummary.of(head[LAST])
        try:
            data = json.loads(path.read_bytes())
            if data.get(META, {}).get("1", {}).get("schema", 0) > SCHEMA_VERSION:
                raise ValueError("newer schema")
            state = data.get(STATE, {}).get("1", {})
            docs = list(data.get(RUNS, {}).values())
            newest = (
                state[LAST]
                if LAST in state
                else max(docs, key=lambda d: str(d["id"]), default=None)
            )
            return None if newest is None else RunSummary.of(newest)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError, KeyError, AttributeError):
            # Damaged or unexpected: the store's own read reports it (StoreError).
            with Store(path).snapshot() as db:
                docs = db.table(RUNS).all()
            return RunSummary.of(max(docs, key=lambda d: str(d["id"]))) if docs else None

    def last_runs(self) -> dict[str, RunSummary]:
        """The newest run of every config that has run records, by config id."""
        if not self.dir.exists():
            return {}
        result: dict[str, RunSummary] = {}
        for path in sorted(self.dir.glob("*.json")):
            last = self.last_run(path.stem)
            if last is not None:
                result[path.stem] = last
        return result


def _note_last(db: TinyDB, record: RunRecord) -> None:
    """Keep the state doc's summary on the newest run (ids sort by start time)."""
    state = db.table(STATE)
    doc = state.get(doc_id=1)
    last = doc.get(LAST) if doc is not None else None
    if isinstance(last, Mapping) and str(last.get("id", "")) > record.id:
        return
    summary = RunSummary.of(asdict(record)).to_doc()
    if doc is None:
        state.insert({LAST: summary})
    else:
        state.update({LAST: summary}, doc_ids=[1])


def _read_head(path: Path) -> dict[str, Any] | None:
    """The state doc of a run file without parsing its run records: RunStore writes meta
    and state first. None if the file is missing, or does not start that way (written
    before that order, or a state larger than the head), or is damaged: the caller then
    reads the whole file, which also reports damage."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(_HEAD_BYTES)
    except FileNotFoundError:
        return None
    text = raw.decode("utf-8", errors="replace")
    decoder = json.JSONDecoder()
    try:
        pos = _skip_ws(text, 0)
        if text[pos] != "{":
            return None
        pos += 1
        seen: dict[str, Any] = {}
        while True:
            pos = _skip_ws(text, pos)
            key, pos = decoder.raw_decode(text, pos)
            pos = _skip_ws(text, pos)
            if not isinstance(key, str) or text[pos] != ":" or key not in (META, STATE):
                return None
            value, pos = decoder.raw_decode(text, _skip_ws(text, pos + 1))
            seen[key] = value
            if STATE in seen:
                break
            pos = _skip_ws(text, pos)
            if text[pos] != ",":
                return None
            pos += 1
    except (ValueError, IndexError):
        return None
    meta, state = seen.get(META), seen[STATE]
    meta_doc = meta.get("1") if isinstance(meta, dict) else None
    schema = meta_doc.get("schema") if isinstance(meta_doc, dict) else None
    if not isinstance(state, dict) or not isinstance(schema, int) or schema > SCHEMA_VERSION:
        return None  # the full read decides (and raises the "newer schema" error)
    doc = state.get("1")
    return dict(doc) if isinstance(doc, dict) else {}


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


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
