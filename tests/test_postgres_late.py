"""SPEC §3 on a real PostgreSQL ledger: two transactions that commit out of order around a
run. The lower journal number commits after the run delivered the higher one; the next run
delivers it, once, and nothing goes out twice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from engine.paths import DataDir
from engine.runner import RunOptions, run_config
from engine.workspace import Workspace
from tests.delivery_check import journal_numbers_on_server
from tests.pg_server import PostgresServer, create_ledger_database
from tests.servers import FTPServer

NOON = dt.datetime(2026, 11, 24, 12, 0).astimezone()
OPTS = RunOptions(trigger="manual", backoff=0)

COLUMNS = (
    "journal_no, client_id, branch_id, document_type, document_no, document_date, "
    "amount_cents, debit_credit, account, contra_account, tax_key, text, payment_method, "
    "partner_account, cost_center"
)


def at(moment: dt.datetime) -> Any:
    return lambda: moment


def insert_copy(conn: Any, source: int, journal_no: int, document_no: str) -> None:
    """A new booking like `source`, as a cash register would insert it (not committed)."""
    conn.execute(
        f"INSERT INTO bookings ({COLUMNS}) SELECT %s, client_id, branch_id, document_type, "
        "%s, document_date, amount_cents, debit_credit, account, contra_account, tax_key, "
        "text, payment_method, partner_account, cost_center FROM bookings WHERE journal_no = %s",
        (journal_no, document_no, source),
    )


def ledger_numbers(server: PostgresServer, db: str) -> set[int]:
    with server.connect(db, autocommit=True) as conn:
        rows = conn.execute("SELECT journal_no FROM bookings WHERE client_id = 1").fetchall()
    return {int(n) for (n,) in rows}


def test_out_of_order_commits_lose_nothing_on_postgresql(
    demo_home: Path, postgres_server: PostgresServer, ftp: FTPServer
) -> None:
    db, url = create_ledger_database(postgres_server, demo_home / "ledger.sqlite")
    ws = Workspace(DataDir.open(demo_home))
    ws.save_chain_settings({"ledger_url": url})
    cfg = ws.save_config(
        {
            "id": "stb",
            "name": "Steuerbüro",
            "target": {"host": ftp.host, "port": ftp.port, "user": ftp.user,
                       "password": ftp.password, "directory": "kanzlei"},
            "clients": ["1"],
            "document_types": ["KR", "KT", "GS", "BV", "EA", "ZA"],
            "incoming_export": True,
            "incoming_format": "datev",
            "format": "datev",
            "time": "06:30",
            "interval": {"kind": "daily"},
        }
    )  # fmt: skip
    first = run_config(ws, cfg, OPTS, clock=at(NOON))
    assert first.status == "ok", (first.step, first.reason)
    with postgres_server.connect(db, autocommit=True) as conn:
        top = int(conn.execute("SELECT max(journal_no) FROM bookings").fetchone()[0])

    # Two registers: the first takes the lower number, the second commits first.
    slow = postgres_server.connect(db)
    fast = postgres_server.connect(db)
    try:
        insert_copy(slow, 3, top + 1, "KASSE1-1")
        insert_copy(fast, 3, top + 2, "KASSE2-1")
        fast.commit()
        between = run_config(ws, cfg, OPTS, clock=at(NOON + dt.timedelta(minutes=15)))
        assert between.status == "ok" and sum(f["rows"] for f in between.files) == 1
        assert ws.runs.watermarks("stb")["1"] == top + 2  # past the uncommitted top + 1
        assert top + 1 not in journal_numbers_on_server(ftp.root)
        slow.commit()
    finally:
        slow.close()
        fast.close()

    late = run_config(ws, cfg, OPTS, clock=at(NOON + dt.timedelta(minutes=30)))
    assert late.status == "ok", (late.step, late.reason)
    assert late.late == 1 and sum(f["rows"] for f in late.files) == 1
    assert any(w.startswith(f"Journal-Nr. {top + 1}, Nachzügler") for w in late.warnings)
    after = run_config(ws, cfg, OPTS, clock=at(NOON + dt.timedelta(minutes=45)))
    assert after.status == "nothing"
    seen = journal_numbers_on_server(ftp.root)
    assert set(seen) == ledger_numbers(postgres_server, db) and max(seen.values()) == 1
