"""Benchmark: the export journal (`python -m bench.journal [--quick] [--pairs N] [--doc PATH]`).

Takes ~7 minutes (3,000,000 bookings; `--quick`: 300,000, ~30 s). `--rows N` sets the
size, `--no-postgres` skips part 4.

Issue: the export journal (engine/journal.py) records every delivered booking. It must add
no more than 20 % to a full export's time, and with 3,000,000 bookings in the ledger an
incremental run that finds 100 new bookings must read an index, not the whole table.

Set-up: a temporary data directory with 3,000,000 demo bookings (`--quick`: 300,000;
`engine.ledger_demo.generate(months=24, total=N, seed=1, end=2026-03-31)`) and one config
`stb`: every client, every document type not flagged incoming, plus incoming_export, all in
DATEV-Format (the FTP target is never contacted: `buchex export` only writes files).

1. Full export, each run a whole `python -m engine --home HOME …` process, alternating
   A B A B (3 pairs; 2 when the first A takes over 90 s):
   (A) `buchex export stb --out DIR`: no journal writes;
   (B) `buchex export stb --out DIR --commit` on a fresh copy of the data directory (copied
       before each B, not timed), so every B journals all bookings into an empty journal.
   Figures: medians of A and B, B / A (target ≤ 1.20), peak RSS of each (the child's
   VmHWM, sampled every 10 ms), the journal's size.
2. Incremental: the state after one B (the journal lists every booking) plus 100 new
   bookings (copies of the last 100 rows under the next journal numbers, plain sqlite3).
   `buchex export stb --out DIR --commit`, median of 3 processes, each on a fresh copy of
   that state; checked: exactly the 100 are journaled. Information: the same when the
   daily full check is due (`last_full_check` moved back two days; it reads the whole
   journal-number range on purpose), and `buchex run stb --force` delivering to a
   pyftpdlib server on 127.0.0.1 (its own process; a run also checks the delivered
   bookings of the look-back window for changes), median of 3.
3. The statements: `export_local(commit=True)` and `run_config` once each in this process
   (timed, information), each on a fresh copy, with SQLAlchemy's `before_cursor_execute`
   event on every Engine (the ledger) and a sqlite3 trace callback on the journal's
   connections and on the ledger's own sqlite3 connections (the embedded file is read
   without SQLAlchemy; its statements are recorded with their values inlined).
   Every distinct SELECT on `bookings` (with its parameters) runs again with
   EXPLAIN QUERY PLAN against ledger.sqlite, every SELECT of the journal against
   journal.sqlite (and each once more, timed, with its row count). Targets: no plan line
   `SCAN bookings`, no `SCAN` of a journal table (a pass over a whole table or index;
   the schema check's `SCAN sqlite_master` aside).
4. PostgreSQL (tests/pg_server.py: a throwaway cluster on 127.0.0.1, stopped at the end):
   the contract's bookings table with N + 100 rows generated in SQL (`generate_series`,
   the demo ledger's mix of clients and document types), primary key journal_no, index
   (client_id, journal_no), VACUUM ANALYZE; the same ledger statements, parameters
   inlined, with EXPLAIN (ANALYZE, BUFFERS). Target: no `Seq Scan on bookings`. Without a
   PostgreSQL server (or psycopg) this part is skipped with a note.

`--doc PATH` also writes the statements and plans as Markdown (docs/export-explain.md is
made so, from a full run); otherwise nothing outside the temporary directory is touched.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    ChildFTP,
    Figure,
    emit,
    ftp_server_process,
    mark,
    median,
    status_kb,
    table,
)

BENCH = "journal"
ROWS = 3_000_000
QUICK_ROWS = 300_000
NEW_BOOKINGS = 100
CONFIG_ID = "stb"
TARGET_RATIO = 1.20
PAIRS = 3
SLOW_A_S = 90.0  # a first A slower than this: 2 pairs only (runtime ~15 min)
INCREMENTAL_RUNS = 3
EXPORT_TIMEOUT_S = 900.0
INCREMENTAL_TIMEOUT_S = 300.0


class BenchFailed(Exception):
    """A step failed; the message says which and shows the child's output."""


def de(n: float, digits: int = 0) -> str:
    """German number format: 1.234.567,8."""
    text = f"{n:,.{digits}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def en(n: float) -> str:
    """English number format for the Markdown: 1,234,567."""
    return f"{n:,.0f}"


def rows_text(n: int) -> str:
    return "1 row" if n == 1 else f"{en(n)} rows"


# -- set-up ---------------------------------------------------------------------------------


NO_SERVER = {"host": "127.0.0.1", "port": 21, "user": "kanzlei", "password": "nie-verbunden"}


def raw_config(facts: dict[str, Any], server: dict[str, Any]) -> dict[str, Any]:
    """The config: every client, every outgoing document type, incoming bookings too."""
    return {
        "id": CONFIG_ID,
        "name": "Steuerbüro",
        "target": {**server, "directory": "kanzlei"},
        "clients": facts["clients"],
        "document_types": facts["outgoing"],
        "incoming_export": True,
        "incoming_format": "datev",
        "format": "datev",
        "time": "06:30",
        "interval": {"kind": "daily"},
    }


def point_at(home: Path, facts: dict[str, Any], ftp: ChildFTP) -> None:
    """The config of `home` delivers to `ftp` (the target is not part of the selection, so
    watermarks and baselines stay valid)."""
    from engine.paths import DataDir
    from engine.workspace import Workspace

    server = {"host": ftp.host, "port": ftp.port, "user": ftp.user, "password": ftp.password}
    Workspace(DataDir.open(str(home))).save_config(raw_config(facts, server))


def make_home(home: Path, rows: int) -> dict[str, Any]:
    """A data directory with `rows` demo bookings and the config; returns facts about it."""
    from engine.ledger_demo import generate
    from engine.paths import DataDir
    from engine.workspace import Workspace

    home.mkdir(parents=True)
    data_dir = DataDir.open(str(home))
    started = time.perf_counter()
    summary = generate(data_dir.ledger_path, months=24, total=rows, seed=1, end=date(2026, 3, 31))
    seconds = time.perf_counter() - started
    ws = Workspace(data_dir)
    with ws.ledger() as ledger:
        catalog = ledger.catalog()
    outgoing = sorted(code for code, t in catalog.document_types.items() if not t.incoming)
    incoming = sorted(code for code, t in catalog.document_types.items() if t.incoming)
    facts = {
        "clients": sorted(catalog.clients),
        "outgoing": outgoing,
        "incoming": incoming,
    }
    ws.save_config(raw_config(facts, NO_SERVER))
    return {
        "bookings": summary.bookings,
        "seconds": seconds,
        **facts,
        "ledger_mb": data_dir.ledger_path.stat().st_size / 1e6,
    }


