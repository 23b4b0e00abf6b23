"""Proof with every delivery (SPEC §3): the control file, changes after delivery, and the
redelivery of a past run, against real FTP and SMTP servers. Control files are read with
the stdlib csv module and data files with the independent DATEV reader."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.config import ExportConfig
from engine.errors import OutsideWindow, RedeliveryRefused
from engine.paths import DataDir
from engine.redelivery import redeliver
from engine.runner import RunOptions, run_config
from engine.workspace import Workspace
from tests import datev_reader
from tests.conftest import run_cli
from tests.delivery_check import journal_numbers_on_server
from tests.servers import FTPServer
from tests.smtp_server import RunningServer, smtp_server

NOON = dt.datetime(2026, 11, 24, 12, 0).astimezone()
OPTS = RunOptions(trigger="manual", backoff=0)


def at(moment: dt.datetime) -> Any:
    return lambda: moment


@pytest.fixture
def smtp() -> Iterator[RunningServer]:
    with smtp_server("plain") as server:
        yield server


@pytest.fixture
def ws(demo_home: Path, smtp: RunningServer) -> Workspace:
    workspace = Workspace(DataDir.open(demo_home))
    workspace.save_smtp_settings(
        {"host": smtp.host, "port": smtp.port, "security": "none",
         "sender": "buchex@optik-mueller.example"}
    )  # fmt: skip
    return workspace


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
        "export_debtors": True,
        "format": "datev",
        "time": "06:30",
        "interval": {"kind": "daily"},
        "email": "buchhaltung@optik-mueller.example",
    }  # fmt: skip
    raw.update(changes)
    return ws.save_config(raw)


def control_sections(path: Path) -> list[list[list[str]]]:
    """The control file as blocks of rows (blank lines separate them)."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: a German spreadsheet knows it
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline=""), delimiter=";"))
    blocks: list[list[list[str]]] = [[]]
    for row in rows:
        if row:
            blocks[-1].append(row)
        else:
            blocks.append([])
    return blocks


def euro(value: str) -> int:
    whole, cents = value.split(",")
    return int(whole) * 100 + int(cents)


def test_the_control_file_matches_the_files_byte_for_byte(ws: Workspace, ftp: FTPServer) -> None:
    record = run_config(ws, save(ws, ftp), OPTS, clock=at(NOON))
    assert record.status == "ok", (record.step, record.reason)
    assert record.files[-1]["kind"] == "control"  # uploaded last
    [control] = list(ftp.root.rglob("Kontrolldatei_*.csv"))
    head, files, accounts, keys = control_sections(control)
    assert ["Lauf", record.id] in head and ["Schnittstelle", "stb", "Steuerbüro"] in head
    assert files[0][:4] == ["Datei", "Art", "Mandant", "SHA-256"]
    listed = {row[0]: row for row in files[1:]}
    data = {p.name: p for p in control.parent.glob("EXTF_*.csv")}
    assert set(listed) == set(data) and len(data) >= 5  # bookings, incoming, debtors
    by_file: dict[str, dict[str, list[int]]] = {}
    for name, path in data.items():
        row = listed[name]
        assert row[3] == hashlib.sha256(path.read_bytes()).hexdigest()  # recomputed here
        assert int(row[4]) == path.stat().st_size
        datev = datev_reader.read(path)
        assert int(row[5]) == len(datev.rows)
        if datev.category == 16:  # debtors: no sums, no journal range
            assert row[6:10] == ["", "", "", ""]
            continue
        debit, credit = datev.sums()
        assert (euro(row[6]), euro(row[7])) == (debit, credit)
        numbers = [int(r["Beleginfo - Inhalt 1"]) for r in datev.records()]
        assert (int(row[8]), int(row[9])) == (min(numbers), max(numbers))
        assert datev.date_from and row[10] == datev.date_from.strftime("%d.%m.%Y")
        per_account: dict[str, list[int]] = {}
        for rec in datev.records():
            sums = per_account.setdefault(rec["Konto"], [0, 0, 0])
            sums[0 if rec["Soll/Haben-Kennzeichen"] == "S" else 1] += datev_reader.cents(
                rec["Umsatz (ohne Soll/Haben-Kz)"]
            )
            sums[2] += 1
        by_file[name] = per_account
    assert accounts[0] == ["Datei", "Konto", "Zeilen", "Summe Soll", "Summe Haben"]
    found: dict[str, dict[str, list[int]]] = {}
    for name, account, rows, debit, credit in accounts[1:]:
        found.setdefault(name, {})[account] = [euro(debit), euro(credit), int(rows)]
    assert found == by_file
    assert keys[0][1] == "BU-Schlüssel"
    for name in by_file:  # per BU-Schlüssel: the same totals as the file
        key_rows = [r for r in keys[1:] if r[0] == name]
        assert sum(euro(r[3]) + euro(r[4]) for r in key_rows) == sum(
            d + c for d, c, _ in by_file[name].values()
        )
    # The same figures in the run record (`buchex runs --json`).
    runs = run_cli(ws.data_dir.root, "runs", "--json")
    stored = json.loads(runs.stdout.splitlines()[0])
    assert {f["name"]: f["sha256"] for f in stored["files"]} == {
        **{name: row[3] for name, row in listed.items()},
        control.name: hashlib.sha256(control.read_bytes()).hexdigest(),
    }
    assert all("accounts" in f and "journal_from" in f for f in stored["files"])


