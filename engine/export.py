"""The export step of a run: select new bookings, plan the files, write them (SPEC §3).

`export()` reads the ledger and writes files into a directory; it neither uploads nor
stores anything. The caller delivers `ExportResult.files` and only then commits
`ExportResult.watermarks`, so a failed delivery loses nothing: the next run selects the
same bookings again.

Selection, per chosen client:
- an upper bound is fixed at the start (`Ledger.max_journal_no`); bookings inserted during
  the export have higher journal numbers and wait for the next run;
- bookings with watermark < journal_no <= upper bound, of the chosen document types (those
  not flagged incoming), payment methods (bookings without one always pass) and branch;
- with `incoming_export`: all incoming bookings (document types flagged incoming) of the
  client and branch, whatever the document-type and payment filters say, into their own
  files in `incoming_format`;
- the new watermark is the upper bound, also past bookings that did not match. A booking's
  type, branch and payment method do not change once journaled, so a booking that does not
  match now never will; not advancing would rescan it on every run, and a later change of
  the filters would suddenly deliver months of old bookings. Filters apply to the bookings
  journaled from then on, like the seed system's "new bookings" semantics. The watermark
  never moves back (a ledger whose numbers restarted lower sends nothing twice).

Files, per client and kind (bookings, incoming, debtors, creditors): the format decides the
split. Its `FormatSpec.file_periods` maps a booking's document date to a period (what that
means is the format's business; this module only groups by it) and its writer's `max_rows`
cuts a period into parts. Rows stream from the ledger cursor into one temporary body file
per (period, part); a file's head may need the dates of its first and last booking, known
only when its last row is in, so the head is written at the end and the body copied behind
it. Memory stays flat: no list of bookings, only per-file counters and small caches.

Failure: a value no documented rule can mend is reported, the export goes on checking
(writing nothing more) so that every offending journal number is collected, and then
`ExportError` names them. All work happens in a hidden staging directory inside `out_dir`;
files are moved into `out_dir` only after every booking passed, and if moving fails
half-way the files already moved are removed again. So after an exception `out_dir` holds
nothing from this run, and after success exactly `ExportResult.files` (same-named files of
an earlier run are replaced).
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import shutil
import sys
import tempfile
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from xxhash import xxh3_64_intdigest

from engine.errors import ExportError, LedgerError
from engine.formats import (
    KIND_LABELS,
    MASTER_DATA_KINDS,
    FileInfo,
    FileKind,
    FormatSpec,
    FormatWriter,
    format_spec,
)
from engine.formats.builtin import DEFAULT_FORMAT
from engine.ledger import (
    OPTIONAL_BOOKING_FIELDS,
    Booking,
    Catalog,
    Client,
    Partner,
    format_eur,
    format_int,
)

if TYPE_CHECKING:
    from engine.config import ExportConfig
    from engine.formats import PeriodOf, RowWriter
    from engine.ledger import DocumentRef, Ledger

#: Warnings kept one by one; beyond that they are counted per field (memory stays flat even
#: when every one of a million bookings has an over-long text).
MAX_WARNINGS: Final = 1000
#: Journal numbers and problems spelled out in an ExportError message.
MAX_LISTED: Final = 20

_COPY_CHUNK: Final = 1 << 20


@dataclass(frozen=True)
class ExportWarning:
    """A value changed by a documented rule (transliterated, shortened, left out)."""

    journal_no: int | None
    field: str
    message: str  # German, e.g. "Buchungstext gekürzt auf 60 Zeichen: …"


#: Sums of one account or tax key in a file: (value, Soll cents, Haben cents, rows).
Sums = tuple[tuple[str, int, int, int], ...]


@dataclass(frozen=True)
class ExportImage:
    """A document image packed for a booking (issue 17): what the journal and the control
    file keep of it."""

    journal_no: int
    file_name: str  # as the ledger names it
    member: str  # its name inside the package
    guid: str  # what the booking's link names
    size: int
    sha256: str


@dataclass(frozen=True)
class ExportFile:
    name: str
    path: Path
    kind: str  # "bookings" | "incoming" | "debtors" | "creditors" (engine.formats.FileKind)
    client_id: str
    rows: int
    debit_cents: int  # sum of the amounts marked S (Soll)
    credit_cents: int  # sum of the amounts marked H (Haben)
    date_from: date | None  # min/max document_date; None for debtors
    date_to: date | None
    size: int
    sha256: str
    #: with `index_dir`: the file's bookings as int64 pairs (journal_no, fingerprint)
    index: Path | None = None
    #: with `index_dir`: the values of its bookings above `keep_values_above` (JSON lines)
    values: Path | None = None
    journal_from: int | None = None  # smallest / largest journal number; None for debtors
    journal_to: int | None = None
    #: per Konto and per BU-Schlüssel ("" = none): (value, Soll cents, Haben cents, rows)
    accounts: Sums = ()
    tax_keys: Sums = ()
    #: kind "documents": the images in the package, in the order they were packed
    images: tuple[ExportImage, ...] = ()


@dataclass(frozen=True)
class LookBack:
    """Where one client's look-back starts (SPEC §3): bookings in (floor, watermark] that
    the journal does not list are delivered late. `loud_below`: found at or below it, a
    booking was missed by the normal window and is only caught by the daily full check."""

    floor: int
    loud_below: int
    #: (above, up_to) -> the journal numbers already delivered, ascending
    delivered: Callable[[int, int], Iterator[int]]


@dataclass(frozen=True)
class Gaps:
    """Journal numbers missing in a client's selected range: the count, the first gaps."""

    first: int
    last: int
    missing: int
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ExportResult:
    files: tuple[ExportFile, ...]
    #: per client: commit these after every file was delivered, not before
    watermarks: dict[str, int]
    warnings: tuple[ExportWarning, ...]
    #: bookings that became visible after higher numbers had been delivered
    late: int = 0
    #: per client: the numbering gaps seen in the selected range (information only)
    gaps: dict[str, Gaps] = field(default_factory=dict)
    #: all warnings, also those beyond `max_warnings` (only counted in `warnings`)
    warning_count: int = 0
    #: where every warning was written (`export(warnings_file=...)`); None if there was none
    warnings_file: Path | None = None

    @property
    def nothing_to_export(self) -> bool:
        return not self.files


