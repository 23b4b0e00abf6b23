"""What a format is: `FormatSpec`, the writer protocol, file kinds and periods.

A module of its own so that the declarations (engine.formats.builtin, plug-ins) import it
without importing the registry in `engine.formats`, which loads them.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TextIO

if TYPE_CHECKING:  # engine.config imports this package: keep SQLAlchemy out of its imports
    from engine.ledger import Booking, Catalog, Client, Partner

#: What a file holds: bookings, incoming (supplier-invoice) bookings, debtor or creditor
#: master data, or the document images of exported bookings (a package the format makes,
#: e.g. DATEV's document.xml ZIP). Runner, journal and run record carry these strings.
FileKind = Literal["bookings", "incoming", "debtors", "creditors", "documents"]
FILE_KINDS: Final[tuple[FileKind, ...]] = (
    "bookings",
    "incoming",
    "debtors",
    "creditors",
    "documents",
)
#: The kinds every data-writing format can offer (all but "documents").
DATA_KINDS: Final[frozenset[FileKind]] = frozenset({"bookings", "incoming", "debtors", "creditors"})
#: Kinds without bookings: no sums, no journal index.
MASTER_DATA_KINDS: Final[frozenset[str]] = frozenset({"debtors", "creditors", "documents"})
#: German names of the kinds, for messages.
KIND_LABELS: Final[dict[str, str]] = {
    "bookings": "Buchungen",
    "incoming": "Eingangsbuchungen",
    "debtors": "Debitoren",
    "creditors": "Kreditoren",
    "documents": "Belegbilder",
}

#: The entry point group third-party formats register in.
ENTRY_POINT_GROUP: Final = "buchex.formats"


#: A client's split of bookings into files: document date → the period of the file it goes
#: to. Periods are hashable and orderable (equal periods share a file; files follow in
#: period order); the writer gets its own period back in `FileInfo.period`.
PeriodOf = Callable[[date], Hashable]
#: What a format declares (`FormatSpec.file_periods`): the client → its `PeriodOf`.
FilePeriods = Callable[["Client"], PeriodOf]


@dataclass(frozen=True)
class FileInfo:
    """What a writer needs to name a file and write its head; known when the file closes."""

    kind: FileKind
    #: the file's period as the format's `FormatSpec.file_periods` named it (None: the
    #: format does not split by date, or master data)
    period: Hashable | None
    date_from: date | None  # min/max document_date of the file's bookings; None: master data
    date_to: date | None
    part: int | None  # 1, 2, ... when a period needs more than one file, else None
    rows: int

    @property
    def fiscal_year_start(self) -> date | None:
        """Deprecated, for writers of the older protocol: the period's fiscal year, if any."""
        start: date | None = getattr(self.period, "fiscal_year_start", None)
        return start


class Report(Protocol):
    """Where a writer reports what it changed (warn) or cannot write (refuse)."""

    def warn(self, journal_no: int | None, field: str, message: str) -> None: ...

    def refuse(self, journal_no: int | None, field: str, message: str) -> None: ...


