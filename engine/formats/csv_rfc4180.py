"""Machine-readable CSV (format `csv-rfc4180`): for programs, not for spreadsheets.

Documented in docs/export.md. Until version 0.1 this was the format `csv`; `csv` is now the
German spreadsheet CSV (engine.formats.csv_format).

RFC 4180 as written by the stdlib csv module: UTF-8 without BOM, `,` between fields, CRLF
after each line, fields quoted only when needed (a comma, quote or line break inside; inner
quotes doubled). One header row, then one row per booking. Values are the ledger's own,
unchanged: no transliteration, no shortening (UTF-8 holds every character, and nothing
limits the length), ISO dates, amounts with a decimal point. One file per client and kind,
not split by year or row count (the ISO date carries the year).

Debtors and creditors (master data) share one layout: DEBTOR_COLUMNS.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from engine.formats.naming import file_name

if TYPE_CHECKING:
    from engine.formats import FileInfo, FileKind, Report, RowWriter
    from engine.ledger import Booking, Catalog, Client, Partner

ENCODING: Final = "utf-8"
_AMOUNT: Final = re.compile(r"\d+\.\d{2}")
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")

#: Columns of a bookings file, in order (docs/export.md describes each).
BOOKING_COLUMNS: Final = (
    "journal_no",
    "client",
    "branch",
    "document_type",
    "document_no",
    "document_date",
    "amount",
    "debit_credit",
    "account",
    "contra_account",
    "tax_key",
    "text",
    "payment_method",
    "partner_account",
    "cost_center",
)

#: Columns of a debtors or creditors file.
DEBTOR_COLUMNS: Final = (
    "client",
    "account",
    "name",
    "street",
    "postcode",
    "city",
    "country",
    "vat_id",
    "email",
)

_NAMES: Final = {
    "bookings": "Buchungen",
    "incoming": "Eingangsbuchungen",
    "debtors": "Debitoren",
    "creditors": "Kreditoren",
}
_MASTER: Final = ("debtors", "creditors")


class CsvRfc4180Format:
    """The machine-readable CSV for one client in one run (a `engine.formats.FormatWriter`)."""

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
        **_: object,
    ) -> None:
        self.client = client
        self.now = now
        self.mandant = mandant

    def row_writer(self, fh: TextIO) -> RowWriter:
        return csv.writer(fh, lineterminator="\r\n")

    def file_name(self, info: FileInfo) -> str:
        return file_name(_NAMES[info.kind], self.mandant, info, self.now)

    def file_head(self, info: FileInfo) -> bytes:
        buf = io.StringIO()
        columns = DEBTOR_COLUMNS if info.kind in _MASTER else BOOKING_COLUMNS
        self.row_writer(buf).writerow(columns)
        return buf.getvalue().encode(ENCODING)

    def booking_row(self, booking: Booking, report: Report) -> list[Any] | None:
        (jn, client, branch, dtype, docno, day, cents, sh, account, contra, tax, text, pm, pa,
         cc) = booking  # fmt: skip
        # The ledger contract guarantees these; a user's own database might not.
        if cents <= 0:
            report.refuse(jn, "amount", f"Betrag {cents} Cent ist nicht positiv")
            return None
        if sh != "S" and sh != "H":
            report.refuse(jn, "debit_credit", f"„{sh}“ statt S oder H")
            return None
        euros, rest = divmod(cents, 100)
        # None becomes an empty field (csv writes None as "").
        return [
            jn, client, branch, dtype, docno, day.isoformat(), f"{euros}.{rest:02d}", sh,
            account, contra, tax, text, pm, pa, cc,
        ]  # fmt: skip

    def partner_rows(
        self,
        kind: FileKind,
        partners: Sequence[Partner],
        first_use: Mapping[str, int],
        report: Report,
    ) -> list[list[Any]]:
        return [
            [
                p.client_id,
                p.account,
                p.name,
                p.street,
                p.postcode,
                p.city,
                p.country,
                p.vat_id,
                p.email,
            ]
            for p in partners
        ]


def validate_file(path: Path) -> list[str]:
    """German problems of a file in this format: UTF-8, CRLF, the column line, the same
    number of fields in every record, amounts with a decimal point, ISO dates."""
    problems: list[str] = []
    try:
        text = Path(path).read_bytes().decode(ENCODING)
    except UnicodeDecodeError as exc:
        return [f"kein UTF-8 (Byte {exc.start})"]
    if text.startswith("\ufeff"):
        problems.append("Byte-Order-Mark am Anfang (RFC 4180: keiner)")
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records:
        return ["Datei ist leer"]
    head = tuple(records[0])
    booking = head == BOOKING_COLUMNS
    if not booking and head != DEBTOR_COLUMNS:
        return [*problems, "Spaltenüberschriften unbekannt"]
    for number, record in enumerate(records[1:], start=2):
        if len(record) != len(head):
            problems.append(f"Datensatz {number}: {len(record)} statt {len(head)} Felder")
            continue
        if booking:
            amount, day = record[BOOKING_COLUMNS.index("amount")], record[5]
            if not _AMOUNT.fullmatch(amount):
                problems.append(f"Datensatz {number}: Betrag „{amount}“")
            if not _ISO_DATE.fullmatch(day):
                problems.append(f"Datensatz {number}: Datum „{day}“")
    return problems[:50]
