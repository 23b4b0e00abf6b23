"""The export journal: one SQLite database per data directory (`journal.sqlite`, SPEC §3).

It holds, per config, the run history, the per-client watermarks, the failure-mail state,
every delivered booking (client, journal number, fingerprint of the exported values, run,
file) and the deliveries themselves (planned files with size and SHA-256). Keeping all of
it in one database makes "record the run, journal its bookings, move the watermark" one
transaction.

The life of a delivery (engine/runner.py drives it):
1. `plan_delivery`: before the first upload, one transaction records the planned files and
   journals their bookings, state "planned". From here on a crash loses nothing: the files
   wait in the data directory's outbox.
2. The files are uploaded.
3. `finish(record, delivery=…)`: one transaction marks the delivery "done", records the
   run and moves the watermarks.
A delivery still "planned" when the next run starts was cut (crash, kill, cut connection):
that run reconciles it with the server first (`engine.runner`), so its bookings are neither
lost nor sent twice.

Concurrency: WAL mode, one connection per thread, every write `BEGIN IMMEDIATE` with a busy
timeout, so the TUI, the daemon and CLI calls share the file safely. Readers never block
writers. A damaged database or one from a newer buchex is reported by path and never
touched.

Pollers (the TUI) watch `stamp()` / `file_stamp(config_id)`: revision counters every write
increases, read with one indexed query.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import sqlite3
import threading
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from engine.errors import StoreError
from engine.liveness import owner_alive
from engine.paths import private_umask
from engine.runs import RETENTION, RunBusy, RunRecord, RunSummary, owner_gone_reason

SCHEMA_VERSION: Final = 1
APPLICATION_ID: Final = 0x42434858  # "BCHX": a SQLite file of ours, not any database
BUSY_TIMEOUT_MS: Final = 30_000
_INSERT_BATCH: Final = 10_000
#: `delivered` rows of one config and client (parameters: config_id, client_id).
_STREAM: Final = "stream = (SELECT no FROM streams WHERE config_id = ? AND client_id = ?)"

_RUNS_RUNNING: Final = (
    "CREATE INDEX IF NOT EXISTS runs_running ON runs (config_id, id) WHERE status = 'running'"
)

_SCHEMA: Final = """
CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    config_id   TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    doc         TEXT NOT NULL          -- the whole RunRecord as JSON
);
CREATE INDEX runs_by_config ON runs (config_id, id);
-- Records still "running": found without reading a config's whole history.
CREATE INDEX runs_running ON runs (config_id, id) WHERE status = 'running';

CREATE TABLE config_state (
    config_id       TEXT PRIMARY KEY,
    alert           TEXT,              -- failure-mail state (engine.alerts) as JSON
    last_full_check TEXT,              -- ISO time of the last complete look-back
    rev             INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE watermarks (
    config_id  TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    journal_no INTEGER NOT NULL,       -- every booking up to here was seen by a delivery
    baseline   INTEGER NOT NULL DEFAULT 0, -- the look-back never goes below this
    selection  TEXT,                   -- the filters the baseline was set for
    PRIMARY KEY (config_id, client_id)
) WITHOUT ROWID;

CREATE TABLE deliveries (
    no         INTEGER PRIMARY KEY,    -- what `delivered` refers to (8 bytes, not a run id)
    run_id     TEXT NOT NULL UNIQUE,
    config_id  TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('planned', 'done')),
    folder     TEXT NOT NULL,          -- remote folder the files go to
    files      TEXT NOT NULL,          -- JSON list of PlannedFile
    watermarks TEXT NOT NULL,          -- JSON: moved when the delivery is done
    created_at TEXT NOT NULL
);
CREATE INDEX deliveries_open ON deliveries (config_id) WHERE state = 'planned';

-- One config's bookings of one client: the key `delivered` rows carry (an integer is a
-- third cheaper to write, per row of millions, than two texts).
CREATE TABLE streams (
    no        INTEGER PRIMARY KEY,
    config_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    UNIQUE (config_id, client_id)
);

CREATE TABLE delivered (
    stream      INTEGER NOT NULL,      -- streams.no
    journal_no  INTEGER NOT NULL,
    fingerprint INTEGER NOT NULL,      -- 64 bits of XXH3 over the exported values
    delivery    INTEGER NOT NULL,      -- deliveries.no
    file_no     INTEGER NOT NULL,      -- index into the delivery's files
    PRIMARY KEY (stream, journal_no)
) WITHOUT ROWID;
-- No index by delivery: a delivery's bookings are found by its files' client and
-- journal-number range (primary key); an index would cost a third of the journal's writes.

