"""An independent reader of DATEV-Format files, written from SPEC §4 for the tests.

Deliberately shares no code with the writer (`engine.formats.datev`) or the column table:
it parses with the stdlib csv module in Windows-1252 and knows only what SPEC §4 says
(line 1 header with 31 fields, line 2 headings, then rows; `;`, CRLF, quotes doubled,
decimal comma, Belegdatum TTMM with the year from the header).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

_AMOUNT = re.compile(r"(\d{1,10}),(\d{2})")


def _ymd(value: str) -> date | None:
    return date(int(value[:4]), int(value[4:6]), int(value[6:8])) if value else None


@dataclass(frozen=True)
class DatevFile:
    path: Path
    header: list[str]
    headings: list[str]
    rows: list[list[str]]

    # -- header (positions per SPEC §4 / the DATEV example line)

    @property
    def category(self) -> int:
        return int(self.header[2])

    @property
    def format_name(self) -> str:
        return self.header[3]

    @property
    def format_version(self) -> int:
        return int(self.header[4])

    @property
    def consultant_no(self) -> int:
        return int(self.header[10])

    @property
    def client_no(self) -> int:
        return int(self.header[11])

    @property
    def fiscal_year_start(self) -> date | None:
        return _ymd(self.header[12])

    @property
    def account_length(self) -> int:
        return int(self.header[13])

    @property
    def date_from(self) -> date | None:
        return _ymd(self.header[14])

    @property
    def date_to(self) -> date | None:
        return _ymd(self.header[15])

    @property
    def locked(self) -> str:
        return self.header[20]

    @property
    def chart(self) -> str:
        return self.header[26]

    # -- rows

    def column(self, heading: str) -> list[str]:
        index = self.headings.index(heading)
        return [row[index] for row in self.rows]

    def records(self) -> list[dict[str, str]]:
        """Rows as dicts by heading (repeated headings keep their first occurrence)."""
        out = []
        for row in self.rows:
            record: dict[str, str] = {}
            for heading, value in zip(self.headings, row, strict=True):
                record.setdefault(heading, value)
            out.append(record)
        return out

    def amounts_cents(self) -> list[int]:
        return [cents(v) for v in self.column("Umsatz (ohne Soll/Haben-Kz)")]

    def sums(self) -> tuple[int, int]:
        """(Soll, Haben) in cents, by Soll/Haben-Kennzeichen."""
        debit = credit = 0
        marks = self.column("Soll/Haben-Kennzeichen")
        for amount, mark in zip(self.amounts_cents(), marks, strict=True):
            if mark == "S":
                debit += amount
            elif mark == "H":
                credit += amount
            else:
                raise ValueError(f"Soll/Haben-Kennzeichen {mark!r}")
        return debit, credit

    def document_dates(self) -> list[date]:
        """Belegdatum TTMM with the year of Datum vom (one calendar year per file)."""
        assert self.date_from is not None
        year = self.date_from.year
        return [date(year, int(v[2:4]), int(v[:2])) for v in self.column("Belegdatum")]


def cents(value: str) -> int:
    match = _AMOUNT.fullmatch(value)
    if match is None:
        raise ValueError(f"Umsatz {value!r} is not \\d{{1,10}},\\d{{2}}")
    return int(match[1]) * 100 + int(match[2])


def read(path: Path) -> DatevFile:
    data = Path(path).read_bytes()
    if data.replace(b"\r\n", b"").count(b"\n") or data.replace(b"\r\n", b"").count(b"\r"):
        raise ValueError("line ends other than CRLF")
    text = data.decode("cp1252")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"'))
    if len(rows) < 2:
        raise ValueError("header or headings missing")
    header, headings, body = rows[0], rows[1], rows[2:]
    if len(header) != 31 or header[0] != "EXTF" or header[1] != "700":
        raise ValueError(f"not an EXTF 700 header: {header[:3]}")
    for i, row in enumerate(body, start=3):
        if len(row) != len(headings):
            raise ValueError(f"line {i}: {len(row)} fields, {len(headings)} headings")
    return DatevFile(Path(path), header, headings, body)


def raw_lines(path: Path) -> list[str]:
    """The file's lines as written (without CRLF), for quoting checks."""
    return Path(path).read_bytes().decode("cp1252").split("\r\n")[:-1]
