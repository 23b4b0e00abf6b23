"""No booking is ever lost (SPEC §3): late-visible bookings, filter changes, the daily full
check, numbering gaps and a cut delivery, each against a real FTP server."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine.config import ExportConfig
from engine.paths import DataDir
from engine.runner import RunOptions, run_config
from engine.workspace import Workspace
from tests.delivery_check import journal_numbers_on_server, ledger_numbers, temp_files
from tests.servers import FTPServer

NOON = dt.datetime(2026, 11, 24, 12, 0).astimezone()
OPTS = RunOptions(trigger="manual", backoff=0)


def at(moment: dt.datetime) -> Any:
    return lambda: moment


@pytest.fixture
def ws(demo_home: Path) -> Workspace:
    return Workspace(DataDir.open(demo_home))


def save(ws: Workspace, ftp: FTPServer, **changes: Any) -> ExportConfig:
    raw: dict[str, Any] = {
        "id": "stb",
        "name": "Steuerbüro",
        "target": {"host": ftp.host, "port": ftp.port, "user": ftp.user,
                   "password": ftp.password, "directory": "kanzlei"},
        "clients": ["1", "2"],
        "document_types": ["KR", "KT", "GS", "BV", "EA", "ZA"],
        "incoming_export": True,
        "incoming_format": "datev",
        "format": "datev",
        "time": "06:30",
        "interval": {"kind": "daily"},
    }  # fmt: skip
    raw.update(changes)
    return ws.save_config(raw)


def hold_back(ledger: Path, journal_no: int) -> tuple[Any, ...]:
    """Take a booking out of the ledger, as if its transaction had not committed yet."""
    with sqlite3.connect(ledger) as db:
        row = db.execute("SELECT * FROM bookings WHERE journal_no = ?", (journal_no,)).fetchone()
        db.execute("DELETE FROM bookings WHERE journal_no = ?", (journal_no,))
    assert row is not None
    return tuple(row)


def commit_late(ledger: Path, row: tuple[Any, ...]) -> None:
    with sqlite3.connect(ledger) as db:
        db.execute(f"INSERT INTO bookings VALUES ({','.join('?' * len(row))})", row)


def test_a_booking_that_becomes_visible_late_still_goes_out_once(
    ws: Workspace, ftp: FTPServer
) -> None:
    ledger = ws.data_dir.ledger_path
    cfg = save(ws, ftp)
    row = hold_back(ledger, 100)  # 101 and above are visible, 100 not yet
    first = run_config(ws, cfg, OPTS, clock=at(NOON))
    assert first.status == "ok" and first.late == 0
    assert 100 not in journal_numbers_on_server(ftp.root)
    assert ws.runs.watermarks("stb")["1"] > 100  # the watermark moved past it
    commit_late(ledger, row)
    second = run_config(ws, cfg, OPTS, clock=at(NOON + dt.timedelta(hours=1)))
    assert second.status == "ok", (second.step, second.reason)
    assert second.late == 1 and sum(f["rows"] for f in second.files) == 1
    assert any(w.startswith("Journal-Nr. 100, Nachzügler") for w in second.warnings)
    third = run_config(ws, cfg, OPTS, clock=at(NOON + dt.timedelta(hours=2)))
    assert third.status == "nothing"
    seen = journal_numbers_on_server(ftp.root)
    assert set(seen) == ledger_numbers(ledger) and max(seen.values()) == 1


def test_a_change_of_filters_does_not_send_old_bookings(ws: Workspace, ftp: FTPServer) -> None:
    cfg = save(ws, ftp, document_types=["KR"], incoming_export=False)
    assert run_config(ws, cfg, OPTS, clock=at(NOON)).status == "ok"
    wider = save(ws, ftp, document_types=["KR", "BV"], incoming_export=False)
    later = run_config(ws, wider, OPTS, clock=at(NOON + dt.timedelta(hours=1)))
    # Filters apply to bookings journaled from then on (docs/export.md), also in look-back.
    assert later.status == "nothing" and later.late == 0
    assert ws.runs.marks("stb")["1"].baseline == ws.runs.watermarks("stb")["1"]


def test_below_the_window_only_the_daily_full_check_finds_it_and_says_so(
    ws: Workspace, ftp: FTPServer
) -> None:
    ledger = ws.data_dir.ledger_path
    ws.save_chain_settings({"lookback_journal_numbers": 0})  # no window: full check only
    cfg = save(ws, ftp)
    row = hold_back(ledger, 40)
    assert run_config(ws, cfg, OPTS, clock=at(NOON)).status == "ok"  # the first full check
    commit_late(ledger, row)
    soon = run_config(ws, cfg, OPTS, clock=at(NOON + dt.timedelta(hours=2)))
    assert soon.status == "nothing"  # outside the window, and the full check ran today
    next_day = run_config(ws, cfg, OPTS, clock=at(NOON + dt.timedelta(days=1)))
    assert next_day.status == "ok" and next_day.late == 1
    [warning] = [w for w in next_day.warnings if "Nachzügler" in w]
    assert warning.startswith("Journal-Nr. 40") and "täglichen Vollprüfung" in warning
    seen = journal_numbers_on_server(ftp.root)
    assert set(seen) == ledger_numbers(ledger) and max(seen.values()) == 1


def test_gaps_in_the_numbering_are_reported_not_failed(ws: Workspace, ftp: FTPServer) -> None:
    ledger = ws.data_dir.ledger_path
    with sqlite3.connect(ledger) as db:
        db.execute("DELETE FROM bookings WHERE journal_no IN (50, 51, 52, 90)")
    record = run_config(ws, save(ws, ftp), OPTS, clock=at(NOON))
    assert record.status == "ok"
    assert record.gaps and all("Lückenanalyse" in line for line in record.gaps)
    assert "4 Journalnummern fehlen" in record.gaps[0] and "50–52, 90" in record.gaps[0]
    [stored] = ws.runs.runs("stb")
    assert stored.gaps == record.gaps


def test_a_cut_delivery_is_completed_by_the_next_run_without_duplicates(
    ws: Workspace, ftp: FTPServer
) -> None:
    ledger = ws.data_dir.ledger_path
    cfg = save(ws, ftp)
    ftp.state.cut_after = 2000  # the first upload is cut; no retry in this run
    ftp.state.cut_session = True
    cut = run_config(ws, cfg, RunOptions(trigger="manual", attempts=1), clock=at(NOON))
    assert cut.status == "failed" and "nächsten Lauf" in (cut.reason or "")
    unfinished = ws.runs.open_delivery("stb")
    assert unfinished is not None and unfinished.run_id == cut.id
    assert (ws.data_dir.outbox_dir / cut.id).is_dir()  # the planned files wait there
    assert ws.runs.watermarks("stb") == {}
    # Next day, new bookings meanwhile: the plan is completed first, then the new ones go.
    with sqlite3.connect(ledger) as db:
        db.execute(
            "INSERT INTO bookings SELECT (SELECT max(journal_no) FROM bookings) + 1, client_id, "
            "branch_id, "
            "document_type, 'NEU-1', document_date, amount_cents, debit_credit, account, "
            "contra_account, tax_key, text, payment_method, partner_account, cost_center "
            "FROM bookings WHERE journal_no = 3"
        )
    after = run_config(ws, cfg, OPTS, clock=at(NOON + dt.timedelta(days=1)))
    assert after.status == "ok", (after.step, after.reason)
    assert any("abgeglichen" in line for line in after.steps)
    assert ws.runs.open_delivery("stb") is None
    assert not (ws.data_dir.outbox_dir / cut.id).exists()
    old = ws.runs.run(cut.id)
    assert old is not None and old.files and "abgeglichen" in old.steps[-1]
    seen = journal_numbers_on_server(ftp.root)
    assert set(seen) == ledger_numbers(ledger) and max(seen.values()) == 1
    assert temp_files(ftp.root) == []
    # The cut run's files sit in its own (planned) folder, the new booking in today's.
    folders = {p.parent.name for p in ftp.root.rglob("EXTF_*.csv")}
    assert folders == {
        "Automatischer_Buchhaltungsexport_2026-11-24",
        "Automatischer_Buchhaltungsexport_2026-11-25",
    }


def test_a_lost_outbox_file_is_selected_again(ws: Workspace, ftp: FTPServer) -> None:
    """The planned copy vanished (disk cleaned up): its bookings are un-journaled and the
    look-back sends them in new files; nothing is lost, nothing doubled."""
    ledger = ws.data_dir.ledger_path
    cfg = save(ws, ftp)
    ftp.state.cut_after = 1
    ftp.state.cut_session = True
    cut = run_config(ws, cfg, RunOptions(trigger="manual", attempts=1), clock=at(NOON))
    assert cut.status == "failed"
    outbox = ws.data_dir.outbox_dir / cut.id
    victim = sorted(outbox.glob("EXTF_*.csv"))[0]
    victim.unlink()
    after = run_config(ws, cfg, OPTS, clock=at(NOON + dt.timedelta(hours=1)))
    assert after.status == "ok", (after.step, after.reason)
    assert after.late > 0  # found again below the watermark
    seen = journal_numbers_on_server(ftp.root)
    assert set(seen) == ledger_numbers(ledger) and max(seen.values()) == 1