-- The exported values of recently delivered bookings (the look-back window): a change
-- after delivery can then say what changed. Older ones are pruned; their fingerprint stays.
CREATE TABLE delivered_values (
    config_id  TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    journal_no INTEGER NOT NULL,
    doc        TEXT    NOT NULL,
    PRIMARY KEY (config_id, client_id, journal_no)
) WITHOUT ROWID;

-- Bookings changed or deleted in the ledger after delivery, reported once per state.
CREATE TABLE changes (
    config_id       TEXT    NOT NULL,
    client_id       TEXT    NOT NULL,
    journal_no      INTEGER NOT NULL,
    fingerprint     INTEGER NOT NULL,  -- the ledger's values now; 0: deleted
    kind            TEXT    NOT NULL CHECK (kind IN ('changed', 'deleted')),
    delivered_by    TEXT    NOT NULL,  -- the run that delivered it
    detail          TEXT    NOT NULL,  -- German: what changed
    reported_by     TEXT    NOT NULL,  -- the run that found it
    reported_at     TEXT    NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    PRIMARY KEY (config_id, client_id, journal_no, fingerprint)
) WITHOUT ROWID;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO meta VALUES ('rev', '0');
"""


class JournalError(StoreError):
    """The journal cannot be used; German message naming the file."""


@dataclass(frozen=True)
class PlannedFile:
    """One file of a delivery, as planned before the first upload."""

    name: str
    size: int
    sha256: str
    rows: int
    kind: str  # bookings | incoming | debtors | creditors | control
    client_id: str
    debit_cents: int = 0
    credit_cents: int = 0
    # Control totals (engine/control.py); None / empty for master data and control files.
    journal_from: int | None = None
    journal_to: int | None = None
    date_from: str | None = None  # ISO dates
    date_to: str | None = None
    accounts: tuple[tuple[str, int, int, int], ...] = ()  # (Konto, Soll, Haben, rows)
    tax_keys: tuple[tuple[str, int, int, int], ...] = ()  # (BU-Schlüssel, Soll, Haben, rows)
    #: kind "documents": the images in the package, (journal number, GUID, member name in
    #: the package, bytes, SHA-256) each; kept with the delivery (which images went out with
    #: which run), not in the run record, which only counts them (`rows`)
    images: tuple[tuple[int, str, str, int, str], ...] = ()

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> PlannedFile:
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in doc.items() if k in known}
        for key in ("accounts", "tax_keys", "images"):  # JSON lists back to tuples
            values[key] = tuple(tuple(item) for item in values.get(key, ()))
        return cls(**values)

    def doc(self, remote_path: str) -> dict[str, Any]:
        """The file as the run record keeps it (`buchex runs --json`): the images of a
        package are counted in `rows`, their list stays in the delivery."""
        doc = {**asdict(self), "remote_path": remote_path}
        del doc["images"]
        return doc


@dataclass(frozen=True)
class Delivery:
    run_id: str
    config_id: str
    state: str
    folder: str
    files: tuple[PlannedFile, ...]
    watermarks: dict[str, int]
    created_at: str


@dataclass(frozen=True)
class ClientMark:
    """A config's position in one client's bookings."""

    watermark: int = 0
    baseline: int = 0
    selection: str | None = None


@dataclass(frozen=True)
class Change:
    """A delivered booking that the ledger changed or deleted afterwards."""

    config_id: str
    client_id: str
    journal_no: int
    fingerprint: int  # 0 for deleted
    kind: str  # "changed" | "deleted"
    delivered_by: str
    detail: str
    reported_by: str = ""
    reported_at: str = ""
    acknowledged_at: str | None = None
    acknowledged_by: str | None = None


@dataclass(frozen=True)
class BookingIndex:
    """The bookings of one planned file: parallel arrays, journal order."""

    client_id: str
    file_no: int
    journal_nos: array[int]
    fingerprints: array[int]
    #: (journal number, values as JSON) of the bookings whose values are kept
    values: Sequence[tuple[int, str]] = ()


class Journal:
    """The export journal of one data directory. Safe to share between threads."""

    def __init__(self, path: Path, locks_dir: Path) -> None:
        self.path = path
        self.locks_dir = locks_dir
        self._local = threading.local()
        self._ready = False
        self._ready_lock = threading.Lock()

    # --- connection ----------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self._ensure()
            conn = self._open()
            self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            with private_umask():
                conn = sqlite3.connect(
                    self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
                )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            # FULL: each commit is on disk before it returns. A planned delivery must survive a
            # power cut that follows its uploads, or its bookings would go out twice. (A
            # run's start and progress lines need not: `_light_write`.)
            conn.execute("PRAGMA synchronous = FULL")
            return conn
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    def _error(self, exc: BaseException) -> JournalError:
        """A German message for what SQLite reported: damage, a full disk, no write
        access, or another I/O problem; always with the path."""
        text = str(exc).lower()
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return JournalError(
                f"Exportjournal {self.path} ist beschädigt ({exc}). Die Datei wird nicht "
                "verändert: aus der Sicherung zurückholen oder den Support fragen."
            )
        if "full" in text or ("i/o" in text and _nearly_full(self.path.parent)):
            return JournalError(
                f"Exportjournal {self.path}: kein Platz mehr auf dem Datenträger. Platz "
                "schaffen und den Lauf wiederholen; es ging nichts verloren."
            )
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            return JournalError(
                f"Exportjournal {self.path} ist nicht beschreibbar. Schreibrechte des "
                "Benutzers, unter dem buchex läuft, und den Mount des Datenverzeichnisses "
                "(schreibgeschützt?) prüfen."
            )
        return JournalError(
            f"Exportjournal {self.path} ist nicht lesbar oder schreibbar ({exc}). Datenträger "
            "und Rechte des Datenverzeichnisses prüfen; die Datei wird nicht verändert."
        )

    def _ensure(self) -> None:
        """Create the schema on first use; refuse a foreign, damaged or newer file."""
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            conn = self._open()
            try:
                try:
                    conn.execute("PRAGMA journal_mode = WAL")
                    # One statement, one snapshot: read one by one, a journal another
                    # process creates in between looked foreign (tables, but no id yet).
                    app_id, version, tables = conn.execute(
                        "SELECT (SELECT application_id FROM pragma_application_id), "
                        "(SELECT user_version FROM pragma_user_version), "
                        "(SELECT count(*) FROM sqlite_master)"
                    ).fetchone()
                except sqlite3.DatabaseError as exc:
                    raise self._error(exc) from None
                if tables and app_id != APPLICATION_ID:
                    raise JournalError(
                        f"{self.path} ist kein Exportjournal von buchex (fremde Datenbank). "
                        "Die Datei wird nicht verändert: verschieben oder aus der Sicherung "
                        "zurückholen."
                    )
                if version > SCHEMA_VERSION:
                    raise JournalError(
                        f"Exportjournal {self.path} stammt von einer neueren buchex-Version "
                        f"(Schema {version}, diese Version kennt {SCHEMA_VERSION}). Die Datei "
                        "wird nicht verändert: die neuere buchex-Version verwenden."
                    )
                if version == 0:
                    self._create(conn)
                else:  # a journal from before `runs_running`: add it (once, idempotent)
                    with contextlib.suppress(sqlite3.OperationalError):  # read-only: slower
                        conn.execute(_RUNS_RUNNING)
            finally:
                conn.close()
            self._ready = True

    def _create(self, conn: sqlite3.Connection) -> None:
        """The schema, once: a file lock keeps two first-time processes apart (executescript
        commits on its own, so a transaction alone cannot)."""
        self.locks_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        from filelock import FileLock  # here: a reader of the journal needs no lock file

        with FileLock(self.locks_dir / "journal.create.lock", mode=0o600, timeout=60):
            if conn.execute("PRAGMA user_version").fetchone()[0] != 0:
                return
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{_SCHEMA}\nPRAGMA application_id = {APPLICATION_ID};\n"
                f"PRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;"
            )

    @contextmanager
    def _write(self, *config_ids: str) -> Iterator[sqlite3.Connection]:
        """One write transaction; bumps the revision counters pollers watch."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        try:
            yield conn
            conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rev'")
            for config_id in dict.fromkeys(config_ids):
                conn.execute(
                    "INSERT INTO config_state (config_id, rev) VALUES (?, 1) "
                    "ON CONFLICT (config_id) DO UPDATE SET rev = rev + 1",
                    (config_id,),
                )
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:  # disk full, read-only, I/O error
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise self._error(exc) from None
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- change signal -------------------------------------------------------------------

    def stamp(self) -> int | None:
        """Changes with every write to the journal; None before it exists."""
        if not self.path.exists():
            return None
        rows = self._read("SELECT value FROM meta WHERE key = 'rev'")
        return int(rows[0][0]) if rows else None

    def file_stamp(self, config_id: str) -> int | None:
        """Changes with every write concerning this config; None if there was none."""
        if not self.path.exists():
            return None
        rows = self._read("SELECT rev FROM config_state WHERE config_id = ?", (config_id,))
        return int(rows[0][0]) if rows else None

    def revisions(self) -> dict[str, int]:
        """Every config's revision counter (the Protokoll re-reads only what changed)."""
        if not self.path.exists():
            return {}
        return {str(c): int(r) for c, r in self._read("SELECT config_id, rev FROM config_state")}

    # --- one run at a time per config, across processes ----------------------------------

    @contextmanager
    def exclusive(self, config_id: str) -> Iterator[None]:
        """Held for the whole run; a second attempt raises RunBusy at once."""
        self.locks_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        from filelock import FileLock, Timeout

        lock = FileLock(self.locks_dir / f"{config_id}.run.lock", mode=0o600, thread_local=False)
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

    # --- run records ---------------------------------------------------------------------

    @staticmethod
    def _put_run(conn: sqlite3.Connection, record: RunRecord) -> None:
        conn.execute(
            "INSERT INTO runs (id, config_id, status, started_at, finished_at, doc) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status, "
            "finished_at = excluded.finished_at, doc = excluded.doc",
            (
                record.id,
                record.config_id,
                record.status,
                record.started_at,
                record.finished_at,
                # vars, not asdict: the fields are plain JSON values already, and asdict's deep
                # copy of the files and warnings cost more than the dump (a run writes ~8×)
                json.dumps(vars(record), ensure_ascii=False, separators=(",", ":")),
            ),
        )

    @contextmanager
    def _light_write(self, config_id: str) -> Iterator[sqlite3.Connection]:
        """A write that need not survive a power cut: committed (every reader sees it) but
        not synced to disk before returning (WAL, `synchronous = NORMAL`). The next synced
        commit (plan, finish) makes it durable too, as the WAL is synced in order; lost, it
        is a run's start or progress line from before anything was planned or delivered.
        Saves a disk flush per progress step: 50 runs due at once queue on the flushes."""
        conn = self._conn()
        conn.execute("PRAGMA synchronous = NORMAL")
        try:
            with self._write(config_id) as written:
                yield written
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA synchronous = FULL")

    def start(self, record: RunRecord) -> None:
        with self._light_write(record.config_id) as conn:
            self._put_run(conn, record)

    def update(self, record: RunRecord) -> None:
        """Progress of a running run (steps, attempts) for the live log."""
        with self._light_write(record.config_id) as conn:
            self._put_run(conn, record)

    def finish(
        self,
        record: RunRecord,
        *,
        watermarks: Mapping[str, int] | None = None,
        alert_state: Mapping[str, Any] | None = None,
        delivery: str | None = None,
        marks: Mapping[str, ClientMark] | None = None,
        full_check_at: str | None = None,
        changes: Sequence[Change] = (),
        keep_values_above: Mapping[str, int] | None = None,
    ) -> None:
        """Record the outcome in one transaction: the run, the delivery `delivery` marked
        done with its watermarks, `watermarks` moved, baselines from `marks`, the alert
        state, the time of a full look-back, the changes reported (once each), and kept
        values below the look-back window pruned."""
        with self._write(record.config_id) as conn:
            self._put_run(conn, record)
            conn.executemany(
                "INSERT OR IGNORE INTO changes (config_id, client_id, journal_no, fingerprint, "
                "kind, delivered_by, detail, reported_by, reported_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (c.config_id, c.client_id, c.journal_no, c.fingerprint, c.kind,
                     c.delivered_by, c.detail, record.id, record.finished_at or record.started_at)
                    for c in changes
                ],
            )  # fmt: skip
            for client_id, above in (keep_values_above or {}).items():
                conn.execute(
                    "DELETE FROM delivered_values WHERE config_id = ? AND client_id = ? "
                    "AND journal_no <= ?",
                    (record.config_id, client_id, above),
                )
            if delivery is not None:
                row = conn.execute(
                    "SELECT watermarks FROM deliveries WHERE run_id = ? AND state = 'planned'",
                    (delivery,),
                ).fetchone()
                if row is not None:
                    conn.execute(
                        "UPDATE deliveries SET state = 'done' WHERE run_id = ?", (delivery,)
                    )
                    self._move(conn, record.config_id, json.loads(row[0]))
            if marks:
                for client_id, mark in marks.items():
                    conn.execute(
                        "INSERT INTO watermarks (config_id, client_id, journal_no, baseline, "
                        "selection) VALUES (?, ?, ?, ?, ?) ON CONFLICT (config_id, client_id) "
                        "DO UPDATE SET baseline = excluded.baseline, "
                        "selection = excluded.selection",
                        (record.config_id, client_id, 0, mark.baseline, mark.selection),
                    )
            if watermarks:
                self._move(conn, record.config_id, watermarks)
            if alert_state is not None or full_check_at is not None:
                conn.execute(
                    "INSERT INTO config_state (config_id, alert, last_full_check) "
                    "VALUES (?, ?, ?) ON CONFLICT (config_id) DO UPDATE SET "
                    "alert = coalesce(excluded.alert, alert), "
                    "last_full_check = coalesce(excluded.last_full_check, last_full_check)",
                    (
                        record.config_id,
                        None if alert_state is None else json.dumps(dict(alert_state)),
                        full_check_at,
                    ),
                )
            conn.execute(
                "DELETE FROM runs WHERE config_id = ? AND id < (SELECT id FROM runs "
                "WHERE config_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (record.config_id, record.config_id, RETENTION - 1),
            )

    @staticmethod
    def _move(conn: sqlite3.Connection, config_id: str, watermarks: Mapping[str, int]) -> None:
        """Watermarks only move up (a ledger whose numbers restarted lower sends nothing
        twice)."""
        for client_id, journal_no in watermarks.items():
            conn.execute(
                "INSERT INTO watermarks (config_id, client_id, journal_no) VALUES (?, ?, ?) "
                "ON CONFLICT (config_id, client_id) DO UPDATE SET "
                "journal_no = max(journal_no, excluded.journal_no)",
                (config_id, str(client_id), int(journal_no)),
            )

    def runs(
        self, config_id: str | None = None, *, failed: bool = False, limit: int | None = None
    ) -> list[RunRecord]:
        """Newest first."""
        where, params = [], []
        if config_id is not None:
            where.append("config_id = ?")
            params.append(config_id)
        if failed:
            where.append("status = 'failed'")
        sql = "SELECT doc FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if not self.path.exists():
            return []
        return self._settled(
            [RunRecord.from_doc(json.loads(doc)) for (doc,) in self._read(sql, params)]
        )

    def run(self, run_id: str) -> RunRecord | None:
        if not self.path.exists():
            return None
        rows = self._read("SELECT doc FROM runs WHERE id = ?", (run_id,))
        return self._settled([RunRecord.from_doc(json.loads(rows[0][0]))])[0] if rows else None

    def last_run(self, config_id: str) -> RunSummary | None:
        """The newest run that was not skipped (a skipped run did nothing: "Letzter Lauf"
        must keep showing the failure it overlapped); the newest skipped one only when
        there is no other."""
        if not self.path.exists():
            return None
        query = (
            "SELECT id, status, started_at, finished_at FROM runs WHERE config_id = ? {} "
            "ORDER BY id DESC LIMIT 1"
        )
        rows = self._read(query.format("AND status != 'skipped'"), (config_id,))
        if not rows:
            rows = self._read(query.format(""), (config_id,))
        if not rows:
            return None
        if rows[0][1] == "running":  # is its process still there?
            record = self.run(rows[0][0])
            if record is not None:
                return RunSummary(
                    record.id, record.status, record.started_at, record.finished_at,
                    progress=record.progress if record.status == "running" else None,
                )  # fmt: skip
        return RunSummary(*rows[0])

    def _settled(self, records: list[RunRecord]) -> list[RunRecord]:
        """Records still "running" whose process is gone are shown failed ("abgebrochen:
        Prozess … wurde beendet") to every reader at once. The stored record is settled
        by the next run of the config or the daemon, which also send the failure mail."""
        for record in records:
            if record.status == "running" and not owner_alive(
                record.host_pid, record.host_started, record.host_name
            ):
                record.status = "failed"
                record.reason = owner_gone_reason(record)
        return records

    def last_runs(self) -> dict[str, RunSummary]:
        """The newest run of every config that has run records, by config id."""
        if not self.path.exists():
            return {}
        result: dict[str, RunSummary] = {}
        for (config_id,) in self._read("SELECT config_id FROM config_state ORDER BY config_id"):
            last = self.last_run(config_id)
            if last is not None:
                result[config_id] = last
        return result

    def last_run_table(self) -> dict[str, tuple[int, RunSummary | None]]:
        """{config id: (revision, newest run as `last_run` picks it)} of every config the
        journal has written about, in one query and one snapshot (a list of 1000 configs
        asks on every reload). A run still "running" comes without its progress and
        unsettled: ask `last_run` for those."""
        if not self.path.exists():
            return {}
        newest = "(SELECT id FROM runs WHERE config_id = c.config_id {}ORDER BY id DESC LIMIT 1)"
        not_skipped, any_run = newest.format("AND status != 'skipped' "), newest.format("")
        rows = self._read(
            "SELECT c.config_id, c.rev, r.id, r.status, r.started_at, r.finished_at "
            f"FROM config_state c LEFT JOIN runs r ON r.id = coalesce({not_skipped}, {any_run})"
        )
        return {
            str(cfg): (int(rev), RunSummary(run, *rest) if run is not None else None)
            for cfg, rev, run, *rest in rows
        }

    def last_due(self, config_id: str) -> str | None:
        """The due time (ISO) of the config's newest scheduled or make-up run, None if it
        has none: the config's records newest first by index, stopping at the first."""
        if not self.path.exists():
            return None
        rows = self._read(
            "SELECT json_extract(doc, '$.due_at') FROM runs WHERE config_id = ? "
            "AND json_extract(doc, '$.trigger') IN ('schedule', 'catchup') "
            "AND json_extract(doc, '$.due_at') IS NOT NULL ORDER BY id DESC LIMIT 1",
            (config_id,),
        )
        return str(rows[0][0]) if rows else None

    def running(self, config_id: str) -> list[RunRecord]:
        """Records of the config still marked "running" (whether or not the owner lives)."""
        if not self.path.exists():
            return []
        rows = self._read(
            "SELECT doc FROM runs WHERE config_id = ? AND status = 'running' ORDER BY id",
            (config_id,),
        )
        return [RunRecord.from_doc(json.loads(doc)) for (doc,) in rows]

    # --- watermarks, alert state ---------------------------------------------------------

    def marks(self, config_id: str) -> dict[str, ClientMark]:
        if not self.path.exists():
            return {}
        rows = self._read(
            "SELECT client_id, journal_no, baseline, selection FROM watermarks WHERE config_id = ?",
            (config_id,),
        )
        return {str(c): ClientMark(int(j), int(b), s) for c, j, b, s in rows}

    def watermarks(self, config_id: str) -> dict[str, int]:
        return {c: m.watermark for c, m in self.marks(config_id).items() if m.watermark}

    def alert_state(self, config_id: str) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        rows = self._read("SELECT alert FROM config_state WHERE config_id = ?", (config_id,))
        return dict(json.loads(rows[0][0])) if rows and rows[0][0] else {}

    def last_full_check(self, config_id: str) -> dt.datetime | None:
        if not self.path.exists():
            return None
        rows = self._read(
            "SELECT last_full_check FROM config_state WHERE config_id = ?", (config_id,)
        )
        return dt.datetime.fromisoformat(rows[0][0]) if rows and rows[0][0] else None

    # --- delivered bookings --------------------------------------------------------------

    def delivered_numbers(
        self, config_id: str, client_id: str, above: int, up_to: int
    ) -> Iterator[int]:
        """Journal numbers already delivered (or planned) in (above, up_to], ascending;
        read in pages so memory stays flat over millions."""
        last = above
        while True:
            rows = self._read(
                f"SELECT journal_no FROM delivered WHERE {_STREAM} "
                "AND journal_no > ? AND journal_no <= ? ORDER BY journal_no LIMIT ?",
                (config_id, client_id, last, up_to, _INSERT_BATCH),
            )
            for (journal_no,) in rows:
                yield journal_no
            if len(rows) < _INSERT_BATCH:
                return
            last = rows[-1][0]

    def delivered_count(self, config_id: str) -> int:
        if not self.path.exists():
            return 0
        return int(
            self._read(
                "SELECT count(*) FROM delivered WHERE stream IN "
                "(SELECT no FROM streams WHERE config_id = ?)",
                (config_id,),
            )[0][0]
        )

    def delivery_bookings(self, run_id: str) -> list[tuple[str, int, int, int]]:
        """(client_id, journal_no, fingerprint, file_no) of a delivery's bookings."""
        found: list[tuple[str, int, int, int]] = []
        for no, config_id, file_no, f in self._delivery_files(run_id):
            found += [
                (f.client_id, int(j), int(fp), file_no)
                for j, fp in self._read(
                    f"SELECT journal_no, fingerprint FROM delivered WHERE {_STREAM} AND "
                    "journal_no >= ? AND journal_no <= ? AND delivery = ? "
                    "AND file_no = ? ORDER BY journal_no",
                    (config_id, f.client_id, f.journal_from, f.journal_to, no, file_no),
                )
            ]
        return found

    def _delivery_files(self, run_id: str) -> list[tuple[int, str, int, PlannedFile]]:
        """(delivery no, config, file number, file) of a delivery's files with bookings."""
        if not self.path.exists():
            return []
        rows = self._read("SELECT no, config_id, files FROM deliveries WHERE run_id = ?", (run_id,))
        if not rows:
            return []
        no, config_id, files = rows[0]
        return [
            (int(no), str(config_id), file_no, f)
            for file_no, f in enumerate(PlannedFile.from_doc(d) for d in json.loads(files))
            if f.journal_from is not None and f.journal_to is not None
        ]

    def delivered_in(
        self, config_id: str, client_id: str, above: int, up_to: int
    ) -> list[tuple[int, int, str]]:
        """(journal number, fingerprint, run) of the bookings delivered in (above, up_to]."""
        if not self.path.exists():
            return []
        return [
            (int(j), int(f), str(r))
            for j, f, r in self._read(
                "SELECT d.journal_no, d.fingerprint, r.run_id FROM delivered d "
                "JOIN deliveries r ON r.no = d.delivery WHERE d.stream = (SELECT no FROM "
                "streams WHERE config_id = ? AND client_id = ?) AND d.journal_no > ? AND "
                "d.journal_no <= ? ORDER BY d.journal_no",
                (config_id, client_id, above, up_to),
            )
        ]

    def kept_values(self, config_id: str, client_id: str, numbers: Iterable[int]) -> dict[int, str]:
        wanted = sorted(set(numbers))
        found: dict[int, str] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for journal_no, doc in self._read(
                "SELECT journal_no, doc FROM delivered_values WHERE config_id = ? AND "
                f"client_id = ? AND journal_no IN ({marks})",
                (config_id, client_id, *chunk),
            ):
                found[int(journal_no)] = str(doc)
        return found

    def reported(
        self, config_id: str, client_id: str, above: int, up_to: int
    ) -> set[tuple[int, int]]:
        """(journal number, fingerprint) of the changes already reported in the range."""
        if not self.path.exists():
            return set()
        return {
            (int(j), int(f))
            for j, f in self._read(
                "SELECT journal_no, fingerprint FROM changes WHERE config_id = ? AND "
                "client_id = ? AND journal_no > ? AND journal_no <= ?",
                (config_id, client_id, above, up_to),
            )
        }

    def changes(self, config_id: str | None = None, *, open_only: bool = True) -> list[Change]:
        """Reported changes, newest first; `open_only`: not acknowledged yet."""
        if not self.path.exists():
            return []
        where, params = [], []
        if config_id is not None:
            where.append("config_id = ?")
            params.append(config_id)
        if open_only:
            where.append("acknowledged_at IS NULL")
        sql = (
            "SELECT config_id, client_id, journal_no, fingerprint, kind, delivered_by, detail, "
            "reported_by, reported_at, acknowledged_at, acknowledged_by FROM changes"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY reported_at DESC, config_id, client_id, journal_no"
        return [Change(*row) for row in self._read(sql, params)]

    def acknowledge(
        self, config_id: str, journal_nos: Iterable[int] | None, *, user: str, now: str
    ) -> int:
        """Mark open changes of a config as seen (all, or those journal numbers)."""
        with self._write(config_id) as conn:
            if journal_nos is None:
                cur = conn.execute(
                    "UPDATE changes SET acknowledged_at = ?, acknowledged_by = ? "
                    "WHERE config_id = ? AND acknowledged_at IS NULL",
                    (now, user, config_id),
                )
                return cur.rowcount
            count = 0
            for journal_no in journal_nos:
                cur = conn.execute(
                    "UPDATE changes SET acknowledged_at = ?, acknowledged_by = ? WHERE "
                    "config_id = ? AND journal_no = ? AND acknowledged_at IS NULL",
                    (now, user, config_id, journal_no),
                )
                count += cur.rowcount
            return count

    # --- deliveries ----------------------------------------------------------------------

    def plan_delivery(
        self,
        record: RunRecord,
        *,
        folder: str,
        files: Sequence[PlannedFile],
        watermarks: Mapping[str, int],
        bookings: Iterable[BookingIndex],
        now: str,
    ) -> None:
        """Before the first upload, in one transaction: the planned files, their bookings
        journaled, and the run record. Raises JournalError if a booking is journaled
        already (it would be sent twice)."""
        with self._write(record.config_id) as conn:
            no = conn.execute(
                "INSERT INTO deliveries (run_id, config_id, state, folder, files, watermarks, "
                "created_at) VALUES (?, ?, 'planned', ?, ?, ?, ?)",
                (
                    record.id,
                    record.config_id,
                    folder,
                    json.dumps([asdict(f) for f in files], ensure_ascii=False),
                    json.dumps({str(k): int(v) for k, v in watermarks.items()}),
                    now,
                ),
            ).lastrowid
            sql = (
                "INSERT INTO delivered (stream, journal_no, fingerprint, delivery, file_no) "
                "VALUES (?, ?, ?, ?, ?)"
            )
            try:
                for index in bookings:
                    conn.executemany(
                        "INSERT OR REPLACE INTO delivered_values (config_id, client_id, "
                        "journal_no, doc) VALUES (?, ?, ?, ?)",
                        [(record.config_id, index.client_id, n, doc) for n, doc in index.values],
                    )
                    conn.execute(
                        "INSERT OR IGNORE INTO streams (config_id, client_id) VALUES (?, ?)",
                        (record.config_id, index.client_id),
                    )
                    (stream,) = conn.execute(
                        "SELECT no FROM streams WHERE config_id = ? AND client_id = ?",
                        (record.config_id, index.client_id),
                    ).fetchone()
                    conn.executemany(
                        sql,
                        zip(
                            itertools.repeat(stream),
                            index.journal_nos,
                            index.fingerprints,
                            itertools.repeat(no),
                            itertools.repeat(index.file_no),
                            strict=False,
                        ),
                    )
            except sqlite3.IntegrityError as exc:
                raise JournalError(
                    "Exportjournal: eine Buchung dieses Laufs ist schon als geliefert "
                    f"verzeichnet ({exc}); der Lauf wird nicht übertragen, damit nichts "
                    "doppelt ankommt."
                ) from None
            self._put_run(conn, record)

    def open_delivery(self, config_id: str) -> Delivery | None:
        """The config's delivery that was planned but never finished (a cut run), if any."""
        if not self.path.exists():
            return None
        rows = self._read(
            "SELECT run_id, config_id, state, folder, files, watermarks, created_at "
            "FROM deliveries WHERE config_id = ? AND state = 'planned' ORDER BY run_id LIMIT 1",
            (config_id,),
        )
        return _delivery(rows[0]) if rows else None

    def delivery(self, run_id: str) -> Delivery | None:
        if not self.path.exists():
            return None
        rows = self._read(
            "SELECT run_id, config_id, state, folder, files, watermarks, created_at "
            "FROM deliveries WHERE run_id = ?",
            (run_id,),
        )
        return _delivery(rows[0]) if rows else None

    def delivered_images(self, run_id: str) -> list[tuple[str, str, int, str, str, int, str]]:
        """The document images a run delivered: (package file, client, journal number,
        GUID, member name, bytes, SHA-256) each, in package order."""
        found = self.delivery(run_id)
        if found is None:
            return []
        return [
            (f.name, f.client_id, *image)
            for f in found.files
            if f.kind == "documents"
            for image in f.images
        ]

    def drop_files(self, run_id: str, file_nos: Iterable[int]) -> int:
        """Un-journal the bookings of planned files that can no longer be delivered (their
        outbox copy is gone); the look-back then selects them again. Returns how many."""
        wanted = set(file_nos)
        files = [f for f in self._delivery_files(run_id) if f[2] in wanted]
        if not files:
            return 0
        dropped = 0
        with self._write(files[0][1]) as conn:
            for no, config_id, file_no, f in files:
                cur = conn.execute(
                    f"DELETE FROM delivered WHERE {_STREAM} AND "
                    "journal_no >= ? AND journal_no <= ? AND delivery = ? AND file_no = ?",
                    (config_id, f.client_id, f.journal_from, f.journal_to, no, file_no),
                )
                dropped += cur.rowcount
        return dropped

    # --- migration -----------------------------------------------------------------------

    def import_legacy(
        self,
        config_id: str,
        records: Sequence[RunRecord],
        watermarks: Mapping[str, int],
        alert_state: Mapping[str, Any] | None,
    ) -> None:
        """One config's history from the former `runs/<id>.json`. Its watermarks become
        baselines too: those bookings were delivered before the journal existed, so the
        look-back must not send them again."""
        with self._write(config_id) as conn:
            for record in records:
                self._put_run(conn, record)
            for client_id, journal_no in watermarks.items():
                conn.execute(
                    "INSERT INTO watermarks (config_id, client_id, journal_no, baseline) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (config_id, client_id) DO NOTHING",
                    (config_id, str(client_id), int(journal_no), int(journal_no)),
                )
            if alert_state:
                conn.execute(
                    "INSERT INTO config_state (config_id, alert) VALUES (?, ?) "
                    "ON CONFLICT (config_id) DO UPDATE SET alert = excluded.alert",
                    (config_id, json.dumps(dict(alert_state))),
                )


def _nearly_full(directory: Path) -> bool:
    try:
        return os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize < 1 << 20
    except OSError:
        return False


def _delivery(row: Sequence[Any]) -> Delivery:
    run_id, config_id, state, folder, files, watermarks, created_at = row
    return Delivery(
        run_id=run_id,
        config_id=config_id,
        state=state,
        folder=folder,
        files=tuple(PlannedFile.from_doc(f) for f in json.loads(files)),
        watermarks={str(k): int(v) for k, v in json.loads(watermarks).items()},
        created_at=created_at,
    )
