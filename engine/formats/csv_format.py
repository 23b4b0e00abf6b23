"""CSV for German spreadsheets (format `csv`): opens by double-click in Excel or LibreOffice.

Documented in docs/export.md ("CSV"). What a German Excel or LibreOffice expects of a
`.csv` file it opens without a dialog:

- `;` between fields (the German list separator; `,` is the decimal sign), CRLF after each
  record, a field in double quotes only when it holds `;`, `"` (doubled) or starts with a
  blank;
- UTF-8 with byte-order mark (option `zeichensatz`, default; Excel reads UTF-8 only with
  it) or Windows-1252 (`cp1252`: characters outside it are transliterated like DATEV text,
  with a warning; what has no spelling is refused);
- amounts with a decimal comma and no thousands separator (`119,00`), dates `TT.MM.JJJJ`:
  both arrive as numbers and dates;
- no line breaks inside a field: a tab, CR or LF in a text becomes a space, with a
  warning (a record stays one line, also for programs that read line by line);
- a text starting with `=`, `+`, `-` or `@` would be taken for a formula: it gets a leading
  `'`, with a warning.

One file per client and kind, not split by year or row count. Named csv_format so it does
not shadow the stdlib `csv` module.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from engine.formats.dialect import LINE_END, Mended, SemicolonCsv, TextMender, one_line
from engine.formats.naming import file_name

if TYPE_CHECKING:
    from engine.formats import FileInfo, FileKind, Report, RowWriter
    from engine.ledger import Booking, Catalog, Client, Partner

BOM: Final = "\ufeff"
#: option `zeichensatz` → the encoding of the body (the BOM is part of the head)
ENCODINGS: Final = {"utf-8-sig": "utf-8", "cp1252": "cp1252"}

#: Columns of a bookings file (also incoming bookings), in order.
BOOKING_COLUMNS: Final = (
    "Journalnummer",
    "Mandant",
    "Filiale",
    "Belegart",
    "Belegnummer",
    "Belegdatum",
    "Betrag",
    "Soll/Haben",
    "Konto",
    "Gegenkonto",
    "Steuerschlüssel",
    "Buchungstext",
    "Zahlungsart",
    "Personenkonto",
    "Kostenstelle",
)
#: Columns of a debtors or creditors file.
PARTNER_COLUMNS: Final = (
    "Mandant",
    "Konto",
    "Name",
    "Straße",
    "Postleitzahl",
    "Ort",
    "Land",
    "USt-IdNr.",
    "E-Mail",
)
_NAMES: Final = {
    "bookings": "Buchungen",
    "incoming": "Eingangsbuchungen",
    "debtors": "Debitoren",
    "creditors": "Kreditoren",
}
_MASTER: Final = ("debtors", "creditors")
# Columns of free text in a bookings row (index → heading), mended like DATEV text.
_TEXT_COLUMNS: Final = (4, 11)
_FORMULA_START: Final = ("=", "+", "-", "@")


class CsvFormat:
    """The spreadsheet CSV for one client in one run (a `engine.formats.FormatWriter`)."""

    max_rows: int | None = None

    def __init__(
        self,
        *,
        client: Client,
        catalog: Catalog,
        config_name: str,
        now: datetime,
        mandant: str,
        options: Mapping[str, str] | None = None,
        **_: object,
    ) -> None:
        self.client = client
        self.now = now
        self.mandant = mandant
        self.charset = (options or {}).get("zeichensatz", "utf-8-sig")
        if self.charset not in ENCODINGS:
            raise ValueError(f"CSV: Zeichensatz „{self.charset}“ unbekannt")
        self.encoding = ENCODINGS[self.charset]
        self._mender = TextMender(self._mend)

    def row_writer(self, fh: TextIO) -> RowWriter:
        return csv.writer(fh, SemicolonCsv)

    def file_name(self, info: FileInfo) -> str:
        return file_name(_NAMES[info.kind], self.mandant, info, self.now)

    def file_head(self, info: FileInfo) -> bytes:
        buf = io.StringIO()
        columns = PARTNER_COLUMNS if info.kind in _MASTER else BOOKING_COLUMNS
        self.row_writer(buf).writerow(columns)
        head = buf.getvalue()
        if self.charset == "utf-8-sig":
            head = BOM + head
        return head.encode(self.encoding)

    # -- values

    def _text(self, value: str | None, jn: int | None, field: str, report: Report) -> str | None:
        """A text as the spreadsheet gets it; None if it cannot be written (refused)."""
        return self._mender(value, jn, field, report) if value else value

    def _mend(self, value: str) -> Mended:
        text, notes = one_line(value, cp1252=self.encoding == "cp1252")
        if text is not None and text.startswith(_FORMULA_START):
            text = "'" + text
            notes += (
                f"„'“ vorangestellt, sonst hielte die Tabellenkalkulation „{value}“ für eine "
                "Formel",
            )
        return text, notes

    def booking_row(self, booking: Booking, report: Report) -> list[Any] | None:
        (jn, client, branch, dtype, docno, day, cents, sh, account, contra, tax, text, pm, pa,
         cc) = booking  # fmt: skip
        if cents <= 0:
            report.refuse(jn, "Betrag", f"Betrag {cents} Cent ist nicht positiv")
            return None
        if sh != "S" and sh != "H":
            report.refuse(jn, "Soll/Haben", f"„{sh}“ statt S oder H")
            return None
        euros, rest = divmod(cents, 100)
        row: list[Any] = [
            jn, client, branch, dtype, docno, f"{day:%d.%m.%Y}", f"{euros},{rest:02d}", sh,
            account, contra, tax, text, pm, pa, cc,
        ]  # fmt: skip
        for index in _TEXT_COLUMNS:
            value = self._text(row[index], jn, BOOKING_COLUMNS[index], report)
            if value is None and row[index]:
                return None
            row[index] = value
        return row

    def partner_rows(
        self,
        kind: FileKind,
        partners: Sequence[Partner],
        first_use: Mapping[str, int],
        report: Report,
    ) -> list[list[Any]]:
        rows: list[list[Any]] = []
        for p in partners:
            jn = first_use.get(p.account)
            row: list[Any] = [
                p.client_id, p.account, p.name, p.street, p.postcode, p.city, p.country,
                p.vat_id, p.email,
            ]  # fmt: skip
            ok = True
            for index in (2, 3, 5):  # Name, Straße, Ort
                value = self._text(row[index], jn, PARTNER_COLUMNS[index], report)
                if value is None and row[index]:
                    ok = False
                row[index] = value
            if ok:
                rows.append(row)
        return rows


# ---------------------------------------------------------------------------------------
# Validator
# ---------------------------------------------------------------------------------------

_AMOUNT: Final = re.compile(r"[1-9]\d*,\d{2}|0,(?!00)\d{2}")
_DATE: Final = re.compile(r"(0[1-9]|[12]\d|3[01])\.(0[1-9]|1[0-2])\.\d{4}")


def validate_file(path: Path) -> list[str]:
    """German problems of a file in this format: encoding (UTF-8 with BOM or Windows-1252),
    CRLF, the heading line, the same number of fields in every record, no line break inside
    a field, amounts with a decimal comma, dates TT.MM.JJJJ, S/H."""
    data = Path(path).read_bytes()
    problems: list[str] = []
    if data.startswith(BOM.encode()):
        try:
            text = data[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            return [f"kein UTF-8 (Byte {exc.start + 3})"]
    else:
        text = data.decode("cp1252", errors="replace")
        if "\ufffd" in text:
            return ["weder UTF-8 mit BOM noch Windows-1252"]
    if not text.endswith(LINE_END):
        problems.append("letzte Zeile endet nicht mit CRLF")
    lines = text.split(LINE_END)
    if lines[-1] == "":
        lines.pop()
    if any("\r" in line or "\n" in line for line in lines):
        return [*problems, "Zeilenumbruch innerhalb eines Feldes oder ohne CR"]
    records = [next(csv.reader([line], SemicolonCsv)) for line in lines]
    if not records:
        return ["Datei ist leer"]
    head = tuple(records[0])
    booking = head == BOOKING_COLUMNS
    if not booking and head != PARTNER_COLUMNS:
        return [*problems, "Spaltenüberschriften unbekannt"]
    for number, record in enumerate(records[1:], start=2):
        if len(record) != len(head):
            problems.append(f"Zeile {number}: {len(record)} statt {len(head)} Felder")
        elif booking:
            if not _DATE.fullmatch(record[5]):
                problems.append(f"Zeile {number}: Belegdatum „{record[5]}“ ist kein TT.MM.JJJJ")
            if not _AMOUNT.fullmatch(record[6]):
                problems.append(f"Zeile {number}: Betrag „{record[6]}“ (erwartet z. B. 119,00)")
            if record[7] not in ("S", "H"):
                problems.append(f"Zeile {number}: Soll/Haben „{record[7]}“")
        if len(problems) >= 50:
            break
    return problems