def copy_home(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)


def add_bookings(ledger_path: Path, count: int) -> tuple[int, int]:
    """Copy the last `count` bookings under the next journal numbers; returns the range."""
    with sqlite3.connect(ledger_path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(bookings)")]
        top = int(db.execute("SELECT max(journal_no) FROM bookings").fetchone()[0])
        rows = db.execute(
            f"SELECT {', '.join(columns)} FROM bookings ORDER BY journal_no DESC LIMIT ?",
            (count,),
        ).fetchall()
        new = [(top + i + 1, *row[1:]) for i, row in enumerate(reversed(rows))]
        db.executemany(
            f"INSERT INTO bookings ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            new,
        )
    return top + 1, top + len(new)


def journal_count(home: Path) -> int:
    path = home / "journal.sqlite"
    if not path.exists():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM delivered").fetchone()[0])
    finally:
        db.close()


def journal_mb(home: Path) -> float:
    return (
        sum(p.stat().st_size for p in home.glob("journal.sqlite*") if not p.name.endswith(".lock"))
        / 1e6
    )


def move_full_check_back(home: Path) -> None:
    """Make the daily full check due: its last run two days earlier."""
    with sqlite3.connect(home / "journal.sqlite") as db:
        row = db.execute(
            "SELECT last_full_check FROM config_state WHERE config_id = ?", (CONFIG_ID,)
        ).fetchone()
        if row is None or row[0] is None:
            raise BenchFailed("Exportjournal: keine letzte Vollprüfung verzeichnet")
        earlier = dt.datetime.fromisoformat(row[0]) - dt.timedelta(days=2)
        db.execute(
            "UPDATE config_state SET last_full_check = ? WHERE config_id = ?",
            (earlier.isoformat(timespec="seconds"), CONFIG_ID),
        )


# -- one buchex process ----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float


def buchex(home: Path, command: list[str], log: Path, *, timeout: float) -> Run:
    """`python -m engine --home HOME COMMAND…` as a whole process: wall time from spawn
    to exit (a thread blocks in wait4), peak RSS = the child's VmHWM, read from
    /proc/<pid>/status every 10 ms while it runs (the last reading counts: VmHWM only
    grows). Not ru_maxrss: Linux carries the parent's RSS at fork/vfork into the child's
    ru_maxrss, so it would show this benchmark's own size."""
    argv = [sys.executable, "-m", "engine", "--home", str(home), *command]
    reaped: list[tuple[int, float]] = []
    peak_kb = 0
    os.sync()  # not timed: the copy's dirty pages are written back before, not during, a run
    with log.open("wb") as fh:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT
        )

        def reap() -> None:
            _pid, status, _usage = os.wait4(proc.pid, 0)
            reaped.append((status, time.perf_counter()))

        waiter = threading.Thread(target=reap, name="bench-wait4", daemon=True)
        waiter.start()
        deadline = time.monotonic() + timeout
        while waiter.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(OSError, KeyError, ValueError):  # exiting: no mm
                peak_kb = max(peak_kb, status_kb(proc.pid, "VmHWM"))
            waiter.join(0.01)
        if waiter.is_alive():
            proc.kill()
            waiter.join(30)
            raise BenchFailed(f"{' '.join(argv[1:])}: nach {timeout:g} s abgebrochen")
    status, ended = reaped[0]
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise BenchFailed(f"{' '.join(argv[1:])}: Exit-Code {proc.returncode}\n{tail}")
    return Run(ended - started, peak_kb / 1024)


def buchex_export(home: Path, out: Path, log: Path, *, commit: bool, timeout: float) -> Run:
    """`buchex export stb --out OUT [--commit]`; OUT is removed afterwards (~0.4 kB per
    booking: keep the disk small)."""
    if out.exists():
        shutil.rmtree(out)
    command = ["export", CONFIG_ID, "--out", str(out), *(["--commit"] if commit else [])]
    run = buchex(home, command, log, timeout=timeout)
    shutil.rmtree(out, ignore_errors=True)
    return run


# -- 1. full export A/B ------------------------------------------------------------------------


def full_exports(
    tmp: Path, base: Path, committed: Path, bookings: int, pairs: int
) -> dict[str, Any]:
    runs: dict[str, list[Run]] = {"A": [], "B": []}
    out, log = tmp / "out", tmp / "export.log"
    i = 0
    while i < pairs:
        a = buchex_export(base, out, log, commit=False, timeout=EXPORT_TIMEOUT_S)
        runs["A"].append(a)
        print(f"  A{i + 1}: export          {a.seconds:7.2f} s  {a.peak_mb:5.0f} MB", flush=True)
        if i == 0 and a.seconds > SLOW_A_S and pairs > 2:
            pairs = 2
            print(f"  (A über {SLOW_A_S:g} s: nur 2 Paare)", flush=True)
        copy_home(base, committed)  # not timed: an empty journal for every B
        if journal_count(committed):
            raise BenchFailed("die Kopie für B hat schon ein Exportjournal mit Buchungen")
        b = buchex_export(committed, out, log, commit=True, timeout=EXPORT_TIMEOUT_S)
        runs["B"].append(b)
        journaled = journal_count(committed)
        print(
            f"  B{i + 1}: export --commit {b.seconds:7.2f} s  {b.peak_mb:5.0f} MB  "
            f"({de(journaled)} Buchungen im Journal)",
            flush=True,
        )
        if journaled != bookings:
            raise BenchFailed(f"B hat {journaled} statt {bookings} Buchungen verbucht")
        i += 1
    return {
        "A": runs["A"],
        "B": runs["B"],
        "journal_mb": journal_mb(committed),
    }


# -- 2. incremental ------------------------------------------------------------------------