class RowWriter(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


class FormatWriter(Protocol):
    """One format for one client in one run (see `DatevFormat`, `CsvFormat`).

    Optional fast path (engine.export uses it for booking files when both are present):
    `compact_booking_row(booking, report)` makes rows without the trailing columns that
    hold the same value in every line, and `compact_row_writer(fh)` writes them with that
    constant rest appended; it may buffer and then has a `flush()`, which the export calls
    every few hundred rows and before closing the file. The file must come out byte for
    byte as `row_writer` writes `booking_row`'s rows (`DatevFormat` does this).

    Optional document images (a format whose spec lists the kind "documents"): the
    attribute `beleglink_column` (the row index that links a booking to its image) and
    `document_guid(client_id, journal_no, file_name)`, `document_link(guid)` (the
    column's value), `document_problem(journal_no, file_name, media_type, size)` (a German
    warning when the format cannot take the image, else None) and
    `document_package(path)` (a writer with `add(guid, file_name, chunks)` → member name,
    size, SHA-256, and `close()`); `file_name` and `file_head` then also get the kind
    "documents" (the package's name; an empty head).
    """

    encoding: str
    #: rows per file; None: no limit
    max_rows: int | None

    def row_writer(self, fh: TextIO) -> RowWriter: ...

    def booking_row(self, booking: Booking, report: Report) -> list[Any] | None: ...

    def partner_rows(
        self,
        kind: FileKind,
        partners: Sequence[Partner],
        first_use: Mapping[str, int],
        report: Report,
    ) -> list[list[Any]]:
        """Rows of a master-data file (`kind` "debtors" or "creditors")."""
        ...

    def file_name(self, info: FileInfo) -> str: ...

    def file_head(self, info: FileInfo) -> bytes: ...


class FormatFactory(Protocol):
    """A writer class. buchex calls it with these keyword arguments; a plug-in should also
    accept `**kwargs` so that later versions can pass more without breaking it."""

    def __call__(
        self,
        *,
        client: Client,
        catalog: Catalog,
        config_name: str,
        now: datetime,
        mandant: str,
        options: Mapping[str, str],
        own_automatic_accounts: Mapping[str, int | None],
    ) -> FormatWriter: ...


@dataclass(frozen=True)
class FormatOption:
    """An option a format declares: German label, allowed values, default."""

    name: str
    label: str
    choices: tuple[tuple[str, str], ...]  # (value, German label)
    default: str
    help: str = ""


#: Validator of a written file: German problems, empty when the file is fine.
Validator = Callable[[Path], list[str]]

_NAME: Final = re.compile(r"[a-z][a-z0-9_-]{0,31}")


@dataclass(frozen=True)
class FormatSpec:
    """The declaration of a format (what a plug-in's entry point names)."""

    name: str  # stored in config files: lower-case letters, digits, _ and -
    label: str  # German, shown in forms and lists
    #: the writer class, or "module:attribute" naming it (imported on first use)
    writer: str | FormatFactory
    #: which files it writes; an export never asks it for another kind
    kinds: frozenset[FileKind] = frozenset({"bookings", "incoming"})
    options: tuple[FormatOption, ...] = ()
    #: "module:function" or a function checking a written file (`Validator`)
    validator: str | Validator | None = None
    #: how a client's bookings are split into files by date: "module:function" or a
    #: `FilePeriods` (engine.formats.periods); None: one file per client and kind (parts
    #: of `max_rows` aside)
    file_periods: str | FilePeriods | None = None
    description: str = ""  # German, one sentence
    #: where it was declared ("buchex" or the distribution of a plug-in)
    origin: str = "buchex"

    def factory(self) -> FormatFactory:
        writer = self.writer
        if isinstance(writer, str):
            loaded: FormatFactory = _load(writer)
            return loaded
        return writer

    def periods(self, client: Client) -> PeriodOf | None:
        """The client's split of bookings into files (`file_periods`), or None."""
        rule = self.file_periods
        if rule is None:
            # Writers of the older protocol said `split_by_year = True` instead.
            if not getattr(self.factory(), "split_by_year", False):
                return None
            rule = "engine.formats.periods:fiscal_and_calendar_year"
        declared: FilePeriods = _load(rule) if isinstance(rule, str) else rule
        return declared(client)

    def validate(self, path: Path) -> list[str]:
        """German problems of a file this format wrote; [] if it has no validator."""
        validator = self.validator
        if validator is None:
            return []
        check: Validator = _load(validator) if isinstance(validator, str) else validator
        return check(path)

    def resolve_options(self, given: Mapping[str, str] | None = None) -> dict[str, str]:
        """Every declared option with its value (default where not given).

        Raises ValueError with a German message naming the option by its label."""
        given = dict(given or {})
        values: dict[str, str] = {}
        for option in self.options:
            value = given.pop(option.name, option.default)
            allowed = [v for v, _ in option.choices]
            if value not in allowed:
                raise ValueError(
                    f"{self.label}, Option „{option.label}“: „{value}“ ist nicht erlaubt "
                    f"(möglich: {', '.join(allowed)})"
                )
            values[option.name] = value
        if given:
            raise ValueError(
                f"{self.label}: unbekannte Option {', '.join(sorted(given))} "
                f"(bekannt: {', '.join(o.name for o in self.options) or 'keine'})"
            )
        return values


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    return obj
