"""The spreadsheet CSV (format `csv`, engine/formats/csv_format.py), docs/export.md "CSV".

Finding 4 of issue 12: the former `csv` (UTF-8 without BOM, `,`, `119.00`, line breaks in
fields) put every record into one cell of a German spreadsheet. The LibreOffice round trip
is in tests/test_spreadsheet_roundtrip.py.

Golden files: tests/golden/csv/ (regenerate like the DATEV ones, BUCHEX_REGEN_GOLDEN=1).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import sqlite3
from pathlib import Path

import pytest

from engine.formats import FileInfo, format_spec
from engine.formats.csv_format import BOOKING_COLUMNS, PARTNER_COLUMNS, CsvFormat
from tests.test_export import (
    LONG_TEXT,
    NOW,
    build_small_ledger,
    config,
    insert_booking,
    run,
)
from tests.test_formats_datev import CATALOG, CLIENT, Recorder, booking

GOLDEN = Path(__file__).parent / "golden" / "csv"
REGEN = os.environ.get("BUCHEX_REGEN_GOLDEN") == "1"
FMT = {"format": "csv", "incoming_format": "csv"}


def read(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads the umlauts
    assert b"\n" not in data.replace(b"\r\n", b"")  # one line per record
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=";"))


def test_german_csv_files_and_values(tmp_path: Path) -> None:
    ledger = build_small_ledger(tmp_path / "ledger.sqlite")
    result = run(ledger, tmp_path / "out", config(**FMT))
    assert [f.name for f in result.files] == [
        "Buchungen_55003_20250303_20250306_20260401-063015.csv",
        "Eingangsbuchungen_55003_20250307_20250307_20260401-063015.csv",
        "Debitoren_55003_20260401-063015.csv",
        "Kreditoren_55003_20260401-063015.csv",
        "Buchungen_10020_20251230_20260102_20260401-063015.csv",
        "Debitoren_10020_20260401-063015.csv",
    ]
    first = result.files[0].path
    assert first.read_bytes()[3:].split(b"\r\n")[0].decode().split(";") == list(BOOKING_COLUMNS)
    rows = read(first)
    assert rows[0] == {
        "Journalnummer": "1",
        "Mandant": "1",
        "Filiale": "10",
        "Belegart": "KR",
        "Belegnummer": "RE-2025-0001",
        "Belegdatum": "03.03.2025",
        "Betrag": "119,00",
        "Soll/Haben": "S",
        "Konto": "10001",
        "Gegenkonto": "8400",
        "Steuerschlüssel": "",
        "Buchungstext": "Gleitsichtbrille Müller, Jürgen",
        "Zahlungsart": "UE",
        "Personenkonto": "10001",
        "Kostenstelle": "100",
    }
    raw = first.read_bytes().decode("utf-8-sig")
    # A ; inside a text is quoted, so it stays in its cell; everything else is bare.
    assert '"Gutschrift Kulanz Fassungsbruch ""Modell Ö""; Rückgabe"' in raw
    assert "\r\n1;1;10;KR;RE-2025-0001;03.03.2025;119,00;S;10001;8400;;" in raw
    assert rows[3]["Buchungstext"] == LONG_TEXT  # UTF-8: no shortening, no transliteration
    assert rows[4]["Buchungstext"] == "Sonnenbrille Yılmaz, Özlem"
    assert result.warnings == ()
    partners = read(result.files[2].path)
    assert list(partners[0]) == list(PARTNER_COLUMNS)
    assert [p["Konto"] for p in partners] == ["10001", "10002", "10003"]
    assert [p["Name"] for p in read(result.files[3].path)] == ["Brillenglaswerk Süd GmbH"]
    for f in result.files:
        assert format_spec("csv").validate(f.path) == [], f.name


def test_line_breaks_and_formula_starts_are_mended_with_a_warning(tmp_path: Path) -> None:
    ledger = build_small_ledger(tmp_path / "ledger.sqlite")
    insert_booking(
        ledger,
        (10, 1, 10, "KR", "RE-2025-0004", "2025-03-10", 4900, "S", "10001", "8400", None,
         "Lesebrille\r\nmit Etui", "UE", "10001", "100"),
    )  # fmt: skip
    insert_booking(
        ledger,
        (11, 1, 10, "GS", "GS-2025-0002", "2025-03-10", 500, "H", "10001", "8400", None,
         "=HYPERLINK(\"http://x\")", "UE", "10001", "100"),
    )  # fmt: skip
    result = run(ledger, tmp_path / "out", config(clients=("1",), **FMT))
    rows = read(result.files[0].path)
    assert rows[-2]["Buchungstext"] == "Lesebrille  mit Etui"
    assert rows[-1]["Buchungstext"] == '\'=HYPERLINK("http://x")'
    fields = [(w.journal_no, w.field) for w in result.warnings]
    assert fields == [(10, "Buchungstext"), (11, "Buchungstext")]
    assert format_spec("csv").validate(result.files[0].path) == []


def test_windows_1252_option() -> None:
    fmt = CsvFormat(
        client=CLIENT,
        catalog=CATALOG,
        config_name="x",
        now=NOW,
        mandant="55003",
        options=format_spec("csv").resolve_options({"zeichensatz": "cp1252"}),
    )
    report = Recorder()
    row = fmt.booking_row(booking(text="Yılmaz – Hörgerät €"), report)
    assert row is not None and row[11] == "Yilmaz – Hörgerät €"
    assert report.warnings and "Windows-1252" in report.warnings[0][2]
    assert fmt.booking_row(booking(text="Brille 👓"), Recorder()) is None
    buf = io.StringIO()
    fmt.row_writer(buf).writerow(row)
    buf.getvalue().encode("cp1252")
    assert fmt.encoding == "cp1252"
    info = FileInfo("bookings", None, dt.date(2025, 1, 1), dt.date(2025, 1, 2), None, 1)
    assert not fmt.file_head(info).startswith(b"\xef\xbb\xbf")


def test_unknown_option_value_names_the_option() -> None:
    with pytest.raises(ValueError, match="Option „Zeichensatz“: „latin9“ ist nicht erlaubt"):
        format_spec("csv").resolve_options({"zeichensatz": "latin9"})


def test_german_csv_sums_match_the_ledger(tmp_path: Path) -> None:
    ledger = build_small_ledger(tmp_path / "ledger.sqlite")
    result = run(ledger, tmp_path / "out", config(**FMT))
    conn = sqlite3.connect(ledger)
    expected = {
        str(cid): (n, s, h)
        for cid, n, s, h in conn.execute(
            "SELECT client_id, count(*),"
            " sum(CASE debit_credit WHEN 'S' THEN amount_cents ELSE 0 END),"
            " sum(CASE debit_credit WHEN 'H' THEN amount_cents ELSE 0 END)"
            " FROM bookings GROUP BY client_id"
        )
    }
    conn.close()
    found: dict[str, list[int]] = {}
    for f in result.files:
        if f.kind in ("debtors", "creditors"):
            continue
        for row in read(f.path):
            euros, cents = row["Betrag"].split(",")
            totals = found.setdefault(row["Mandant"], [0, 0, 0])
            totals[0] += 1
            totals[1 if row["Soll/Haben"] == "S" else 2] += int(euros) * 100 + int(cents)
    assert {k: tuple(v) for k, v in found.items()} == expected


def test_german_csv_golden_files(tmp_path: Path) -> None:
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


def test_validator_finds_what_a_spreadsheet_would_choke_on(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    head = ";".join(BOOKING_COLUMNS)
    bad.write_bytes(
        ("\ufeff" + head + "\r\n1;1;10;KR;R1;2025-03-03;119.00;S;1;2;;x;;;\r\n").encode()
    )
    problems = format_spec("csv").validate(bad)
    assert problems == [
        "Zeile 2: Belegdatum „2025-03-03“ ist kein TT.MM.JJJJ",
        "Zeile 2: Betrag „119.00“ (erwartet z. B. 119,00)",
    ]
    old_style = tmp_path / "old.csv"
    old_style.write_bytes(b"journal_no,client\r\n1,1\r\n")
    assert format_spec("csv").validate(old_style) == ["Spaltenüberschriften unbekannt"]