# ---------------------------------------------------------------------------------------
# The run record of one export: warnings and refusals
# ---------------------------------------------------------------------------------------


class _Report:
    """Collects warnings (capped) and refusals (all journal numbers, capped details)."""

    def __init__(self, max_warnings: int, sink: TextIO | None = None) -> None:
        self.max_warnings = max_warnings
        self.warnings: list[ExportWarning] = []
        self.total = 0
        # Every warning, also beyond max_warnings, as a CSV record (`warnings_file`).
        self.sink = csv.writer(sink, delimiter=";", lineterminator="\r\n") if sink else None
        self.hidden: Counter[str] = Counter()
        self.refusals = 0
        self.refused = array("q")  # compact: a broken ledger may refuse millions
        self.fields: Counter[str] = Counter()
        self.details: list[str] = []
        self._last: int | None = None

    def warn(self, journal_no: int | None, field: str, message: str) -> None:
        self.total += 1
        if self.sink is not None:
            self.sink.writerow(("" if journal_no is None else journal_no, field, message))
        if len(self.warnings) < self.max_warnings:
            self.warnings.append(ExportWarning(journal_no, field, message))
        else:
            self.hidden[field] += 1

    def refuse(self, journal_no: int | None, field: str, message: str) -> None:
        self.refusals += 1
        self.fields[field] += 1
        if journal_no is not None and journal_no != self._last:
            self.refused.append(journal_no)
            self._last = journal_no
        if len(self.details) < MAX_LISTED:
            where = f"Journalnummer {journal_no}: " if journal_no is not None else ""
            what = message if message.startswith(field) else f"{field}: {message}"
            self.details.append(where + what)

    def all_warnings(self) -> tuple[ExportWarning, ...]:
        summary = [
            ExportWarning(
                None,
                field,
                f"{format_int(count)} weitere Warnungen zu {field} (nicht einzeln aufgeführt)",
            )
            for field, count in sorted(self.hidden.items())
        ]
        return (*self.warnings, *summary)

    def error(self) -> ExportError:
        journal_nos = tuple(dict.fromkeys(self.refused))
        n = len(journal_nos)
        listed = ", ".join(str(j) for j in journal_nos[:MAX_LISTED])
        if n > MAX_LISTED:
            listed += f" … ({format_int(n - MAX_LISTED)} weitere)"
        what = "1 Buchung verletzt" if n == 1 else f"{format_int(n)} Buchungen verletzen"
        fields = ", ".join(f"{field} ({count})" for field, count in self.fields.most_common())
        lines = [
            f"Export abgebrochen: {what} Formatregeln, die keine dokumentierte Regel "
            f"beheben kann (Journalnummern {listed}; Felder: {fields}). Es wurde keine Datei "
            "geschrieben; nach der Korrektur gehen sie mit dem nächsten Lauf hinaus.",
            *(f"- {detail}" for detail in self.details),
        ]
        if self.refusals > len(self.details):
            lines.append(f"… und {format_int(self.refusals - len(self.details))} weitere")
        return ExportError("\n".join(lines), journal_nos)


# ---------------------------------------------------------------------------------------
# File planning: temporary bodies per (period, part)
# ---------------------------------------------------------------------------------------


class _Part:
    """The body of one output file while rows stream in."""

    __slots__ = (
        "accounts",
        "credit",
        "debit",
        "fh",
        "first",
        "flush",
        "index",
        "jfrom",
        "jto",
        "keys",
        "last",
        "path",
        "period",
        "rows",
        "writerow",
    )

    def __init__(
        self,
        period: Hashable | None,
        path: Path,
        fh: TextIO,
        writer: RowWriter,
        index: _Index | None,
    ) -> None:
        self.period = period
        self.path = path
        self.fh = fh
        self.writerow = writer.writerow
        #: a buffering writer's flush (`_write_bookings` calls it every _FLUSH_MASK + 1
        #: rows, `close` at the end); None for a plain csv.writer
        self.flush: Callable[[], None] | None = getattr(writer, "flush", None)
        self.rows = 0
        self.debit = 0
        self.credit = 0
        self.first = date.max
        self.last = date.min
        self.index = index
        # Control totals (SPEC §3 "control file"): journal-number range; per Konto and per
        # BU-Schlüssel as written: [Soll cents, Haben cents, rows].
        self.jfrom = sys.maxsize
        self.jto = 0
        self.accounts: dict[str, list[int]] = {}
        self.keys: dict[str, list[int]] = {}

    def close(self) -> None:
        if self.flush is not None and not self.fh.closed:
            self.flush()
        self.fh.close()
        if self.index is not None:
            self.index.close()


class _Index:
    """The journal numbers and fingerprints of one part's rows, spilled to a side file in
    blocks so memory stays flat (the runner journals them before the first upload)."""

    __slots__ = ("fh", "keep_above", "kept", "path", "values")

    def __init__(self, path: Path, keep_above: int) -> None:
        self.path = path
        self.fh = path.open("wb")
        self.values = array("q")
        # Bookings above this journal number also keep their values (a JSON line each) so
        # a change after delivery can say what changed; only the look-back window needs it.
        self.keep_above = keep_above
        self.kept: TextIO | None = None

    def keep(self, booking: Booking) -> None:
        if self.kept is None:
            self.kept = self.path.with_suffix(".vals").open("w", encoding="utf-8")
        self.kept.write(booking_json(booking) + "\n")

    def spill(self) -> None:
        """Pairs so far to the side file (the hot loop appends to `values` itself)."""
        self.values.tofile(self.fh)
        del self.values[:]

    def close(self) -> None:
        if not self.fh.closed:
            self.values.tofile(self.fh)
            del self.values[:]
            self.fh.close()
        if self.kept is not None:
            self.kept.close()


