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

import datetime as dt
import json
import sqlite3
import threading
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from filelock import FileLock, Timeout

from engine.paths import private_umask
from engine.runs import RETENTION, RunBusy, RunRecord, RunSummary
from engine.store import StoreError

SCHEMA_VERSION: Final = 1
APPLICATION_ID: Final = 0x42434858  # "BCHX": a SQLite file of ours, not any database
BUSY_TIMEOUT_MS: Final = 30_000
_INSERT_BATCH: Final = 10_000

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
    run_id     TEXT PRIMARY KEY,
    config_id  TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('planned', 'done')),
    folder     TEXT NOT NULL,          -- remote folder the files go to
    files      TEXT NOT NULL,          -- JSON list of PlannedFile
    watermarks TEXT NOT NULL,          -- JSON: moved when the delivery is done
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX deliveries_open ON deliveries (config_id) WHERE state = 'planned';

CREATE TABLE delivered (
    config_id   TEXT    NOT NULL,
    client_id   TEXT    NOT NULL,
    journal_no  INTEGER NOT NULL,
    fingerprint INTEGER NOT NULL,      -- 64 bits of BLAKE2b over the exported values
    run_id      TEXT    NOT NULL,
    file_no     INTEGER NOT NULL,      -- index into the delivery's files
    PRIMARY KEY (config_id, client_id, journal_no)
) WITHOUT ROWID;
CREATE INDEX delivered_by_run ON delivered (run_id, file_no);

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
    kind: str
    client_id: str
    debit_cents: int = 0
    credit_cents: int = 0

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> PlannedFile:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in doc.items() if k in known})


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
class BookingIndex:
    """The bookings of one planned file: parallel arrays, journal order."""

    client_id: str
    file_no: int
    journal_nos: array[int]
    fingerprints: array[int]


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
            # power cut that follows its uploads, or its bookings would go out twice.
            conn.execute("PRAGMA synchronous = FULL")
            return conn
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    def _error(self, exc: BaseException) -> JournalError:
        return JournalError(
            f"Exportjournal {self.path} ist nicht lesbar oder beschädigt ({exc}). "
            "Die Datei wird nicht verändert: aus der Sicherung zurückholen oder den Support fragen."
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
                    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                    version = conn.execute("PRAGMA user_version").fetchone()[0]
                    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
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
            finally:
                conn.close()
            self._ready = True

    def _create(self, conn: sqlite3.Connection) -> None:
        """The schema, once: a file lock keeps two first-time processes apart (executescript
        commits on its own, so a transaction alone cannot)."""
        self.locks_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
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
        except BaseException:
            if conn.in_transaction:
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
                json.dumps(asdict(record), ensure_ascii=False, separators=(",", ":")),
            ),
        )

    def start(self, record: RunRecord) -> None:
        with self._write(record.config_id) as conn:
            self._put_run(conn, record)

    def update(self, record: RunRecord) -> None:
        """Progress of a running run (steps, attempts) for the live log."""
        with self._write(record.config_id) as conn:
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
        also: Sequence[RunRecord] = (),
    ) -> None:
        """Record the outcome in one transaction: the run (and `also`, records it settles),
        the delivery `delivery` marked done with its watermarks, `watermarks` moved,
        baselines from `marks`, the alert state, the time of a full look-back."""
        with self._write(record.config_id, *(r.config_id for r in also)) as conn:
            for other in also:
                self._put_run(conn, other)
            self._put_run(conn, record)
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
        return [RunRecord.from_doc(json.loads(doc)) for (doc,) in self._read(sql, params)]

    def run(self, run_id: str) -> RunRecord | None:
        if not self.path.exists():
            return None
        rows = self._read("SELECT doc FROM runs WHERE id = ?", (run_id,))
        return RunRecord.from_doc(json.loads(rows[0][0])) if rows else None

    def last_run(self, config_id: str) -> RunSummary | None:
        if not self.path.exists():
            return None
        rows = self._read(
            "SELECT id, status, started_at, finished_at FROM runs WHERE config_id = ? "
            "ORDER BY id DESC LIMIT 1",
            (config_id,),
        )
        return RunSummary(*rows[0]) if rows else None

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

    def running(self, config_id: str) -> list[RunRecord]:
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
                "SELECT journal_no FROM delivered WHERE config_id = ? AND client_id = ? "
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
            self._read("SELECT count(*) FROM delivered WHERE config_id = ?", (config_id,))[0][0]
        )

    def delivery_bookings(self, run_id: str) -> list[tuple[str, int, int, int]]:
        """(client_id, journal_no, fingerprint, file_no) of a delivery's bookings."""
        return [
            (str(c), int(j), int(f), int(n))
            for c, j, f, n in self._read(
                "SELECT client_id, journal_no, fingerprint, file_no FROM delivered "
                "WHERE run_id = ? ORDER BY file_no, journal_no",
                (run_id,),
            )
        ]

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
            conn.execute(
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
            )
            sql = (
                "INSERT INTO delivered (config_id, client_id, journal_no, fingerprint, run_id, "
                "file_no) VALUES (?, ?, ?, ?, ?, ?)"
            )
            try:
                for index in bookings:
                    conn.executemany(
                        sql,
                        zip(
                            _repeat(record.config_id),
                            _repeat(index.client_id),
                            index.journal_nos,
                            index.fingerprints,
                            _repeat(record.id),
                            _repeat(index.file_no),
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

    def drop_files(self, run_id: str, file_nos: Iterable[int]) -> int:
        """Un-journal the bookings of planned files that can no longer be delivered (their
        outbox copy is gone); the look-back then selects them again. Returns how many."""
        delivery = self.delivery(run_id)
        if delivery is None:
            return 0
        dropped = 0
        with self._write(delivery.config_id) as conn:
            for file_no in file_nos:
                cur = conn.execute(
                    "DELETE FROM delivered WHERE run_id = ? AND file_no = ?", (run_id, file_no)
                )
                dropped += cur.rowcount
        return dropped

    # --- migration -----------------------------------------------------------------------

    def is_empty(self) -> bool:
        return not self._read("SELECT 1 FROM runs LIMIT 1") and not self._read(
            "SELECT 1 FROM watermarks LIMIT 1"
        )

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

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None


def _repeat(value: Any) -> Iterator[Any]:
    while True:
        yield value


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
