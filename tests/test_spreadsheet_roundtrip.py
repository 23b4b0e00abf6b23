"""Finding 4 of issue 12: the `csv` format read back by a real spreadsheet.

LibreOffice Calc headless (Debian: libreoffice-calc-nogui; .ci/run installs it) imports
the file as a German user gets it: `;` as separator, UTF-8, language German (1031), and
converts it to flat ODS, whose XML says per cell whether it is a number, a date or text.
Amounts must arrive as numbers, dates as dates, umlauts intact, a `;` inside a text in
its own cell, one record per row. Skips where soffice is missing; fails on CI (CI=true).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_export import build_small_ledger, config, run

NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}
#: LibreOffice's CSV filter options: separator ; (59), quote " (34), UTF-8 (76), from line
#: 1, no column formats, language German (1031), quoted fields not forced to text,
#: detect special numbers (dates) as the import dialog offers.
GERMAN_CSV_IMPORT = "CSV:59,34,76,1,,1031,false,{special}"


@dataclass(frozen=True)
class Cell:
    kind: str  # office:value-type: float, date, string, ... ("" for an empty cell)
    value: str  # office:value / office:date-value, or the text


@pytest.fixture(scope="module")
def soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        reason = "LibreOffice (soffice) fehlt: apt-get install libreoffice-calc-nogui"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI braucht LibreOffice: {reason}", pytrace=False)
        pytest.skip(reason)
    return exe


def calc_import(soffice: str, csv_file: Path, work: Path, *, special: bool) -> list[list[Cell]]:
    """The file as LibreOffice Calc imports it: rows of cells (trailing empties dropped)."""
    out = work / "out"
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{work / 'profile'}",
            "--headless",
            "--norestore",
            f"--infilter={GERMAN_CSV_IMPORT.format(special='true' if special else 'false')}",
            "--convert-to",
            "fods",
            "--outdir",
            str(out),
            str(csv_file),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "HOME": str(work)},
    )
    converted = out / (csv_file.stem + ".fods")
    assert converted.exists(), result.stdout + result.stderr
    rows: list[list[Cell]] = []
    table = ET.parse(converted).getroot().find(".//table:table", NS)
    assert table is not None
    for row in table.iterfind("table:table-row", NS):
        cells: list[Cell] = []
        for cell in row.iterfind("table:table-cell", NS):
            kind = cell.get(f"{{{NS['office']}}}value-type", "")
            value = cell.get(f"{{{NS['office']}}}value") or cell.get(
                f"{{{NS['office']}}}date-value"
            )
            if value is None:
                value = "\n".join("".join(p.itertext()) for p in cell.iterfind("text:p", NS))
            repeat = int(cell.get(f"{{{NS['table']}}}number-columns-repeated", "1"))
            cells += [Cell(kind, value)] * min(repeat, 64)
        while cells and cells[-1].kind == "":
            cells.pop()
        if cells:
            rows.append(cells)
    return rows


@pytest.mark.parametrize("special", [True, False])
def test_libreoffice_reads_numbers_dates_and_texts(
    soffice: str, tmp_path: Path, special: bool
) -> None:
    ledger = build_small_ledger(tmp_path / "ledger.sqlite")
    result = run(ledger, tmp_path / "out", config(clients=("1",), format="csv"))
    bookings = next(f for f in result.files if f.kind == "bookings")
    rows = calc_import(soffice, bookings.path, tmp_path, special=special)
    head, *records = rows
    assert [c.value for c in head][:7] == [
        "Journalnummer", "Mandant", "Filiale", "Belegart", "Belegnummer", "Belegdatum", "Betrag",
    ]  # fmt: skip
    assert len(records) == 5 and all(len(r) <= len(head) for r in records)
    amounts = [r[6] for r in records]
    assert [c.kind for c in amounts] == ["float"] * 5  # numbers, not text
    assert [float(c.value) for c in amounts] == [119.0, 19.95, 50.0, 399.0, 89.0]
    assert [(c.kind, c.value) for c in (records[0][0], records[0][8])] == [
        ("float", "1"),
        ("float", "10001"),
    ]
    if special:  # dates recognised as dates (the import's "detect special numbers")
        assert (records[0][5].kind, records[0][5].value[:10]) == ("date", "2025-03-03")
    else:
        assert records[0][5].value == "03.03.2025"
    texts = {r[0].value: r[11].value for r in records}
    assert texts["1"] == "Gleitsichtbrille Müller, Jürgen"  # umlauts intact
    assert texts["3"] == 'Gutschrift Kulanz Fassungsbruch "Modell Ö"; Rückgabe'  # ; kept
    assert records[3][4].value == "RE 2025/0002"
    assert records[0][7].value == "S" and records[2][7].value == "H"


def test_machine_csv_is_not_for_spreadsheets(soffice: str, tmp_path: Path) -> None:
    """The former `csv` (now `csv-rfc4180`) puts a record into one cell of a German import:
    why `csv` changed."""
    ledger = build_small_ledger(tmp_path / "ledger.sqlite")
    result = run(ledger, tmp_path / "out", config(clients=("1",), format="csv-rfc4180"))
    rows = calc_import(soffice, result.files[0].path, tmp_path, special=True)
    assert len(rows[1]) <= 2 and rows[1][0].kind == "string"