def booking_json(booking: Booking) -> str:
    """A booking's values as the journal keeps them (dates as ISO text)."""
    return json.dumps([v.isoformat() if isinstance(v, date) else v for v in booking])


#: `%s` for each field the ledger contract never leaves empty (checked on reading), `%r`
#: for each that may be NULL, so None stays apart from the text "None": one C-level format
#: call per booking.
_FINGERPRINT_FORMAT: Final = "\x1f".join(
    "%r" if name in OPTIONAL_BOOKING_FIELDS else "%s" for name in Booking._fields
)
_SIGNED: Final = 1 << 63  # SQLite INTEGER is signed 64 bit
#: The booking fields the export's hot loop reads, by name, fetched in one C call (a little
#: faster than seven attribute reads).
_TOTALS_FIELDS: Final = (
    "journal_no",
    "document_date",
    "amount_cents",
    "debit_credit",
    "account",
    "tax_key",
    "partner_account",
)
_totals_fields: Final = itemgetter(*map(Booking._fields.index, _TOTALS_FIELDS))
_SPILL_MASK: Final = (1 << 15) - 1  # index pairs go to disk every 32,768 rows
_FLUSH_MASK: Final = (1 << 9) - 1  # a buffering row writer is flushed every 512 rows


def fingerprint(booking: Booking) -> int:
    """64 bits of XXH3 over a booking's values: the journal keeps it to tell a booking
    changed in the ledger after delivery (SPEC §3). A change detector, not a security
    measure; XXH3 is stable across versions and platforms and ~3× faster than BLAKE2b
    here, which matters: it runs once per exported booking (the export's hot loop has
    this line inlined)."""
    return int(xxh3_64_intdigest((_FINGERPRINT_FORMAT % booking).encode())) - _SIGNED


def read_index(path: Path) -> tuple[array[int], array[int]]:
    """An index file as (journal numbers, fingerprints)."""
    values = array("q")
    with path.open("rb") as fh:
        values.frombytes(fh.read())
    return values[0::2], values[1::2]


def _sums(table: Mapping[str, list[int]]) -> Sums:
    return tuple(
        (name, d, c, n)
        for name, (d, c, n) in sorted(table.items(), key=lambda i: (len(i[0]), i[0]))
    )


@dataclass(frozen=True)
class _Pending:
    """A finished body, waiting for its head and final name."""

    info: FileInfo
    body: Path
    fmt: FormatWriter
    client_id: str
    debit: int
    credit: int
    index: Path | None = None
    journal_from: int | None = None
    journal_to: int | None = None
    accounts: Sums = ()
    tax_keys: Sums = ()
    images: tuple[ExportImage, ...] = ()


class _Files:
    """The output files of one client and kind in one format."""

    def __init__(
        self,
        fmt: FormatWriter,
        kind: FileKind,
        client: Client,
        staging: Path,
        indexed: bool = False,
        keep_above: int | None = None,
        periods: PeriodOf | None = None,
    ):
        self.fmt = fmt
        self.kind: FileKind = kind
        self.client = client
        self.staging = staging
        self.indexed = indexed
        self.keep_above = sys.maxsize if keep_above is None else keep_above
        #: the format's split by date (`FormatSpec.periods`); None: one period
        self.periods = periods
        self.open: dict[Hashable | None, _Part] = {}
        self.done: dict[Hashable | None, list[_Part]] = {}
        #: the format's row builder and writer for booking rows; a format may offer a
        #: compact pair (`compact_booking_row` + `compact_row_writer`: rows without the
        #: columns that are the same in every line, which the writer appends itself)
        self.booking_row = fmt.booking_row
        self.row_writer = fmt.row_writer
        compact_row = getattr(fmt, "compact_booking_row", None)
        compact_writer = getattr(fmt, "compact_row_writer", None)
        if kind not in MASTER_DATA_KINDS and compact_row and compact_writer:
            self.booking_row, self.row_writer = compact_row, compact_writer

    def part_for(self, day: date) -> _Part:
        """The part the booking dated `day` goes to; opens or rolls over as needed."""
        period = self.periods(day) if self.periods is not None else None
        part = self.open.get(period)
        limit = self.fmt.max_rows
        if part is not None and (limit is None or part.rows < limit):
            return part
        if part is not None:  # full: close it, the next part takes over
            part.close()
            self.done.setdefault(period, []).append(part)
        part = self.open[period] = self.new_part(period)
        return part

    def new_part(self, period: Hashable | None) -> _Part:
        fd, name = tempfile.mkstemp(suffix=".body", dir=self.staging)
        # Stays open while rows stream in; closed by part_for/close (or with staging).
        fh = open(  # noqa: SIM115
            fd, "w", encoding=self.fmt.encoding, newline="", buffering=_COPY_CHUNK
        )
        index = _Index(Path(name).with_suffix(".idx"), self.keep_above) if self.indexed else None
        return _Part(period, Path(name), fh, self.row_writer(fh), index)

    def close(self) -> list[_Pending]:
        """Close every body; name parts 1..n where a period needed more than one file."""
        for period, part in self.open.items():
            part.close()
            self.done.setdefault(period, []).append(part)
        self.open.clear()
        pending: list[_Pending] = []
        for period in sorted(self.done, key=_sort_key):
            parts = self.done[period]
            for number, part in enumerate(parts, start=1):
                if not part.rows:  # opened but every row went elsewhere: nothing to deliver
                    part.path.unlink()
                    if part.index is not None:
                        part.index.path.unlink()
                    continue
                info = FileInfo(
                    kind=self.kind,
                    period=part.period,
                    date_from=part.first,
                    date_to=part.last,
                    part=number if len(parts) > 1 else None,
                    rows=part.rows,
                )
                pending.append(
                    _Pending(
                        info,
                        part.path,
                        self.fmt,
                        self.client.id,
                        part.debit,
                        part.credit,
                        part.index.path if part.index is not None else None,
                        part.jfrom,
                        part.jto,
                        _sums(part.accounts),
                        _sums(part.keys),
                    )
                )
        self.done.clear()
        return pending


