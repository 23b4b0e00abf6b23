"""Export formats: a registry from a config's `format` name to its writer class.

`FORMAT_CHOICES` (name, German label) is what config files store and forms show;
`format_factories()` maps the same names to writer classes. The writers (and DATEV's column
table) are imported there, on first use: engine.config needs only the names, and every
process that opens a workspace (the TUI's start among them) would pay for them otherwise.

`engine.export` does the selection, the file planning (one file per client, kind and
period, numbered parts) and the byte plumbing; a writer knows only its own format: how a
booking becomes a row (mending or refusing values), the file's head (header line,
headings), its file names and its master-data rows.

The writer modules import nothing from this package at run time (only for type checking),
so importing a writer directly and importing the registry both work without cycles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TextIO

if TYPE_CHECKING:  # engine.config imports this package: keep SQLAlchemy out of its imports
    from engine.ledger import Booking, Catalog, Client, Partner

# Names are what config files store; labels are what the forms show.
FORMAT_CHOICES: tuple[tuple[str, str], ...] = (
    ("datev", "DATEV-Format"),
    ("csv", "CSV (UTF-8)"),
)

#: What a file holds: bookings, incoming (supplier-invoice) bookings, debtor master data.
FileKind = Literal["bookings", "incoming", "debtors"]


@dataclass(frozen=True)
class FileInfo:
    """What a writer needs to name a file and write its head; known when the file closes."""

    kind: FileKind
    fiscal_year_start: date | None  # the file's fiscal year (None: not split by fiscal year)
    date_from: date | None  # min/max document_date of the file's bookings; None for debtors
    date_to: date | None
    part: int | None  # 1, 2, ... when a period needs more than one file, else None
    rows: int


class Report(Protocol):
    """Where a writer reports what it changed (warn) or cannot write (refuse)."""

    def warn(self, journal_no: int | None, field: str, message: str) -> None: ...

    def refuse(self, journal_no: int | None, field: str, message: str) -> None: ...


class RowWriter(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


class FormatWriter(Protocol):
    """One format for one client in one run (see `DatevFormat`, `CsvFormat`)."""

    encoding: str
    #: rows per file; None: no limit
    max_rows: int | None
    #: one file per fiscal year, and again per calendar year (DATEV's TTMM Belegdatum)
    split_by_year: bool

    def row_writer(self, fh: TextIO) -> RowWriter: ...

    def booking_row(self, booking: Booking, report: Report) -> list[Any] | None: ...

    def debtor_rows(
        self, partners: Sequence[Partner], first_use: Mapping[str, int], report: Report
    ) -> list[list[Any]]: ...

    def file_name(self, info: FileInfo) -> str: ...

    def file_head(self, info: FileInfo) -> bytes: ...


class FormatFactory(Protocol):
    def __call__(
        self, *, client: Client, catalog: Catalog, config_name: str, now: datetime, mandant: str
    ) -> FormatWriter: ...


def format_factories() -> dict[str, FormatFactory]:
    """Format name → writer class, for every name in FORMAT_CHOICES (a test checks that)."""
    from engine.formats.csv_format import CsvFormat
    from engine.formats.datev import DatevFormat

    return {"datev": DatevFormat, "csv": CsvFormat}


def format_label(name: str) -> str:
    """The German label of a format name (the name itself if unknown)."""
    return dict(FORMAT_CHOICES).get(name, name)
