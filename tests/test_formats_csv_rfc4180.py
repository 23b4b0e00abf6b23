"""The machine-readable CSV (format `csv-rfc4180`, engine/formats/csv_rfc4180.py), documented
in docs/export.md. Until 0.1 this was the format `csv`.

Golden files: tests/golden/csv-rfc4180/ (regenerate like the DATEV ones, BUCHEX_REGEN_GOLDEN=1).
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
from pathlib import Path

from engine.formats import format_spec
from engine.formats.csv_rfc4180 import BOOKING_COLUMNS, DEBTOR_COLUMNS
from tests.test_export import LONG_TEXT, build_small_ledger, config, run

GOLDEN = Path(__file__).parent / "golden" / "csv-rfc4180"
FMT = {"format": "csv-rfc4180", "incoming_format": "csv-rfc4180"}
REGEN = os.environ.get("BUCHEX_REGEN_GOLDEN") == "1"


def read(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")  # no BOM
    assert b"\n" not in data.replace(b"\r\n", b"")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def test_csv_files_names_and_values(tmp_path: Path) -> None:
    ledger = build_small_ledger(tmp_path / "ledger.sqlite")
    result = run(ledger, tmp_path / "out", config(**FMT))
    assert [f.name for f in result.files] == [
        "Buchungen_55003_20250303_20250306_20260401-063015.csv",
        "Eingangsbuchungen_55003_20250307_20250307_20260401-063015.csv",
        "Debitoren_55003_20260401-063015.csv",
        "Kreditoren_55003_20260401-063015.csv",
        # not split by year: the ISO date carries it
        "Buchungen_10020_20251230_20260102_20260401-063015.csv",
        "Debitoren_10020_20260401-063015.csv",
    ]
    first = result.files[0].path
    header = first.read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == list(BOOKING_COLUMNS)
    rows = read(first)
    assert [r["journal_no"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0] == {
        "journal_no": "1",
        "client": "1",
        "branch": "10",
        "document_type": "KR",
        "document_no": "RE-2025-0001",
        "document_date": "2025-03-03",
        "amount": "119.00",
        "debit_credit": "S",
        "account": "10001",
        "contra_account": "8400",
        "tax_key": "",
        "text": "Gleitsichtbrille Müller, Jürgen",
        "payment_method": "UE",
        "partner_account": "10001",
        "cost_center": "100",
    }
    # Values are the ledger's own: no transliteration, no shortening, quotes where needed.
    assert rows[2]["text"] == 'Gutschrift Kulanz Fassungsbruch "Modell Ö"; Rückgabe'
    assert rows[3]["document_no"] == "RE 2025/0002"
    assert rows[3]["text"] == LONG_TEXT
    assert rows[4]["text"] == "Sonnenbrille Yılmaz, Özlem"
    assert rows[4]["tax_key"] == "3"
    assert result.warnings == ()  # nothing had to be changed
    debtors = read(result.files[2].path)
    assert list(debtors[0]) == list(DEBTOR_COLUMNS)
    assert [d["account"] for d in debtors] == ["10001", "10002", "10003"]
    assert debtors[1]["name"].startswith("Augenarztpraxis Dr. med. Schäfer & Kollegen")
    creditors = read(result.files[3].path)
    assert [(c["account"], c["name"]) for c in creditors] == [("70001", "Brillenglaswerk Süd GmbH")]
    for f in result.files:
        assert format_spec("csv-rfc4180").validate(f.path) == [], f.name


def test_csv_sums_match_the_ledger(tmp_path: Path) -> None:
    ledger = build_small_ledger(tmp_path / "ledger.sqlite")
    result = run(ledger, tmp_path / "out", config(**FMT))
    conn = sqlite3.connect(ledger)
    expected = dict(
        (str(cid), (n, s, h))
        for cid, n, s, h in conn.execute(
            "SELECT client_id, count(*),"
            " sum(CASE debit_credit WHEN 'S' THEN amount_cents ELSE 0 END),"
            " sum(CASE debit_credit WHEN 'H' THEN amount_cents ELSE 0 END)"
            " FROM bookings GROUP BY client_id"
        )
    )
    conn.close()
    found: dict[str, list[int]] = {}
    for f in result.files:
        if f.kind in ("debtors", "creditors"):
            continue
        for row in read(f.path):
            euros, cents = row["amount"].split(".")
            amount = int(euros) * 100 + int(cents)
            totals = found.setdefault(row["client"], [0, 0, 0])
            totals[0] += 1
            totals[1 if row["debit_credit"] == "S" else 2] += amount
    assert {k: tuple(v) for k, v in found.items()} == expected


def test_csv_golden_files(tmp_path: Path) -> None:
    ledger = build_small_ledger(tmp_path / "ledger.sqlite")
    result = run(ledger, tmp_path / "out", config(**FMT))
    produced = {f.name: f.path.read_bytes() for f in result.files}
    if REGEN:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for old in GOLDEN.glob("*.csv"):
            old.unlink()
        for name, data in produced.items():
            (GOLDEN / name).write_bytes(data)
    expected = {p.name: p.read_bytes() for p in GOLDEN.glob("*.csv")}
    assert produced == expected