def _sort_key(period: Hashable | None) -> tuple[Any, ...]:
    """Files in period order (periods are orderable; None is the only one when unsplit)."""
    return () if period is None else (period,)


def _write_bookings(
    files: _Files,
    bookings: Iterator[Booking],
    report: _Report,
    first_use: dict[str, int],
    links: _Links | None = None,
) -> list[_Pending]:
    """Stream bookings into bodies. The hot loop of an export: keep it lean.
    `links`: the client's document images; a booking that has one gets its link."""
    build = files.booking_row
    linked: tuple[int, DocumentRef, str, bool] | None = None
    incoming = files.kind == "incoming"
    limit = files.fmt.max_rows or sys.maxsize
    # The tax key as the file has it (a writer may drop one, e.g. on an Automatikkonto).
    key_column: int | None = getattr(files.fmt, "tax_key_column", None)
    by_day: dict[date, _Part] = {}  # a day always maps to one period: skip recomputing it
    try:
        for booking in bookings:
            row = build(booking, report)
            if row is None or report.refusals:
                continue  # after the first refusal only check, so every problem is named
            jn, day, cents, sh, acct, tax_key, partner = _totals_fields(booking)
            part = by_day.get(day)
            if part is None or part.rows >= limit:
                part = by_day[day] = files.part_for(day)
            if links is not None and jn in links.refs:
                linked = links.link(jn, row, report, incoming)
            try:
                part.writerow(row)
            except UnicodeEncodeError as exc:  # the writer's encoding cannot hold a value
                linked = None
                report.refuse(
                    jn,
                    "Zeichensatz",
                    f"Zeichen {exc.object[exc.start : exc.end]!r} nicht in {exc.encoding}",
                )
                continue
            if linked is not None:
                assert links is not None  # only a link sets `linked`
                links.chosen.append(linked)
                linked = None
            part.rows += 1
            if not part.rows & _FLUSH_MASK and part.flush is not None:
                part.flush()
            index = part.index
            if index is not None:  # for the journal: (journal number, fingerprint) pairs
                pairs = index.values
                pairs.append(jn)
                pairs.append(xxh3_64_intdigest((_FINGERPRINT_FORMAT % booking).encode()) - _SIGNED)
                if not part.rows & _SPILL_MASK:
                    index.spill()
                if jn > index.keep_above:
                    index.keep(booking)
            if jn < part.jfrom:
                part.jfrom = jn
            if jn > part.jto:
                part.jto = jn
            account = part.accounts.get(acct)
            if account is None:
                account = part.accounts[acct] = [0, 0, 0]
            tax = (row[key_column] if key_column is not None else tax_key) or ""
            key = part.keys.get(tax)
            if key is None:
                key = part.keys[tax] = [0, 0, 0]
            if sh == "S":
                part.debit += cents
                account[0] += cents
                key[0] += cents
            else:
                part.credit += cents
                account[1] += cents
                key[1] += cents
            account[2] += 1
            key[2] += 1
            if day < part.first:
                part.first = day
            if day > part.last:
                part.last = day
            if partner is not None and partner not in first_use:
                first_use[partner] = jn
    finally:
        pending = files.close()
    return pending


#: Partner kind in the ledger for a master-data file kind.
_PARTNER_KIND: Final = {"debtors": "debtor", "creditors": "creditor"}


def _write_partners(
    files: _Files,
    partners: Sequence[Partner],
    first_use: Mapping[str, int],
    report: _Report,
) -> list[_Pending]:
    """A master-data file of one client (`files.kind` debtors or creditors): the partners
    of that kind referenced by exported bookings."""
    kind = files.kind
    chosen = [p for p in partners if p.kind == _PARTNER_KIND[kind]]
    if not chosen:
        return []
    rows = files.fmt.partner_rows(kind, chosen, first_use, report)
    if not rows or report.refusals:
        return []
    part = files.new_part(None)
    try:
        for row in rows:
            part.writerow(row)
    except UnicodeEncodeError as exc:
        report.refuse(None, "Zeichensatz", f"{KIND_LABELS[kind]}daten: {exc}")
        return []
    finally:
        part.close()
    info = FileInfo(kind, None, None, None, None, len(rows))
    return [_Pending(info, part.path, files.fmt, files.client.id, 0, 0)]


def _referenced_partners(
    ledger: Ledger, client_id: str, first_use: Mapping[str, int], report: _Report
) -> list[Partner]:
    """The partners the exported bookings reference; a missing one is a warning."""
    partners = ledger.partners(client_id, accounts=first_use)
    known = {p.account for p in partners}
    for account in sorted(set(first_use) - known, key=lambda a: (len(a), a)):
        report.warn(
            first_use[account],
            "Partnerkonto",
            f"Partnerkonto {account} fehlt in den Stammdaten der Buchhaltung (partners); "
            "kein Debitoren- oder Kreditorensatz",
        )
    return partners