def incremental_runs(
    tmp: Path,
    state: Path,
    bookings: int,
    runs: int,
    *,
    full_check: bool = False,
    deliver: tuple[dict[str, Any], ChildFTP] | None = None,
) -> list[Run]:
    """`buchex export stb --out DIR --commit` (or with `deliver`: `buchex run stb --force`
    to the FTP server), each on a fresh copy of `state`; checks that exactly the new
    bookings were journaled."""
    out, log, home = tmp / "out", tmp / "incremental.log", tmp / "incremental"
    result: list[Run] = []
    for i in range(runs):
        copy_home(state, home)
        if full_check:
            move_full_check_back(home)
        if deliver is None:
            run = buchex_export(home, out, log, commit=True, timeout=INCREMENTAL_TIMEOUT_S)
            what = "export --commit"
        else:
            point_at(home, *deliver)
            run = buchex(home, ["run", CONFIG_ID, "--force"], log, timeout=INCREMENTAL_TIMEOUT_S)
            what = "run (FTP)      "
        journaled = journal_count(home)
        label = "mit Vollprüfung" if full_check else f"{i + 1}"
        print(
            f"  {what} {label}: {run.seconds:6.2f} s  {run.peak_mb:5.0f} MB  "
            f"({de(journaled - bookings)} neu im Journal)",
            flush=True,
        )
        if journaled != bookings + NEW_BOOKINGS:
            raise BenchFailed(
                f"inkrementell: {journaled - bookings} statt {NEW_BOOKINGS} Buchungen verbucht"
            )
        result.append(run)
    shutil.rmtree(home, ignore_errors=True)
    return result


# -- 3. the statements and their SQLite plans -----------------------------------------------


@dataclass
class Statement:
    purpose: str
    sql: str  # with ? placeholders (ledger) or literals (journal)
    params: tuple[Any, ...] = ()
    calls: dict[str, int] = field(default_factory=dict)  # per run kind
    plan: list[str] = field(default_factory=list)
    pg_plan: list[str] = field(default_factory=list)
    rows: int = 0  # returned when run again alone
    ms: float = 0.0

    @property
    def inlined(self) -> str:
        return inline(self.sql, self.params)

    @property
    def called(self) -> str:
        return ", ".join(f"{kind} {n}×" for kind, n in self.calls.items())


def literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def inline(sql: str, params: Sequence[Any]) -> str:
    """The statement with its ? placeholders replaced by literals (no ? occurs in the
    statements' text otherwise: checked)."""
    parts = sql.split("?")
    if len(parts) != len(params) + 1:
        raise BenchFailed(f"{len(params)} Parameter für {len(parts) - 1} Platzhalter: {sql}")
    pieces = [parts[0]]
    for value, rest in zip(params, parts[1:], strict=True):
        pieces += [literal(value), rest]
    return "".join(pieces)


def ledger_purpose(sql: str) -> str:
    head = " ".join(sql.split()[:3])
    if "HAVING count(*) >" in sql:
        return "duplicate journal numbers in the range read (Ledger._duplicates)"
    if "count(*)" in sql:
        return "numbering gaps: count/min/max of the new range (Ledger.numbering_gaps)"
    if "max(bookings.journal_no)" in sql:
        return "upper bound per client (Ledger.max_journal_no)"
    if "bookings.journal_no IN" in sql:
        return "late bookings by number (Ledger.bookings_numbered)"
    if head == "SELECT bookings.journal_no FROM":
        return "look-back: journal numbers in the window (Ledger.journal_numbers)"
    if head.startswith("SELECT bookings.journal_no, bookings.client_id"):
        if "document_type IN" not in sql:
            return "change check: all bookings of the window, keyset page (Ledger.bookings)"
        return "the new bookings, one keyset page (Ledger.bookings)"
    return "other"


def journal_purpose(sql: str) -> str:
    if "FROM delivered_values" in sql:
        return "change check: kept values (Journal.kept_values)"
    if "FROM delivered" in sql and "fingerprint" in sql:
        return "change check: delivered bookings of the window (Journal.delivered_in)"
    if "FROM delivered" in sql:
        return "look-back: delivered numbers in the window (Journal.delivered_numbers)"
    if "FROM changes" in sql:
        return "change check: changes reported before (Journal.reported)"
    if "FROM deliveries" in sql:
        return "an unfinished delivery (Journal.open_delivery / finish)"
    if "FROM watermarks" in sql:
        return "watermarks and baselines (Journal.marks)"
    if "FROM config_state" in sql:
        return "config state: last full check, alert state, revision"
    if "FROM runs" in sql:
        return "run records (Journal.running / finish)"
    if "FROM meta" in sql:
        return "revision counter (Journal.stamp)"
    if "sqlite_master" in sql:
        return "schema check on opening (Journal._ensure), a few rows"
    return "other"


def sqlite_plan(db: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[str]:
    """EXPLAIN QUERY PLAN as indented lines."""
    rows = db.execute("EXPLAIN QUERY PLAN " + sql, tuple(params)).fetchall()
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + str(detail))
    return lines


def explain(db: sqlite3.Connection, stmt: Statement) -> None:
    """The statement's plan, then the statement itself: rows returned, time (best of 3)."""
    stmt.plan = sqlite_plan(db, stmt.sql, stmt.params)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        stmt.rows = len(db.execute(stmt.sql, stmt.params).fetchall())
        best = min(best, time.perf_counter() - started)
    stmt.ms = best * 1000


def scans(plan: Sequence[str], table_name: str) -> list[str]:
    """Plan lines that pass over a whole table or index of `table_name`."""
    return [line.strip() for line in plan if re.match(rf"\s*SCAN {table_name}\b", line)]


def journal_scans_of(plan: Sequence[str]) -> list[str]:
    """SCAN lines on a journal table: the schema check's reads of sqlite_master, of the
    pragma functions (application id, user version: one row each) and of its constant
    row aside."""
    return [
        line.strip()
        for line in plan
        if re.match(r"\s*SCAN (?!sqlite_master\b|pragma_\w+ VIRTUAL TABLE|CONSTANT ROW)\w+", line)
    ]