def test_the_control_file_can_be_turned_off_and_that_is_audited(
    ws: Workspace, ftp: FTPServer
) -> None:
    save(ws, ftp)
    cfg = save(ws, ftp, control_file=False)
    record = run_config(ws, cfg, OPTS, clock=at(NOON))
    assert record.status == "ok" and not list(ftp.root.rglob("Kontrolldatei_*"))
    audit = [json.loads(line) for line in ws.data_dir.audit_path.read_text().splitlines()]
    assert any("control_file" in entry.get("fields", []) for entry in audit)


def change_amount(ledger: Path, journal_no: int, cents: int) -> None:
    with sqlite3.connect(ledger) as db:
        db.execute("UPDATE bookings SET amount_cents = ? WHERE journal_no = ?", (cents, journal_no))


def test_changes_after_delivery_are_reported_once_and_never_resent(
    ws: Workspace, ftp: FTPServer, smtp: RunningServer
) -> None:
    ledger = ws.data_dir.ledger_path
    cfg = save(ws, ftp)
    assert run_config(ws, cfg, OPTS, clock=at(NOON)).status == "ok"
    before = journal_numbers_on_server(ftp.root)
    with sqlite3.connect(ledger) as db:
        (old,) = db.execute("SELECT amount_cents FROM bookings WHERE journal_no = 60").fetchone()
        db.execute("DELETE FROM bookings WHERE journal_no = 61")
    change_amount(ledger, 60, old + 1000)
    later = run_config(ws, cfg, OPTS, clock=at(NOON + dt.timedelta(hours=1)))
    assert later.status == "nothing"  # never resent
    changed = [w for w in later.warnings if "Änderung nach Lieferung" in w]
    assert len(changed) == 2
    first_run = ws.runs.runs("stb")[-1].id
    amount = f"Betrag {old // 100},{old % 100:02d} € → {(old + 1000) // 100},{old % 100:02d} €"
    assert any(w.startswith("Journal-Nr. 60,") and amount in w and first_run in w
               for w in changed)  # fmt: skip
    assert any(w.startswith("Journal-Nr. 61,") and "gelöscht" in w for w in changed)
    [mail] = smtp.wait_for(1)
    assert "nachträglich geändert" in str(mail.message["Subject"])
    assert "Journal-Nr. 60: geändert: Betrag" in mail.message.get_content()
    assert later.mail == "Änderungsmail gesendet an buchhaltung@optik-mueller.example"
    # Once: the next run says nothing more, and sends nothing.
    again = run_config(ws, cfg, OPTS, clock=at(NOON + dt.timedelta(hours=2)))
    assert again.status == "nothing" and not any("Änderung" in w for w in again.warnings)
    assert journal_numbers_on_server(ftp.root) == before
    assert len(smtp.messages) == 1
    # A second change of the same booking is a new state: reported again.
    change_amount(ledger, 60, old + 2000)
    third = run_config(ws, cfg, OPTS, clock=at(NOON + dt.timedelta(hours=3)))
    assert next(w for w in third.warnings if "Änderung" in w).startswith("Journal-Nr. 60,")
    # `buchex changes` lists them; `ack` marks them seen, with an audit record.
    listing = run_cli(ws.data_dir.root, "changes", "--config", "stb")
    assert listing.returncode == 0 and "gelöscht" in listing.stdout and "60" in listing.stdout
    ack = run_cli(ws.data_dir.root, "changes", "ack", "stb", "--all")
    assert ack.returncode == 0 and "3 Änderung(en)" in ack.stdout, ack.stderr
    assert run_cli(ws.data_dir.root, "changes").stdout.strip() == "Keine nachträglichen Änderungen."
    assert "changes.acknowledge" in ws.data_dir.audit_path.read_text()