# ---------------------------------------------------------------------------------------
# Document images (issue 17): links in the rows, one package per client
# ---------------------------------------------------------------------------------------


class _Links:
    """One client's document images in a run: which bookings have one (metadata only, a
    few dozen bytes each, so memory follows the number of images, not their size), and
    the ones linked so far. The images themselves are streamed into the package after
    the client's rows (`_write_packages`)."""

    def __init__(self, ledger: Ledger, client_id: str, fmt: FormatWriter) -> None:
        self.ledger = ledger
        self.client_id = client_id
        self.fmt: Any = fmt  # a format with the document-image methods (FormatWriter doc)
        self.column: int = fmt.beleglink_column  # type: ignore[attr-defined]
        self.refs: dict[int, DocumentRef] = {}
        #: (journal number, image, GUID, incoming booking?) in the order rows were written
        self.chosen: list[tuple[int, DocumentRef, str, bool]] = []
        self._ranges: set[tuple[int, int]] = set()
        self._seen: set[tuple[tuple[str, int, str], str | None]] = set()
        #: further images of a booking: not delivered (one Beleglink per booking)
        self.more: dict[int, list[str]] = {}

    def load(self, numbers: Iterable[int]) -> None:
        """The images of these journal numbers (listed in (journal number, file name)
        order: the first of a booking is the one it links)."""
        for ref in self.ledger.documents(self.client_id, numbers):
            seen = (ref.key, ref.problem)  # a duplicate row comes with its own problem
            if seen in self._seen:  # listed already by another stream's numbers
                continue
            self._seen.add(seen)
            if ref.journal_no in self.refs:  # said when the booking goes out (`link`)
                self.more.setdefault(ref.journal_no, []).append(ref.file_name)
            else:
                self.refs[ref.journal_no] = ref

    def load_range(self, after: int, up_to: int) -> None:
        if (after, up_to) not in self._ranges and up_to > after:
            self._ranges.add((after, up_to))
            self.load(range(after + 1, up_to + 1))

    def link(
        self, jn: int, row: list[Any], report: _Report, incoming: bool
    ) -> tuple[int, DocumentRef, str, bool] | None:
        """Set the row's link to the booking's image, or warn why it gets none."""
        ref = self.refs[jn]
        for other in self.more.get(jn, ()):
            report.warn(
                jn,
                "Belegbild",
                f"Buchung {jn} hat mehrere Belegbilder; verknüpft wird nur „{ref.file_name}“, "
                f"„{other}“ wird nicht geliefert (ein Beleglink je Buchung)",
            )
        problem: str | None
        if ref.problem is not None:  # the ledger's own finding: file missing, unreadable …
            problem = (
                f"Belegbild zu Journalnummer {jn} („{ref.file_name}“): {ref.problem}; "
                "die Buchung geht ohne Belegbild hinaus"
            )
        else:
            problem = self.fmt.document_problem(jn, ref.file_name, ref.media_type, ref.size)
        if problem is not None:
            report.warn(jn, "Belegbild", problem)
            return None
        guid: str = self.fmt.document_guid(self.client_id, jn, ref.file_name)
        row[self.column] = self.fmt.document_link(guid)
        return jn, ref, guid, incoming


def _write_packages(links: _Links, staging: Path, report: _Report) -> list[_Pending]:
    """The client's linked images, streamed one by one into the format's packages; a new
    package (part 2, 3, …) when the format says one is full (`fits`)."""
    done: list[tuple[Path, list[ExportImage]]] = []
    package: Any = None
    try:
        for jn, ref, guid, incoming in links.chosen:
            if package is None or not package.fits(ref.size or 0):
                if package is not None:
                    package.close()
                fd, name = tempfile.mkstemp(suffix=".pkg", dir=staging)
                os.close(fd)
                package = links.fmt.document_package(Path(name))
                done.append((Path(name), []))
            try:
                with links.ledger.open_document(ref) as chunks:
                    added = package.add(
                        guid, ref.file_name, chunks, media_type=ref.media_type, incoming=incoming
                    )
            except (OSError, LedgerError) as exc:
                # The row already links it: a link to nothing must not go out. The run
                # fails and the next one tries again (nothing is journaled).
                report.refuse(
                    jn,
                    "Belegbild",
                    f"Belegbild „{ref.file_name}“ zu Journalnummer {jn} ließ sich nicht lesen "
                    f"({exc}); bitte die Datei bzw. die Tabelle documents prüfen",
                )
                return []
            done[-1][1].append(
                ExportImage(jn, ref.file_name, added.member, guid, added.size, added.sha256)
            )
    finally:
        if package is not None:
            package.close()
    return [
        _Pending(
            FileInfo("documents", None, None, None, number if len(done) > 1 else None, len(images)),
            path,
            links.fmt,
            links.client_id,
            0,
            0,
            images=tuple(images),
        )
        for number, (path, images) in enumerate(done, start=1)
        if images
    ]


# ---------------------------------------------------------------------------------------
# The export
# ---------------------------------------------------------------------------------------


