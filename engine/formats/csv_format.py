"""Plain CSV (format `csv`): for systems that do not read DATEV. Documented in docs/export.md.

RFC 4180 as written by the stdlib csv module: UTF-8 without BOM, `,` between fields, CRLF
after each line, fields quoted only when needed (a comma, quote or line break inside; inner
quotes doubled). One header row, then one row per booking. Values are the ledger's own,
unchanged: no transliteration, no shortening (UTF-8 holds every character, and nothing
limits the length), ISO dates, amounts with a decimal point. One file per client and kind,
not split by year or row count (the ISO date carries the year).

Named csv_format so it does not shadow the stdlib `csv` module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TextIO

from engine.formats.naming import run_stamp

if TYPE_CHECKING:
    from engine.formats import FileInfo, Report, RowWriter
    from engine.ledger import Booking, Catalog, Client, Partner

ENCODING: Final = "utf-8"

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

#: Columns of a debtors file.
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

_NAMES: Final = {"bookings": "Buchungen", "incoming": "Eingangsbuchungen", "debtors": "Debitoren"}


class CsvFormat:
    """The plain CSV format for one client in one run (a `engine.formats.FormatWriter`)."""

    encoding = ENCODING
    max_rows: int | None = None
    split_by_year = False

    def __init__(
        self, *, client: Client, catalog: Catalog, config_name: str, now: datetime, mandant: str
    ) -> None:
        self.client = client
        self.now = now
        self.mandant = mandant

    def row_writer(self, fh: TextIO) -> RowWriter:
        return csv.writer(fh, lineterminator="\r\n")

    def file_name(self, info: FileInfo) -> str:
        kind = _NAMES[info.kind]
        if info.kind == "debtors":
            return f"{kind}_{self.mandant}_{run_stamp(self.now)}.csv"
        assert info.date_from is not None and info.date_to is not None
        part = "" if info.part is None else f"_{info.part}"
        period = f"{info.date_from:%Y%m%d}_{info.date_to:%Y%m%d}"
        return f"{kind}_{self.mandant}_{period}{part}_{run_stamp(self.now)}.csv"

    def file_head(self, info: FileInfo) -> bytes:
        buf = io.StringIO()
        columns = DEBTOR_COLUMNS if info.kind == "debtors" else BOOKING_COLUMNS
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

    def debtor_rows(
        self, partners: Sequence[Partner], first_use: Mapping[str, int], report: Report
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