@dataclass
class Capture:
    ledger: dict[tuple[str, tuple[Any, ...]], Statement] = field(default_factory=dict)
    journal: dict[str, Statement] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def capture_run(
    capture: Capture,
    kind: str,
    home: Path,
    action: Any,
) -> None:
    """Run `action(ws, cfg)` in this process with every ledger statement (SQLAlchemy's
    before_cursor_execute on every Engine) and every journal statement (sqlite3 trace
    callback on the journal's connections, which shows the bound values) recorded."""
    import sqlalchemy as sa

    from engine.paths import DataDir
    from engine.workspace import Workspace

    ws = Workspace(DataDir.open(str(home)))
    cfg = ws.get_config(CONFIG_ID)
    ledger_calls: list[tuple[str, tuple[Any, ...]]] = []
    journal_calls: list[str] = []

    def on_execute(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        ledger_calls.append((statement, tuple(parameters or ())))

    journal = ws.runs
    journal.close()
    plain_open = journal._open

    def traced_open() -> sqlite3.Connection:
        conn = plain_open()
        conn.set_trace_callback(journal_calls.append)  # expanded SQL (Python ≥ 3.11)
        return conn

    journal._open = traced_open  # type: ignore[method-assign]
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", on_execute)
    # The embedded file is read without SQLAlchemy (plain sqlite3): its statements come
    # from a sqlite3 trace callback (values inlined); the event sees external databases.
    from engine.ledger import Ledger

    plain_init = Ledger.__init__

    def traced_init(self: Ledger, url: str) -> None:
        plain_init(self, url)
        connect = self._sqlite
        if connect is not None:

            def traced_connect() -> sqlite3.Connection:
                conn = connect()
                conn.set_trace_callback(lambda sql: ledger_calls.append((sql, ())))
                return conn

            self._sqlite = traced_connect

    Ledger.__init__ = traced_init  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        rows = action(ws, cfg)
        capture.seconds[kind] = time.perf_counter() - started
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", on_execute)
        Ledger.__init__ = plain_init  # type: ignore[method-assign]
        journal.close()
        journal._open = plain_open  # type: ignore[method-assign]
    if rows != NEW_BOOKINGS:
        raise BenchFailed(f"Mitschnitt {kind}: {rows} statt {NEW_BOOKINGS} Buchungen")
    for sql, params in ledger_calls:
        if not sql.lstrip().upper().startswith("SELECT") or "FROM bookings" not in sql:
            continue
        stmt = capture.ledger.setdefault((sql, params), Statement(ledger_purpose(sql), sql, params))
        stmt.calls[kind] = stmt.calls.get(kind, 0) + 1
    for sql in journal_calls:
        if sql.lstrip().upper().startswith("SELECT"):
            stmt = capture.journal.setdefault(sql, Statement(journal_purpose(sql), sql))
            stmt.calls[kind] = stmt.calls.get(kind, 0) + 1


def capture_statements(
    tmp: Path, state: Path, facts: dict[str, Any], ftp: ChildFTP
) -> tuple[list[Statement], list[Statement], dict[str, float], Path]:
    """`buchex export --commit` (export_local) and `buchex run` (run_config, delivering to
    `ftp`), each once in this process on a fresh copy of `state`, statements recorded; then
    EXPLAIN QUERY PLAN of every distinct SELECT."""
    from engine.runner import RunOptions, export_local, run_config

    capture = Capture()
    booked = ("bookings", "incoming")

    def by_export(ws: Any, cfg: Any) -> int:
        result = export_local(ws, cfg, tmp / "explain-out", commit=True)
        shutil.rmtree(tmp / "explain-out", ignore_errors=True)
        return sum(f.rows for f in result.files if f.kind in booked)

    def by_run(ws: Any, cfg: Any) -> int:
        record = run_config(ws, cfg, RunOptions(trigger="cli", force=True, backoff=0))
        if record.status != "ok":
            raise BenchFailed(f"Mitschnitt run: {record.status} {record.step} {record.reason}")
        return sum(int(f["rows"]) for f in record.files if f.get("kind") in booked)

    home = tmp / "explain"
    copy_home(state, home)
    capture_run(capture, "export", home, by_export)
    copy_home(state, home)
    point_at(home, facts, ftp)
    capture_run(capture, "run", home, by_run)

    db = sqlite3.connect(f"file:{home / 'ledger.sqlite'}?mode=ro", uri=True)
    try:
        for stmt in capture.ledger.values():
            explain(db, stmt)
    finally:
        db.close()
    db = sqlite3.connect(f"file:{home / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        for stmt in capture.journal.values():
            explain(db, stmt)
    finally:
        db.close()
    return list(capture.ledger.values()), list(capture.journal.values()), capture.seconds, home


# -- 4. PostgreSQL ------------------------------------------------------------------------------

PG_TABLE = """
CREATE TABLE bookings (
    journal_no      BIGINT  NOT NULL,
    client_id       INTEGER NOT NULL,
    branch_id       INTEGER NOT NULL,
    document_type   TEXT    NOT NULL,
    document_no     TEXT    NOT NULL,
    document_date   DATE    NOT NULL,
    amount_cents    BIGINT  NOT NULL CHECK (amount_cents > 0),
    debit_credit    CHAR(1) NOT NULL CHECK (debit_credit IN ('S', 'H')),
    account         TEXT    NOT NULL,
    contra_account  TEXT    NOT NULL,
    tax_key         TEXT,
    text            TEXT,
    payment_method  TEXT,
    partner_account TEXT,
    cost_center     TEXT
)
"""


def ledger_mix(ledger_path: Path) -> tuple[list[tuple[int, str, int]], dict[int, list[int]]]:
    """(client, document type, count) of the demo ledger, and each client's branches."""
    db = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
    try:
        mix = [
            (int(c), str(t), int(n))
            for c, t, n in db.execute(
                "SELECT client_id, document_type, count(*) FROM bookings GROUP BY 1, 2 "
                "ORDER BY 1, 2"
            )
        ]
        branches: dict[int, list[int]] = {}
        for branch_id, client_id in db.execute("SELECT id, client_id FROM branches ORDER BY id"):
            branches.setdefault(int(client_id), []).append(int(branch_id))
    finally:
        db.close()
    return mix, branches


def pg_fill_sql(rows: int, mix: list[tuple[int, str, int]], branches: dict[int, list[int]]) -> str:
    """INSERT … SELECT from generate_series: journal numbers 1..rows, client and document
    type drawn with the ledger's frequencies (one random() per row), dates spread over two
    years in journal order like the demo's."""
    total = sum(n for _c, _t, n in mix)
    client_case, type_case, cumulative = [], [], 0
    for client, doc_type, n in mix[:-1]:
        cumulative += n
        bound = f"{cumulative / total:.9f}"
        client_case.append(f"WHEN r < {bound} THEN {client}")
        type_case.append(f"WHEN r < {bound} THEN {literal(doc_type)}")
    last_client, last_type, _n = mix[-1]
    branch_case = " ".join(
        f"WHEN {client} THEN (ARRAY[{', '.join(map(str, ids))}])[1 + g % {len(ids)}]"
        for client, ids in sorted(branches.items())
    )
    return f"""
INSERT INTO bookings
SELECT g, c, CASE c {branch_case} END, t, t || '-' || g,
       date '2024-04-01' + (g * 730 / {rows})::int,
       100 + (g * 7919) % 500000,
       CASE WHEN g % 3 = 0 THEN 'H' ELSE 'S' END,
       '1200', '8400', NULL, 'Buchung ' || g,
       CASE WHEN g % 4 = 0 THEN 'BAR' END, NULL, NULL
FROM (
    SELECT g,
           CASE {" ".join(client_case)} ELSE {last_client} END AS c,
           CASE {" ".join(type_case)} ELSE {literal(last_type)} END AS t
    FROM (SELECT g, random() AS r FROM generate_series(1::bigint, {rows}) AS g) AS drawn
) AS m
"""


def postgres_plans(
    statements: list[Statement], rows: int, ledger_path: Path
) -> tuple[str | None, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement on PostgreSQL; fills `pg_plan`.
    Returns (note if skipped, a line about the server and the load)."""
    try:
        from tests.pg_server import PostgresUnavailable, postgres_server
    except ImportError as exc:
        return f"PostgreSQL übersprungen: tests/pg_server.py oder psycopg fehlt ({exc})", ""
    mix, branches = ledger_mix(ledger_path)
    try:
        with postgres_server() as server:
            database = server.create_database("journal_bench")
            with server.connect(database, autocommit=True) as conn:
                version = str(conn.execute("SHOW server_version").fetchone()[0])
                started = time.perf_counter()
                conn.execute(PG_TABLE)
                conn.execute("SELECT setseed(0.25)")
                conn.execute(pg_fill_sql(rows, mix, branches).encode())
                conn.execute("ALTER TABLE bookings ADD PRIMARY KEY (journal_no)")
                conn.execute(
                    "CREATE INDEX bookings_client_journal ON bookings (client_id, journal_no)"
                )
                conn.execute("VACUUM (ANALYZE) bookings")
                load_s = time.perf_counter() - started
                size = conn.execute(
                    "SELECT pg_size_pretty(pg_total_relation_size('bookings'))"
                ).fetchone()[0]
                for stmt in statements:
                    plan = conn.execute(
                        ("EXPLAIN (ANALYZE, BUFFERS) " + stmt.inlined).encode()
                    ).fetchall()
                    stmt.pg_plan = [str(line[0]) for line in plan]
        info = (
            f"PostgreSQL {version}, {en(rows)} rows generated and indexed in {load_s:.0f} s "
            f"(table with indexes: {size}); settings of tests/pg_server.py (fsync off)"
        )
        print(f"  {info}", flush=True)
        return None, info
    except (PostgresUnavailable, RuntimeError, OSError, subprocess.SubprocessError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL übersprungen: {first}", ""


def pg_buffers(plan: Sequence[str]) -> int:
    """Shared buffers (hit + read) of the plan's top node."""
    for line in plan:
        if "Buffers: shared" in line:
            return sum(int(n) for n in re.findall(r"(?:hit|read)=(\d+)", line))
    return 0


def pg_time(plan: Sequence[str]) -> float:
    for line in plan:
        if line.startswith("Execution Time:"):
            return float(line.split()[2])
    return float("nan")


def seq_scans(plan: Sequence[str]) -> list[str]:
    return [line.strip() for line in plan if "Seq Scan on bookings" in line]


# -- report ------------------------------------------------------------------------------------


def plan_summary(plan: Sequence[str]) -> str:
    return " / ".join(line.strip() for line in plan)


def pg_summary(plan: Sequence[str]) -> str:
    """The plan's node lines without costs: one line, for the console."""
    nodes = []
    for line in plan:
        text = line.strip().removeprefix("->").strip()
        if not text or text.startswith(("Buffers", "Planning", "Execution", "I/O")):
            continue
        if text.startswith(("Index Cond", "Filter", "Rows Removed", "Heap Fetches")):
            continue
        nodes.append(re.sub(r"\s+\(cost=.*$", "", text))
    return " / ".join(nodes)


def explain_markdown(
    facts: dict[str, Any],
    ledger: list[Statement],
    journal: list[Statement],
    pg_note: str | None,
    pg_info: str,
) -> str:
    """docs/export-explain.md."""
    rows = facts["bookings"]
    lines = [
        "# Incremental runs: the statements and their query plans",
        "",
        "Generated by `python -m bench.journal --doc docs/export-explain.md` "
        f"({facts['when']}, {en(rows)} demo bookings, SQLite {sqlite3.sqlite_version}). "
        "Do not edit by hand; run the benchmark again.",
        "",
        "The question (issue): with 3,000,000 bookings in the ledger, does an incremental run "
        f"that finds {NEW_BOOKINGS} new bookings read an index, or the whole table?",
        "",
        "Set-up (`bench/journal.py`): one config over every client and every document type "
        "(incoming bookings too); one `buchex export stb --out DIR --commit` over the whole "
        f"ledger (the journal then lists all {en(rows)} bookings); {NEW_BOOKINGS} new "
        "bookings appended with the next journal numbers. Then, each on a fresh copy of that "
        "state and inside the benchmark's process, `export_local(commit=True)` (= `buchex "
        "export --commit`) and `run_config` (= `buchex run`, delivering to a local FTP "
        "server; it also checks the delivered bookings of the look-back window for changes), "
        "with every statement recorded: SQLAlchemy's `before_cursor_execute` event for the "
        "ledger (a sqlite3 trace callback for the embedded file, which is read without "
        "SQLAlchemy), a sqlite3 trace callback for the journal. Each distinct SELECT on "
        "`bookings` (with its parameters) and each SELECT of the journal then ran with "
        "`EXPLAIN QUERY PLAN`; the ledger's statements also on PostgreSQL with "
        "`EXPLAIN (ANALYZE, BUFFERS)`.",
        "",
        "Watermarks before the run: "
        + ", ".join(f"client {c}: {en(n)}" for c, n in sorted(facts["watermarks"].items()))
        + f"; new journal numbers {en(facts['new'][0])}–{en(facts['new'][1])}; look-back "
        f"window {en(facts['window'])} journal numbers. The daily full check had run, so the "
        "look-back reads only the window.",
        "",
        "## What the plans show",
        "",
        *facts["verdict"],
        "",
        "## Summary",
        "",
        "| | statement | issued by | rows | SQLite plan | PostgreSQL plan |",
        "|---|---|---|---:|---|---|",
        *(
            f"| L{i} | {s.purpose} | {s.called} | {en(s.rows)} | "
            f"{plan_summary(s.plan)} | {pg_summary(s.pg_plan) or '–'} |"
            for i, s in enumerate(ledger, 1)
        ),
        *(
            f"| J{i} | {s.purpose} | {s.called} | {en(s.rows)} | {plan_summary(s.plan)} | |"
            for i, s in enumerate(journal, 1)
        ),
        "",
        "## SQLite ledger (`ledger.sqlite`)",
        "",
        "Index `bookings_client_journal (client_id, journal_no)`; `journal_no` is the "
        "INTEGER PRIMARY KEY (the rowid). After each title: how often each run issued the "
        "statement with exactly these parameters, the rows it returned and its time when run "
        "again alone (warm cache).",
        "",
    ]
    for i, stmt in enumerate(ledger, 1):
        lines += [
            f"### L{i}. {stmt.purpose}",
            "",
            f"{stmt.called}; {rows_text(stmt.rows)}, {stmt.ms:.1f} ms",
            "",
            "```sql",
            stmt.inlined,
            "```",
            "",
            "```",
            *stmt.plan,
            "```",
            "",
        ]
    lines += [
        "## SQLite export journal (`journal.sqlite`)",
        "",
        "`delivered` and `delivered_values` are WITHOUT ROWID tables with the primary key "
        "(config_id, client_id, journal_no). The trace shows the SQL with its values bound.",
        "",
    ]
    for i, stmt in enumerate(journal, 1):
        lines += [
            f"### J{i}. {stmt.purpose}",
            "",
            f"{stmt.called}; {rows_text(stmt.rows)}, {stmt.ms:.1f} ms",
            "",
            "```sql",
            stmt.sql,
            "```",
            "",
            "```",
            *stmt.plan,
            "```",
            "",
        ]
    lines += ["## PostgreSQL", ""]
    if pg_note:
        lines += [pg_note.replace("PostgreSQL übersprungen", "Skipped") + ".", ""]
    else:
        lines += [
            f"{pg_info}. The contract's bookings table in PostgreSQL types (as in "
            "tests/pg_server.py, without foreign keys), "
            f"{en(rows + NEW_BOOKINGS)} rows from `generate_series` with the demo ledger's "
            "mix of clients and document types, `PRIMARY KEY (journal_no)`, index "
            "`bookings_client_journal (client_id, journal_no)`, `VACUUM (ANALYZE)`. The "
            "statements are the SQLite ledger's above with the parameters inlined "
            "(same WHERE clauses).",
            "",
        ]
        for i, stmt in enumerate(ledger, 1):
            lines += [f"### P{i} (= L{i}). {stmt.purpose}", "", "```", *stmt.pg_plan, "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def verdict_lines(
    ledger: list[Statement], journal: list[Statement], pg_note: str | None
) -> list[str]:
    lines = []
    bad_ledger = [(i, s) for i, s in enumerate(ledger, 1) if scans(s.plan, "bookings")]
    if bad_ledger:
        lines += [
            f"- **Finding**: {len(bad_ledger)} of {len(ledger)} ledger statements scan "
            "`bookings`: "
            + "; ".join(
                f"L{i} ({s.purpose}): `{scans(s.plan, 'bookings')[0]}`" for i, s in bad_ledger
            )
            + "."
        ]
    else:
        used = sorted(
            {
                m.group(1)
                for s in ledger
                for line in s.plan
                if (m := re.search(r"USING ((?:COVERING )?INDEX \w+|INTEGER PRIMARY KEY)", line))
            }
        )
        sorts = [i for i, s in enumerate(ledger, 1) if any("TEMP B-TREE" in x for x in s.plan)]
        most = max(ledger, key=lambda s: s.rows)
        lines += [
            f"- SQLite ledger: all {len(ledger)} SELECTs on `bookings` are `SEARCH`es "
            f"({', '.join(f'`{u}`' for u in used)}), none has `SCAN bookings`. "
            + (
                f"L{', L'.join(map(str, sorts))} sort in a temporary B-tree. "
                if sorts
                else "None sorts in a temporary B-tree: the index delivers journal order. "
            )
            + f"The most rows any of them returns is {en(most.rows)} ({most.purpose}); "
            f"the slowest takes {max(s.ms for s in ledger):.1f} ms."
        ]
    bad_journal = [(i, s) for i, s in enumerate(journal, 1) if journal_scans_of(s.plan)]
    if bad_journal:
        lines += [
            f"- **Finding**: {len(bad_journal)} journal statements scan a table: "
            + "; ".join(f"J{i}: `{journal_scans_of(s.plan)[0]}`" for i, s in bad_journal)
            + "."
        ]
    else:
        lines += [
            f"- SQLite journal: all {len(journal)} SELECTs search by primary key or index "
            "(the schema check's `SCAN sqlite_master` reads a dozen schema rows); "
            "`delivered` is read only in the look-back window."
        ]
    if pg_note:
        lines += [f"- PostgreSQL: {pg_note.replace('PostgreSQL übersprungen', 'skipped')}."]
    else:
        bad_pg = [(i, s) for i, s in enumerate(ledger, 1) if seq_scans(s.pg_plan)]
        if bad_pg:
            lines += [
                f"- **Finding**: on PostgreSQL {len(bad_pg)} statements use `Seq Scan on "
                "bookings`: " + ", ".join(f"P{i}" for i, _s in bad_pg) + "."
            ]
        else:
            nodes = sorted(
                {
                    m.group(1)
                    for s in ledger
                    for line in s.pg_plan
                    if (
                        m := re.search(
                            r"((?:Index|Index Only|Bitmap \w+) Scan(?: Backward)?"
                            r"(?: using \w+)?) on bookings",
                            line,
                        )
                    )
                }
            )
            buffers = [pg_buffers(s.pg_plan) for s in ledger]
            times = [pg_time(s.pg_plan) for s in ledger]
            lines += [
                "- PostgreSQL: no `Seq Scan on bookings`; the statements use "
                + ", ".join(f"`{n}`" for n in nodes)
                + f"; each touches {min(buffers)}–{max(buffers)} buffers (8 kB pages) and "
                f"runs in {min(times):.2f}–{max(times):.2f} ms. Where the planner prefers "
                "the primary key for a window, it reads the window's journal-number range "
                "and filters the other client's rows (`Rows Removed by Filter`): bounded by "
                "the window, not by the table."
            ]
    lines += [
        "- The look-back and the change check read the window's journal numbers and rows "
        "from the ledger's index and the journal's primary key: their cost grows with the "
        "window (setting `lookback_journal_numbers`, default 20,000), not with the ledger.",
        "- Not in these plans: once a day the full check reads the whole range down to the "
        "baseline, from both indexes (`python -m bench.journal` times that run).",
    ]
    return lines


def runs_note(runs: Sequence[Run]) -> str:
    return ", ".join(f"{r.seconds:.1f}" for r in runs) + " s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.journal")
    parser.add_argument("--quick", action="store_true", help=f"{de(QUICK_ROWS)} Buchungen")
    parser.add_argument("--rows", type=int, default=None, help=f"Buchungen (Standard {de(ROWS)})")
    parser.add_argument("--pairs", type=int, default=PAIRS, help="A/B-Paare (mindestens 2)")
    parser.add_argument("--doc", type=Path, default=None, help="Pläne als Markdown schreiben")
    parser.add_argument("--no-postgres", action="store_true", help="PostgreSQL auslassen")
    parser.add_argument(
        "--explain-only",
        action="store_true",
        help="nur Anweisungen und Pläne (ein Vollexport mit --commit, keine Zeitmessung A/B)",
    )
    args = parser.parse_args(argv)
    rows = args.rows or (QUICK_ROWS if args.quick else ROWS)
    pairs = max(2, args.pairs)
    try:
        if args.explain_only:
            return explain_only(rows, args.doc, postgres=not args.no_postgres)
        return measure(rows, pairs, args.doc, postgres=not args.no_postgres, quick=args.quick)
    except BenchFailed as exc:
        print(f"!!! {exc}", flush=True)
        return 2


def start(rows: int, tmp: Path) -> tuple[dict[str, Any], tuple[float, float, float]]:
    """The header line, the demo data directory in tmp/base; returns facts and the load."""
    load = os.getloadavg()
    print(
        f"Exportjournal-Benchmark: {de(rows)} Buchungen, {os.cpu_count()} Kerne, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"Last {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )
    facts = make_home(tmp / "base", rows)
    facts["when"] = dt.datetime.now().astimezone().isoformat(timespec="minutes")
    print(
        f"Demo-Buchhaltung: {de(facts['bookings'])} Buchungen in {facts['seconds']:.1f} s "
        f"({facts['ledger_mb']:.0f} MB); Konfiguration {CONFIG_ID}: Mandanten "
        f"{', '.join(facts['clients'])}, Belegarten {', '.join(facts['outgoing'])} + "
        f"Eingang {', '.join(facts['incoming'])}",
        flush=True,
    )
    return facts, load


def new_bookings(committed: Path, facts: dict[str, Any]) -> None:
    """The incremental state: NEW_BOOKINGS more bookings; notes watermarks and window."""
    from engine.paths import DataDir
    from engine.workspace import Workspace

    first, last = add_bookings(committed / "ledger.sqlite", NEW_BOOKINGS)
    print(f"  neue Journalnummern {de(first)} … {de(last)}", flush=True)
    facts["new"] = (first, last)
    ws = Workspace(DataDir.open(str(committed)))
    facts["watermarks"] = ws.runs.watermarks(CONFIG_ID)
    facts["window"] = ws.chain_settings().lookback
    ws.runs.close()


@dataclass
class Plans:
    ledger: list[Statement]
    journal: list[Statement]
    inprocess: dict[str, float]
    pg_note: str | None

    def figures(self) -> list[Figure]:
        ledger_scans = sum(1 for s in self.ledger if scans(s.plan, "bookings"))
        journal_scans = sum(1 for s in self.journal if journal_scans_of(s.plan))
        pg_scans = None if self.pg_note else sum(1 for s in self.ledger if seq_scans(s.pg_plan))
        return [
            Figure(BENCH, "Inkrementell: SCAN auf bookings (SQLite)", ledger_scans, "",
                   "= 0", ledger_scans == 0, f"{len(self.ledger)} SELECTs", 0),
            Figure(BENCH, "Inkrementell: SCAN im Exportjournal", journal_scans, "", "= 0",
                   journal_scans == 0,
                   f"{len(self.journal)} SELECTs (sqlite_master ausgenommen)", 0),
            Figure(BENCH, "Inkrementell: Seq Scan auf bookings (PostgreSQL)", pg_scans, "",
                   "= 0", None if pg_scans is None else pg_scans == 0, self.pg_note or "", 0),
        ]  # fmt: skip


def statements_and_plans(
    tmp: Path,
    committed: Path,
    facts: dict[str, Any],
    ftp: ChildFTP,
    doc: Path | None,
    *,
    postgres: bool,
    step: int,
) -> Plans:
    """Parts 3 and 4: record the statements, SQLite and PostgreSQL plans, the doc."""
    print(f"\n{step}. Anweisungen (im Prozess mitgeschnitten) und SQLite-Pläne", flush=True)
    ledger, journal, inprocess, explained = capture_statements(tmp, committed, facts, ftp)
    print(
        "  im Prozess: "
        + ", ".join(f"{kind} {seconds:.3f} s" for kind, seconds in inprocess.items()),
        flush=True,
    )
    for prefix, statements in (("L", ledger), ("J", journal)):
        for i, stmt in enumerate(statements, 1):
            print(
                f"  {prefix}{i} {stmt.purpose} ({stmt.called}; {stmt.rows} Zeilen, "
                f"{stmt.ms:.1f} ms)\n     {plan_summary(stmt.plan)}",
                flush=True,
            )
    pg_note: str | None = "PostgreSQL übersprungen: --no-postgres"
    pg_info = ""
    if postgres:
        print(f"\n{step + 1}. PostgreSQL: EXPLAIN (ANALYZE, BUFFERS)", flush=True)
        pg_note, pg_info = postgres_plans(
            ledger, facts["bookings"] + NEW_BOOKINGS, explained / "ledger.sqlite"
        )
        if pg_note:
            print(f"  {pg_note}", flush=True)
        for i, stmt in enumerate(ledger, 1):
            if stmt.pg_plan:
                print(f"  P{i}: {pg_summary(stmt.pg_plan)}", flush=True)
    shutil.rmtree(explained, ignore_errors=True)
    facts["verdict"] = verdict_lines(ledger, journal, pg_note)
    if doc is not None:
        doc.write_text(explain_markdown(facts, ledger, journal, pg_note, pg_info))
        print(f"\n  Pläne geschrieben: {doc}", flush=True)
    return Plans(ledger, journal, inprocess, pg_note)


def report(figures: list[Figure], started: float, load_before: Sequence[float]) -> int:
    print(f"\n=== Ergebnis ({time.monotonic() - started:.0f} s)")
    print(
        table(
            ["Messgröße", "Wert", "Ziel", "", "Hinweis"],
            [[f.name, f.shown(), f.target or "–", mark(f.ok), f.note] for f in figures],
            align="lrrll",
        )
    )
    load_after = os.getloadavg()
    print(
        f"Last (1/5/15 min) vorher {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}, nachher {load_after[0]:.2f} {load_after[1]:.2f} "
        f"{load_after[2]:.2f}"
    )
    for figure in figures:
        emit(figure)
    return 1 if any(f.ok is False for f in figures) else 0


def explain_only(rows: int, doc: Path | None, *, postgres: bool) -> int:
    """Statements and plans only: one committed full export, no A/B timing (~3 min)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="buchex-bench-journal-") as tmp_name:
        tmp = Path(tmp_name)
        facts, load = start(rows, tmp)
        committed = tmp / "committed"
        print("\n1. Ein Vollexport mit --commit", flush=True)
        shutil.move(tmp / "base", committed)
        run = buchex_export(
            committed, tmp / "out", tmp / "export.log", commit=True, timeout=EXPORT_TIMEOUT_S
        )
        print(f"  export --commit {run.seconds:.2f} s, {run.peak_mb:.0f} MB", flush=True)
        print(f"\n2. {NEW_BOOKINGS} neue Buchungen", flush=True)
        new_bookings(committed, facts)
        with ftp_server_process(tmp / "ftp-root") as ftp:
            plans = statements_and_plans(tmp, committed, facts, ftp, doc, postgres=postgres, step=3)
    return report(plans.figures(), started, load)


def measure(rows: int, pairs: int, doc: Path | None, *, postgres: bool, quick: bool) -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="buchex-bench-journal-") as tmp_name:
        tmp = Path(tmp_name)
        facts, load = start(rows, tmp)
        base, committed = tmp / "base", tmp / "committed"

        print(f"\n1. Vollexport, abwechselnd A/B ({pairs} Paare)", flush=True)
        full = full_exports(tmp, base, committed, facts["bookings"], pairs)
        shutil.rmtree(base)  # the committed state has the same ledger

        print(f"\n2. Inkrementell: {NEW_BOOKINGS} neue Buchungen", flush=True)
        new_bookings(committed, facts)
        total = facts["bookings"]
        incremental = incremental_runs(tmp, committed, total, INCREMENTAL_RUNS)
        with_check = incremental_runs(tmp, committed, total, 1, full_check=True)
        with ftp_server_process(tmp / "ftp-root") as ftp:
            delivered = incremental_runs(
                tmp, committed, total, INCREMENTAL_RUNS, deliver=(facts, ftp)
            )
            plans = statements_and_plans(tmp, committed, facts, ftp, doc, postgres=postgres, step=3)

    a_s = median([r.seconds for r in full["A"]])
    b_s = median([r.seconds for r in full["B"]])
    ratio = b_s / a_s
    a_mb = median([r.peak_mb for r in full["A"]])
    b_mb = median([r.peak_mb for r in full["B"]])
    inc_s = median([r.seconds for r in incremental])
    inc_mb = median([r.peak_mb for r in incremental])
    run_s = median([r.seconds for r in delivered])
    run_mb = median([r.peak_mb for r in delivered])
    size = f"{de(rows)} Buchungen" if quick or rows != ROWS else ""
    sized = f"; {size}" if size else ""
    figures = [
        Figure(BENCH, "Vollexport A: export (ohne Journal), Median", a_s, "s", "", None,
               runs_note(full["A"]) + sized),
        Figure(BENCH, "Vollexport B: export --commit (Journal), Median", b_s, "s", "", None,
               runs_note(full["B"]) + sized),
        Figure(BENCH, "Vollexport B / A", ratio, "", f"≤ {TARGET_RATIO:.2f}",
               ratio <= TARGET_RATIO, size),
        Figure(BENCH, "Spitze RSS A (VmHWM)", a_mb, "MB", "", None, size, 0),
        Figure(BENCH, "Spitze RSS B (VmHWM)", b_mb, "MB", "", None, size, 0),
        Figure(BENCH, "Exportjournal nach Vollexport", full["journal_mb"], "MB", "", None,
               f"{full['journal_mb'] * 1e6 / facts['bookings']:.0f} B/Buchung", 0),
        Figure(BENCH, f"Inkrementell ({NEW_BOOKINGS} neu), export --commit, Median", inc_s,
               "s", "", None, f"{runs_note(incremental)}; {inc_mb:.0f} MB{sized}"),
        Figure(BENCH, "Inkrementell mit täglicher Vollprüfung", with_check[0].seconds, "s",
               "", None, f"{with_check[0].peak_mb:.0f} MB{sized}"),
        Figure(BENCH, f"Inkrementell ({NEW_BOOKINGS} neu), run per FTP, Median", run_s, "s",
               "", None, f"{runs_note(delivered)}; {run_mb:.0f} MB{sized}"),
        Figure(BENCH, "Inkrementell im Prozess: export_local / run_config",
               plans.inprocess["export"], "s", "", None,
               f"run_config {plans.inprocess['run']:.3f} s; ohne Interpreterstart und Importe",
               3),
        *plans.figures(),
    ]  # fmt: skip
    return report(figures, started, load)


if __name__ == "__main__":
    raise SystemExit(main())
