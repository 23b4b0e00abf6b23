"""Lexware buchhalter ASCII import (format `lexware`, engine/formats/lexware.py);
sources and assumptions in docs/formats.md.

Golden files: tests/golden/lexware/ (regenerate like the DATEV ones, BUCHEX_REGEN_GOLDEN=1).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import replace
from pathlib import Path

import pytest

from engine.export import ExportError
from engine.formats import format_spec
from engine.formats.lexware import COLUMNS, LexwareFormat
from tests.test_export import NOW, build_small_ledger, config, run
from tests.test_formats_datev import CATALOG, CLIENT, Recorder, booking

GOLDEN = Path(__file__).parent / "golden" / "lexware"
REGEN = os.environ.get("BUCHEX_REGEN_GOLDEN") == "1"
FMT = {"format": "lexware", "incoming_format": "lexware", "export_debtors": False}


def read(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode("cp1252")
    assert "\n" not in text.replace("\r\n", "")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


def writer() -> LexwareFormat:
    return LexwareFormat(client=CLIENT, catalog=CATALOG, config_name="x", now=NOW, mandant="55003")


def test_lexware_files_and_rows(tmp_path: Path) -> None:
    ledger = build_small_ledger(tmp_path / "ledger.sqlite")
    result = run(ledger, tmp_path / "out", config(**FMT))
    assert [f.name for f in result.files] == [
        "Lexware_Buchungen_55003_20250303_20250306_20260401-063015.txt",
        "Lexware_Eingangsbuchungen_55003_20250307_20250307_20260401-063015.txt",
        # one year per import: split by fiscal year (07-01) and calendar year like DATEV
        "Lexware_Buchungen_10020_20251230_20251230_20260401-063015.txt",
        "Lexware_Buchungen_10020_20260102_20260102_20260401-063015.txt",
    ]
    rows = read(result.files[0].path)
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0] == {
        "Belegdatum": "03.03.2025",
        "Belegnummer": "RE-2025-0001",
        "Buchungstext": "Gleitsichtbrille Müller, Jürgen",
        "Buchungsbetrag": "119,00",
        "Sollkonto": "10001",  # S: the ledger's Konto is the debit account
        "Habenkonto": "8400",
        "Steuerschlüssel": "",
        "Kostenstelle 1": "100",
        "Kostenstelle 2": "",
        "Währung": "EUR",
        "Zusatzangaben": "Journalnummer 1, Belegart Kundenrechnung, Filiale Würzburg",
    }
    credit_note = rows[2]  # H: the ledger's Konto is the credit account
    assert (credit_note["Sollkonto"], credit_note["Habenkonto"]) == ("8400", "10001")
    assert rows[4]["Buchungstext"] == "Sonnenbrille Yilmaz, Özlem"  # ı is not in ANSI
    assert rows[4]["Steuerschlüssel"] == ""  # 3 on the Automatikkonto 8400: left out
    incoming = read(result.files[1].path)[0]
    assert (incoming["Sollkonto"], incoming["Habenkonto"], incoming["Steuerschlüssel"]) == (
        "3200",
        "70001",
        "9",
    )
    assert {w.field for w in result.warnings} == {"Buchungstext", "Steuerschlüssel"}
    for f in result.files:
        assert format_spec("lexware").validate(f.path) == [], f.name


def test_lexware_golden_files(tmp_path: Path) -> None:
    ledger = build_small_ledger(tmp_path / "ledger.sqlite")
    result = run(ledger, tmp_path / "out", config(**FMT))
    produced = {f.name: f.path.read_bytes() for f in result.files}
    if REGEN:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for old in GOLDEN.glob("*.txt"):
            old.unlink()
        for name, data in produced.items():
            (GOLDEN / name).write_bytes(data)
    expected = {p.name: p.read_bytes() for p in GOLDEN.glob("*.txt")}
    assert produced == expected


def test_lexware_refuses_what_it_cannot_write() -> None:
    report = Recorder()
    assert writer().booking_row(booking(text="Brille 👓"), report) is None
    assert report.refusals[0][1] == "Buchungstext"
    report = Recorder()
    assert writer().booking_row(booking(tax_key="2"), report) is None  # 7 % on 8400
    assert "Automatikkonto 8400" in report.refusals[0][2]


def test_lexware_writes_no_master_data(tmp_path: Path) -> None:
    ledger = build_small_ledger(tmp_path / "ledger.sqlite")
    result = run(ledger, tmp_path / "out", config(**{**FMT, "export_debtors": True}))
    assert {f.kind for f in result.files} == {"bookings", "incoming"}
    asked = [w for w in result.warnings if w.field == "Debitoren exportieren"]
    assert len(asked) == 1 and "schreibt keine Debitorendatei" in asked[0].message


def test_validator_finds_broken_lexware_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(
        (";".join(COLUMNS) + "\r\n2025-03-03;R1;x;119.00;1000;8400;;;;EUR;\r\n").encode("cp1252")
    )
    assert format_spec("lexware").validate(bad) == [
        "Zeile 2: Belegdatum „2025-03-03“",
        "Zeile 2: Buchungsbetrag „119.00“",
    ]


def test_a_format_chosen_for_bookings_it_cannot_write_fails_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.formats as formats

    ledger = build_small_ledger(tmp_path / "ledger.sqlite")
    only_master = replace(format_spec("datev"), name="nur-stammdaten", kinds=frozenset({"debtors"}))
    monkeypatch.setitem(formats.REGISTRY.formats, "nur-stammdaten", only_master)
    with pytest.raises(ExportError, match=r"^Format: „DATEV-Format“ schreibt keine Buchungen"):
        run(ledger, tmp_path / "out", config(format="nur-stammdaten"))