def export(
    cfg: ExportConfig,
    ledger: Ledger,
    watermarks: Mapping[str, int],
    out_dir: Path,
    *,
    now: datetime,
    max_warnings: int = MAX_WARNINGS,
    lookback: Mapping[str, LookBack] | None = None,
    index_dir: Path | None = None,
    keep_values_window: int | None = None,
    only: Mapping[str, Collection[int]] | None = None,
    warnings_file: Path | None = None,
    documents: bool | None = None,
) -> ExportResult:
    """Write the files of one run of `cfg` into `out_dir` (created if missing).

    `documents`: also deliver the bookings' document images (a package per client, each
    booking's row linking its image); None: as the config says ("Belegbilder
    exportieren"). Only formats that offer the kind "documents" link images; a stream in
    another format says so once in a warning.

    `warnings_file`: every warning, also those beyond `max_warnings`, is written there
    (CSV for a German spreadsheet: Journalnummer;Feld;Meldung) when the export succeeds.

    `watermarks`: per client id, the highest journal number already delivered (missing: 0).
    `lookback`: per client id, where to look below the watermark for bookings the journal
    does not list (late-visible ones); None: nothing below the watermark is selected.
    `index_dir`: when given, each file's bookings (journal number, fingerprint) are written
    to `index_dir/<name>.idx` (see `read_index`) for the journal, and for the bookings in the
    top `keep_values_window` journal numbers their values to `index_dir/<name>.vals`.
    `only` (a redelivery): per client exactly these journal numbers, whatever the
    watermarks and the config's filters say; document types only route them into
    bookings or incoming files.
    `now`: the run's time (header "Erzeugt am", debtor file date); injected for tests.
    Returns the files, the new watermarks (to commit after delivery) and the warnings.
    Raises ExportError (German) when the config does not fit the ledger or bookings break
    rules no documented rule mends; LedgerError when the ledger cannot be read; OSError
    when out_dir cannot be written. After any exception, out_dir holds nothing of the run.
    """
    catalog = ledger.catalog()
    clients = _clients(cfg, catalog)
    formats = _format_names(cfg)
    regular_types = tuple(
        code
        for code in dict.fromkeys(cfg.document_types)
        if not (code in catalog.document_types and catalog.document_types[code].incoming)
    )
    incoming_types = tuple(code for code, t in catalog.document_types.items() if t.incoming)
    branch = catalog.branches.get(cfg.branch) if cfg.branch else None
    if cfg.branch and branch is None:
        raise ExportError(f"Filiale {cfg.branch} gibt es in der Buchhaltung nicht")
    if only is not None:  # a redelivery: the bookings decide, not today's filters
        missing = [cid for cid in only if cid not in catalog.clients]
        if missing:
            raise ExportError(f"Mandant {', '.join(missing)} gibt es in der Buchhaltung nicht")
        clients = [catalog.clients[cid] for cid in only if only[cid]]
        regular_types = tuple(c for c, t in catalog.document_types.items() if not t.incoming)
        branch = None

    # Fixed before reading anything: what is journaled from now on waits for the next run.
    upper = {c.id: ledger.max_journal_no(c.id) for c in clients}
    new_watermarks = {c.id: max(upper[c.id], int(watermarks.get(c.id, 0))) for c in clients}

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".buchex-export-", dir=out_dir))
    sink: TextIO | None = None
    if warnings_file is not None:
        fd = os.open(staging / "warnings.csv", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        sink = open(fd, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
        sink.write("Journalnummer;Feld;Meldung\r\n")
    report = _Report(max_warnings, sink)
    if cfg.export_debtors and "debtors" not in _spec(formats["bookings"]).kinds:
        report.warn(
            None,
            "Debitoren exportieren",
            f"Format „{_spec(formats['bookings']).label}“ schreibt keine Debitorendatei; "
            "es werden keine Debitoren geliefert",
        )
    late = 0
    gaps: dict[str, Gaps] = {}
    with_documents = bool(
        getattr(cfg, "document_images", False) if documents is None else documents
    )
    with_documents = with_documents and ledger.has_documents()
    unlinked: set[str] = set()  # formats already warned about
    try:
        pending: list[_Pending] = []
        tokens = _mandant_tokens(clients)
        for client in clients:
            after = upper[client.id] if only is not None else int(watermarks.get(client.id, 0))
            back = lookback.get(client.id) if lookback and only is None else None
            looking_back = back is not None and back.floor < min(after, upper[client.id])
            if after >= upper[client.id] and not looking_back and only is None:
                continue
            if branch is not None and branch.client_id != client.id:
                continue  # the branch belongs to another client: nothing of this one matches
            if upper[client.id] > after:
                found = _gaps(ledger, after, upper[client.id])
                if found is not None:
                    gaps[client.id] = found
            writers: dict[str, FormatWriter] = {}
            token = tokens[client.id]

            streams: list[tuple[FileKind, str, tuple[str, ...], tuple[str, ...] | None]] = []
            if regular_types:
                methods = tuple(cfg.payment_methods) or None
                streams.append(("bookings", formats["bookings"], regular_types, methods))
            if (cfg.incoming_export or only is not None) and incoming_types:
                streams.append(("incoming", formats["incoming"], incoming_types, None))
            first_use: dict[str, int] = {}
            links: _Links | None = None
            for kind, name, types, methods in streams:
                fmt = _writer(writers, name, client, catalog, cfg, now, token, ledger)
                stream_links: _Links | None = None
                if with_documents and "documents" in _spec(name).kinds:
                    if links is None:
                        links = _Links(ledger, client.id, fmt)
                    stream_links = links
                elif with_documents and name not in unlinked:
                    unlinked.add(name)
                    report.warn(
                        None,
                        "Belegbilder exportieren",
                        f"Format „{_spec(name).label}“ kann keine Belegbilder verknüpfen; "
                        f"die {KIND_LABELS[kind]} gehen ohne Belegbilder hinaus",
                    )
                files = _Files(
                    fmt,
                    kind,
                    client,
                    staging,
                    indexed=index_dir is not None,
                    keep_above=(
                        upper[client.id] - keep_values_window
                        if keep_values_window is not None
                        else None
                    ),
                    periods=_spec(name).periods(client),
                )
                selection = {
                    "branch_id": cfg.branch or None,
                    "document_types": types,
                    "payment_methods": methods,
                }
                late_nos: list[int] = []
                if back is not None and looking_back:
                    late_nos = _late_numbers(
                        ledger, client.id, back, after, upper[client.id], selection
                    )
                    late += len(late_nos)
                    for number in late_nos:
                        report.warn(number, "Nachzügler", _late_message(number, back))
                bookings: Iterator[Booking] = ledger.bookings(
                    client.id,
                    after_journal_no=after,
                    up_to_journal_no=upper[client.id],
                    problems=report,
                    **selection,  # type: ignore[arg-type]
                )
                if late_nos:
                    bookings = itertools.chain(
                        ledger.bookings_numbered(client.id, late_nos, problems=report), bookings
                    )
                if only is not None:
                    bookings = ledger.bookings_numbered(
                        client.id, only[client.id], document_types=types, problems=report
                    )
                if stream_links is not None:
                    if only is not None:
                        stream_links.load(sorted(only[client.id]))
                    else:
                        stream_links.load_range(after, upper[client.id])
                        if late_nos:
                            stream_links.load(late_nos)
                pending += _write_bookings(files, bookings, report, first_use, stream_links)
            if links is not None and links.chosen and not report.refusals:
                pending += _write_packages(links, staging, report)
            # Master data (SPEC §3): debtors with "Debitoren exportieren" in the bookings'
            # format; creditors whenever incoming bookings are exported, in theirs. A format
            # that writes no such file is skipped (debtors: with a warning, they were asked).
            master: list[tuple[FileKind, str]] = []
            if cfg.export_debtors:
                master.append(("debtors", formats["bookings"]))
            if cfg.incoming_export:
                master.append(("creditors", formats["incoming"]))
            master = [(kind, name) for kind, name in master if kind in _spec(name).kinds]
            if first_use and master:
                partners = _referenced_partners(ledger, client.id, first_use, report)
                for kind, name in master:
                    fmt = _writer(writers, name, client, catalog, cfg, now, token, ledger)
                    files = _Files(fmt, kind, client, staging)
                    pending += _write_partners(files, partners, first_use, report)
        if report.refusals:
            raise report.error()
        if index_dir is not None:
            index_dir.mkdir(parents=True, exist_ok=True)
        result = _finish(pending, out_dir, index_dir)
        if sink is not None and warnings_file is not None:
            sink.close()
            if report.total:
                os.replace(staging / "warnings.csv", warnings_file)
    finally:
        if sink is not None:
            sink.close()
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(
        files=tuple(result),
        watermarks=new_watermarks,
        warnings=report.all_warnings(),
        late=late,
        gaps=gaps,
        warning_count=report.total,
        warnings_file=warnings_file if sink is not None and report.total else None,
    )


def _late_numbers(
    ledger: Ledger,
    client_id: str,
    back: LookBack,
    after: int,
    upper: int,
    selection: Mapping[str, Any],
) -> list[int]:
    """Matching bookings in (floor, watermark] that the journal does not list: a merge of
    two ascending streams of journal numbers, so memory stays flat over any window."""
    top = min(after, upper)
    present = ledger.journal_numbers(
        client_id, after_journal_no=back.floor, up_to_journal_no=top, **selection
    )
    delivered = back.delivered(back.floor, top)
    missing: list[int] = []
    done = next(delivered, None)
    for number in present:
        while done is not None and done < number:
            done = next(delivered, None)
        if done != number:
            missing.append(number)
    return missing


def _late_message(number: int, back: LookBack) -> str:
    if number <= back.loud_below:
        return (
            "Buchung lag unterhalb des Rückblickfensters und wurde erst bei der täglichen "
            "Vollprüfung gefunden; sie wird jetzt geliefert. Bitte prüfen, warum sie so spät "
            "in der Buchhaltung sichtbar wurde."
        )
    return (
        "Buchung wurde erst sichtbar, nachdem höhere Journalnummern schon geliefert waren; "
        "sie wird jetzt geliefert."
    )


def _gaps(ledger: Ledger, after: int, upper: int) -> Gaps | None:
    missing, ranges = ledger.numbering_gaps(after, upper)
    if not missing:
        return None
    return Gaps(after + 1, upper, missing, tuple(ranges))


def format_gaps(client_id: str, gaps: Gaps) -> str:
    """German line for the run record: "Mandant 1: 3 Journalnummern fehlen (1005–1007)"."""
    listed = ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in gaps.ranges)
    if len(gaps.ranges) < gaps.missing and sum(b - a + 1 for a, b in gaps.ranges) < gaps.missing:
        listed += ", …"
    what = (
        "1 Journalnummer fehlt"
        if gaps.missing == 1
        else f"{format_int(gaps.missing)} Journalnummern fehlen"
    )
    return (
        f"Mandant {client_id}: {what} in der Buchhaltung zwischen {gaps.first} und "
        f"{gaps.last} ({listed}); nur zur Information (Lückenanalyse)"
    )


def _writer(
    cache: dict[str, FormatWriter],
    name: str,
    client: Client,
    catalog: Catalog,
    cfg: ExportConfig,
    now: datetime,
    mandant: str,
    ledger: Ledger,
) -> FormatWriter:
    """The client's writer for format `name`, made once per run (engine.formats registry:
    built-in formats and plug-ins). It gets the format's options (their defaults: configs
    do not store option values yet) and the client's own Automatikkonten from the ledger."""
    if name not in cache:
        from engine.ledger_automatic import own_automatic_accounts

        spec = _spec(name)
        try:
            options = spec.resolve_options()
            cache[name] = spec.factory()(
                client=client,
                catalog=catalog,
                config_name=cfg.name or cfg.id,
                now=now,
                mandant=mandant,
                options=options,
                own_automatic_accounts=own_automatic_accounts(ledger, client.id),
            )
        except ValueError as exc:  # master data that cannot make a valid file head
            raise ExportError(str(exc)) from None
    return cache[name]


def _spec(name: str) -> FormatSpec:
    try:
        return format_spec(name)
    except KeyError as exc:
        raise ExportError(str(exc.args[0])) from None


def _clients(cfg: ExportConfig, catalog: Catalog) -> list[Client]:
    missing = [cid for cid in cfg.clients if cid not in catalog.clients]
    if missing:
        raise ExportError(f"Mandant {', '.join(missing)} gibt es in der Buchhaltung nicht")
    if not cfg.clients:
        raise ExportError("Keine Mandanten gewählt")
    return [catalog.clients[cid] for cid in dict.fromkeys(cfg.clients)]


def _format_names(cfg: ExportConfig) -> dict[str, str]:
    """Format per kind of bookings; ExportError (German, naming the field) when a format is
    not installed or does not write the bookings it is chosen for."""
    main = cfg.format or DEFAULT_FORMAT
    incoming = cfg.incoming_format or main
    for label, name, kind in (
        ("Format", main, "bookings"),
        ("Format (Eingangsbuchungen)", incoming, "incoming"),
    ):
        spec = _spec(name)
        if kind not in spec.kinds:
            raise ExportError(f"{label}: „{spec.label}“ schreibt keine {KIND_LABELS[kind]}")
    return {"bookings": main, "incoming": incoming}


def _mandant_tokens(clients: Sequence[Client]) -> dict[str, str]:
    """The client's part of a file name: Mandantennummer, made unique within the run.

    The Mandantennummer is unique per Beraternummer only, so when two chosen clients share
    one, their names carry Beraternummer-Mandantennummer.
    """
    counts = Counter(c.client_no for c in clients)
    return {
        c.id: str(c.client_no) if counts[c.client_no] == 1 else f"{c.consultant_no}-{c.client_no}"
        for c in clients
    }


def _finish(
    pending: Sequence[_Pending], out_dir: Path, index_dir: Path | None = None
) -> list[ExportFile]:
    """Head + body into the final files; all of them, or none if anything fails."""
    names: set[str] = set()
    moved: list[Path] = []
    result: list[ExportFile] = []
    try:
        for item in pending:  # client by client: bookings, incoming, debtors
            name = item.fmt.file_name(item.info)
            if name in names or not name.isascii():  # pragma: no cover - a naming bug
                raise ExportError(f"Dateiname doppelt oder nicht ASCII: {name}")
            names.add(name)
            try:
                head = item.fmt.file_head(item.info)
            except ValueError as exc:
                raise ExportError(str(exc)) from None
            digest = hashlib.sha256(head)
            tmp = item.body.with_suffix(".file")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(fd, "wb") as out, open(item.body, "rb") as body:
                out.write(head)
                while chunk := body.read(_COPY_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                size = out.tell()
            item.body.unlink()
            final = out_dir / name
            index: Path | None = None
            values: Path | None = None
            if index_dir is not None:
                index = index_dir / f"{name}.idx"
                if item.index is not None:
                    os.replace(item.index, index)
                    kept = item.index.with_suffix(".vals")
                    if kept.exists():
                        values = index_dir / f"{name}.vals"
                        os.replace(kept, values)
                        moved.append(values)
                else:  # a file without bookings (debtors)
                    index.write_bytes(b"")
                moved.append(index)
            os.replace(tmp, final)
            moved.append(final)
            result.append(
                ExportFile(
                    name=name,
                    path=final,
                    kind=item.info.kind,
                    client_id=item.client_id,
                    rows=item.info.rows,
                    debit_cents=item.debit,
                    credit_cents=item.credit,
                    date_from=item.info.date_from,
                    date_to=item.info.date_to,
                    size=size,
                    sha256=digest.hexdigest(),
                    index=index,
                    values=values,
                    journal_from=item.journal_from,
                    journal_to=item.journal_to,
                    accounts=item.accounts,
                    tax_keys=item.tax_keys,
                    images=item.images,
                )
            )
    except BaseException:
        for path in moved:
            path.unlink(missing_ok=True)
        raise
    return result


# ---------------------------------------------------------------------------------------
# For the CLI
# ---------------------------------------------------------------------------------------


def format_file_table(files: Sequence[ExportFile]) -> str:
    """German table of a run's files: Datei, Zeilen, Summe Soll, Summe Haben (EUR)."""
    if not files:
        return "Nichts zu exportieren."
    headers = ("Datei", "Zeilen", "Summe Soll", "Summe Haben")
    rows: list[tuple[str, ...]] = []
    for f in files:
        sums = f.kind not in MASTER_DATA_KINDS
        rows.append(
            (
                f.name,
                format_int(f.rows) + (" Bilder" if f.kind == "documents" else ""),
                format_eur(f.debit_cents) if sums else "",
                format_eur(f.credit_cents) if sums else "",
            )
        )
    booked = [f for f in files if f.kind not in MASTER_DATA_KINDS]
    total = (
        "Gesamt",
        format_int(sum(f.rows for f in booked)),
        format_eur(sum(f.debit_cents for f in booked)),
        format_eur(sum(f.credit_cents for f in booked)),
    )
    widths = [max(len(r[i]) for r in (headers, *rows, total)) for i in range(len(headers))]

    def line(cells: tuple[str, ...]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join(
            [first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))]
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [line(headers), rule, *(line(r) for r in rows)]
    if len(files) > 1:
        out += [rule, line(total)]
    return "\n".join(out)


__all__ = [
    "MAX_WARNINGS",
    "ExportError",
    "ExportFile",
    "ExportResult",
    "ExportWarning",
    "Gaps",
    "LookBack",
    "export",
    "fingerprint",
    "format_file_table",
    "format_gaps",
    "read_index",
]