def rows_and_sums(paths: list[Path]) -> tuple[list[int], int, int]:
    numbers: list[int] = []
    debit = credit = 0
    for path in paths:
        datev = datev_reader.read(path)
        if datev.category != 21:
            continue
        numbers += [int(r["Beleginfo - Inhalt 1"]) for r in datev.records()]
        d, c = datev.sums()
        debit, credit = debit + d, credit + c
    return sorted(numbers), debit, credit


def test_a_redelivery_sends_the_same_rows_and_moves_nothing(ws: Workspace, ftp: FTPServer) -> None:
    cfg = save(ws, ftp)
    original = run_config(ws, cfg, OPTS, clock=at(NOON))
    assert original.status == "ok"
    folder = ftp.root / "kanzlei" / "Automatischer_Buchhaltungsexport_2026-11-24"
    first = sorted(folder.glob("EXTF_*.csv"))
    watermarks = ws.runs.watermarks("stb")
    delivered = ws.runs.delivered_count("stb")
    again = redeliver(ws, original.id, OPTS, clock=at(NOON + dt.timedelta(days=1)))
    assert again.status == "ok" and again.trigger == "redeliver"
    assert again.redelivery_of == original.id
    later = ftp.root / "kanzlei" / "Automatischer_Buchhaltungsexport_2026-11-25"
    second = sorted(later.glob("EXTF_*.csv"))
    assert second and all(p.stem.endswith("_Nachlieferung") for p in second)
    assert rows_and_sums(second) == rows_and_sums(first)
    [control] = list(later.glob("Kontrolldatei_*_Nachlieferung.csv"))
    assert ["Nachlieferung von Lauf", original.id] in control_sections(control)[0]
    assert ws.runs.watermarks("stb") == watermarks and ws.runs.delivered_count("stb") == delivered
    normal = run_config(ws, cfg, OPTS, clock=at(NOON + dt.timedelta(days=1, hours=1)))
    assert normal.status == "nothing"
    assert "run.redeliver" in ws.data_dir.audit_path.read_text()


def test_a_redelivery_refuses_changed_bookings_unless_asked(ws: Workspace, ftp: FTPServer) -> None:
    cfg = save(ws, ftp)
    original = run_config(ws, cfg, OPTS, clock=at(NOON))
    change_amount(ws.data_dir.ledger_path, 70, 12345)
    with pytest.raises(RedeliveryRefused, match=r"Journal-Nr\. 70") as refused:
        redeliver(ws, original.id, OPTS, clock=at(NOON + dt.timedelta(hours=1)))
    assert refused.value.journal_nos == (70,)
    assert [r.id for r in ws.runs.runs("stb")] == [original.id]  # nothing recorded or sent
    with pytest.raises(OutsideWindow):
        redeliver(ws, original.id, OPTS, current=True, clock=at(NOON.replace(hour=23)))
    forced = redeliver(ws, original.id, OPTS, current=True,
                       clock=at(NOON + dt.timedelta(hours=2)))  # fmt: skip
    assert forced.status == "ok" and "heutigen Werten" in forced.steps[0]
    cli = run_cli(ws.data_dir.root, "redeliver", original.id, "--force")
    assert cli.returncode == 1 and "Journal-Nr. 70" in cli.stderr and "--current" in cli.stderr
    unknown = run_cli(ws.data_dir.root, "redeliver", "kein-lauf")
    assert unknown.returncode == 1 and "keine abgeschlossene Lieferung" in unknown.stderr
