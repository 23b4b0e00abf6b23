"""Lexware buchhalter, ASCII import of Buchungsdaten (format `lexware`).

Sources and assumptions: docs/formats.md, "Lexware buchhalter". In short: Lexware reads
bookings with an import assistant (Datei › Import › ASCII › Buchungsdaten) in which the
user maps the file's columns to Lexware's fields once and saves the mapping as a profile;
the file is a `.txt` in ANSI (Windows-1252) whose first record holds the field names.
The column names below are Lexware's own field names, so the mapping is one click per
column and stays valid for every later file (the names never change).

- `;` between fields, `"` around a field only when needed, CRLF; Windows-1252 (texts are
  transliterated like DATEV text, with a warning; what has no spelling is refused);
- Belegdatum `TT.MM.JJJJ`, Buchungsbetrag positive with a decimal comma;
- Sollkonto/Habenkonto instead of Konto/Gegenkonto/Soll-Haben: the ledger's Konto is the
  debit account when the booking is `S`, the credit account when `H`;
- Steuerschlüssel: the ledger's BU-Schlüssel, with the Automatikkonten rule of the DATEV
  writer (Lexware's SKR03/SKR04 flag the same accounts with Steuerautomatik);
- one file per client, kind, fiscal year and calendar year (Lexware imports one year at a
  time), not split by rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from engine.formats.automatic_accounts import automatic_accounts as automatic_table
from engine.formats.automatic_accounts import tax_key_verdict
from engine.formats.dialect import LINE_END, SemicolonCsv, TextMender, one_line
from engine.formats.naming import file_name

if TYPE_CHECKING:
    from engine.formats import FileInfo, FileKind, Report, RowWriter
    from engine.ledger import Booking, Catalog, Client, Partner

ENCODING: Final = "cp1252"
CURRENCY: Final = "EUR"

#: The columns, named as Lexware buchhalter names its import fields.
COLUMNS: Final = (
    "Belegdatum",
    "Belegnummer",
    "Buchungstext",
    "Buchungsbetrag",
    "Sollkonto",
    "Habenkonto",
    "Steuerschlüssel",
    "Kostenstelle 1",
    "Kostenstelle 2",
    "Währung",
    "Zusatzangaben",
)
_NAMES: Final = {"bookings": "Buchungen", "incoming": "Eingangsbuchungen"}
_KEY: Final = re.compile(r"\d{1,4}")


class LexwareFormat:
    """Lexware buchhalter ASCII bookings for one client in one run."""

    encoding = ENCODING
    max_rows: int | None = None

    def __init__(
        self,
        *,
        client: Client,
        catalog: Catalog,
        config_name: str,
        now: datetime,
        mandant: str,
        own_automatic_accounts: Mapping[str, int | None] | None = None,
        **_: object,
    ) -> None:
        self.client = client
        self.now = now
        self.mandant = mandant
        self._automatic = automatic_table(
            client.chart, client.account_length, own_automatic_accounts
        )
        self._branch_cc = {b.id: b.cost_center for b in catalog.branches.values()}
        self._type_names = {code: t.name for code, t in catalog.document_types.items()}
        self._branch_names = {b.id: b.name for b in catalog.branches.values()}
        self._mender = TextMender(lambda value: one_line(value, cp1252=True))

    def row_writer(self, fh: TextIO) -> RowWriter:
        return csv.writer(fh, SemicolonCsv)

    def file_name(self, info: FileInfo) -> str:
        return file_name(f"Lexware_{_NAMES[info.kind]}", self.mandant, info, self.now, "txt")

    def file_head(self, info: FileInfo) -> bytes:
        buf = io.StringIO()
        self.row_writer(buf).writerow(COLUMNS)
        return buf.getvalue().encode(ENCODING)

    def _text(self, value: str | None, jn: int, field: str, report: Report) -> str | None:
        return self._mender(value, jn, field, report) if value else ""

    def booking_row(self, booking: Booking, report: Report) -> list[Any] | None:
        (jn, _client, branch, dtype, docno, day, cents, sh, account, contra, tax, text, _pm,
         _pa, cc) = booking  # fmt: skip
        ok = True
        if cents <= 0:
            report.refuse(jn, "Buchungsbetrag", f"Betrag {cents} Cent ist nicht positiv")
            ok = False
        if sh == "S":
            debit, credit = account, contra
        elif sh == "H":
            debit, credit = contra, account
        else:
            report.refuse(jn, "Soll/Haben", f"„{sh}“ statt S oder H")
            return None
        for name, acct in (("Konto", account), ("Gegenkonto", contra)):
            if not (acct.isascii() and acct.isdigit() and acct.strip("0")):
                report.refuse(jn, name, f"„{acct}“ ist keine Kontonummer (nur Ziffern)")
                ok = False
        key = ""
        if tax:
            if not _KEY.fullmatch(tax):
                report.refuse(jn, "Steuerschlüssel", f"„{tax}“ ist kein Steuerschlüssel")
                ok = False
            else:
                value, note, error = tax_key_verdict(
                    tax, (account, contra), self._automatic, self.client.chart
                )
                if error is not None:
                    report.refuse(jn, "Steuerschlüssel", error)
                    ok = False
                else:
                    key = value or ""
                    if note is not None:
                        report.warn(jn, "Steuerschlüssel", note)
        number = self._text(docno, jn, "Belegnummer", report)
        label = self._text(text, jn, "Buchungstext", report)
        if cc is None:
            cc = self._branch_cc.get(branch)
        cost = self._text(cc, jn, "Kostenstelle 1", report)
        extra = self._text(
            f"Journalnummer {jn}, Belegart {self._type_names.get(dtype, dtype)}, "
            f"Filiale {self._branch_names.get(branch, branch)}",
            jn,
            "Zusatzangaben",
            report,
        )
        if not ok or number is None or label is None or cost is None or extra is None:
            return None
        euros, rest = divmod(cents, 100)
        return [
            f"{day:%d.%m.%Y}", number, label, f"{euros},{rest:02d}", debit, credit, key, cost,
            "", CURRENCY, extra,
        ]  # fmt: skip

    def partner_rows(
        self,
        kind: FileKind,
        partners: Sequence[Partner],
        first_use: Mapping[str, int],
        report: Report,
    ) -> list[list[Any]]:
        raise NotImplementedError("Lexware: keine Stammdaten (FormatSpec.kinds)")


# ---------------------------------------------------------------------------------------
# Validator
# ---------------------------------------------------------------------------------------

_DATE: Final = re.compile(r"(0[1-9]|[12]\d|3[01])\.(0[1-9]|1[0-2])\.(\d{4})")
_AMOUNT: Final = re.compile(r"[1-9]\d*,\d{2}|0,(?!00)\d{2}")
_ACCOUNT: Final = re.compile(r"(?!0+$)\d{1,9}")


def validate_file(path: Path) -> list[str]:
    """German problems of a Lexware ASCII file: Windows-1252, CRLF, the field-name record,
    the field count, TT.MM.JJJJ dates of one calendar year, amounts, accounts, keys."""
    try:
        text = Path(path).read_bytes().decode(ENCODING)
    except UnicodeDecodeError as exc:
        return [f"kein Windows-1252 (Byte {exc.start})"]
    problems: list[str] = []
    if not text.endswith(LINE_END):
        problems.append("letzte Zeile endet nicht mit CRLF")
    lines = text.split(LINE_END)
    if lines[-1] == "":
        lines.pop()
    if any("\r" in line or "\n" in line for line in lines):
        return [*problems, "Zeilenumbruch innerhalb eines Feldes oder ohne CR"]
    records = [next(csv.reader([line], SemicolonCsv)) for line in lines]
    if not records or tuple(records[0]) != COLUMNS:
        return [*problems, "erste Zeile enthält nicht die Lexware-Feldnamen"]
    years: set[str] = set()
    for number, record in enumerate(records[1:], start=2):
        if len(record) != len(COLUMNS):
            problems.append(f"Zeile {number}: {len(record)} statt {len(COLUMNS)} Felder")
            continue
        day = _DATE.fullmatch(record[0])
        if day is None:
            problems.append(f"Zeile {number}: Belegdatum „{record[0]}“")
        else:
            years.add(day.group(3))
        if not _AMOUNT.fullmatch(record[3]):
            problems.append(f"Zeile {number}: Buchungsbetrag „{record[3]}“")
        for value in (record[4], record[5]):
            if not _ACCOUNT.fullmatch(value):
                problems.append(f"Zeile {number}: Konto „{value}“")
        if record[6] and not _KEY.fullmatch(record[6]):
            problems.append(f"Zeile {number}: Steuerschlüssel „{record[6]}“")
        if len(problems) >= 50:
            break
    if len(years) > 1:
        problems.append(f"Belegdaten aus mehreren Jahren ({', '.join(sorted(years))})")
    return problems
