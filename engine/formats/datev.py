"""DATEV-Format writer (EXTF 700: Buchungsstapel and Debitoren/Kreditoren) and validator.

Everything DATEV-specific comes from the column table in `engine.formats.datev_spec`: the
row template (which of the 125 / 254 columns are quoted), the headings, the header fields,
the limits and patterns the values are checked and mended against, and which value goes
into which Buchungsstapel column (`BUCHUNGSSTAPEL_BINDINGS`: booking field or computed
value, and the rule for a misfit). The writer builds its rows from those bindings only
(`_row_source`) and checks only the columns it fills; `validate_file` checks every field of
a written file against the same table, independently of how the writer got there.

Quoting, with the stdlib csv module. DATEV wants text fields in double quotes (inner quotes
doubled, empty ones as `""`) and numeric fields bare (empty ones as nothing). csv.writer
with QUOTE_NONNUMERIC quotes a field unless `PyNumber_Check(field)` is true, and writes a
`str` instance's characters as they are. `Bare` is a `str` subclass with an `__index__`
slot: csv treats it as a number (no quotes) yet writes its text unchanged ("12,50", "1000",
"0301", or "" for an empty bare field). Plain `str` values get quotes and doubled inner
quotes from csv itself. So the row is a list whose element *types* carry the table's
`quoted` flags, and the C writer does all the work; no quoting code of our own. (The
alternative, QUOTE_NONE with pre-quoted tokens, would mean quoting by hand and is slower.)
Bare values are validated digits and commas, so they never need quotes; should one ever
hold a `;` or `"`, csv quotes it rather than corrupting the line, and `validate_file`
would flag it.

Mending (docs/datev.md, "Transliteration and shortening"): a value the column does not
accept is transliterated (`datev_spec.transliterate`) and, if the column is `truncatable`,
shortened to its maximum length; each change is reported as a warning naming the booking's
journal number and the column. Identifiers (Belegfeld 1, KOST1, accounts, BU-Schlüssel,
VAT ids) are never cut, and what no rule can mend is refused: the export then fails naming
the journal numbers (`engine.export`).
"""

from __future__ import annotations

import csv
import functools
import io
import linecache
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, Any, Final, TextIO

from engine.formats.automatic_accounts import STANDARD_KEYS, tax_key_verdict
from engine.formats.automatic_accounts import automatic_accounts as automatic_table
from engine.formats.datev_spec import (
    BUCHUNGSSTAPEL_BINDINGS,
    BUCHUNGSSTAPEL_COLUMNS,
    BUCHUNGSSTAPEL_FILL_ORDER,
    DEBITOREN_KREDITOREN_COLUMNS,
    ENCODING,
    FORMAT_CATEGORY,
    FORMAT_VERSION,
    HEADER_FIELDS,
    LINE_END,
    MAX_ROWS_PER_FILE,
    QUOTE,
    SEPARATOR,
    VERSION,
    Binding,
    Column,
    UnencodableCharacterError,
    acceptor,
    account_pattern,
    column_index,
    encodable,
    field_ok,
    render_field,
    transliterate,
)
from engine.formats.naming import file_name
from engine.formats.periods import FiscalPeriod, check_fiscal_year_start, fiscal_year_start

if TYPE_CHECKING:
    from engine.formats import FileInfo, FileKind, Report, RowWriter
    from engine.ledger import Booking, Catalog, Client, Partner


class Bare(str):
    """Text that csv.writer writes without quotes under QUOTE_NONNUMERIC (module docstring).

    Only the presence of the number slot matters (csv calls `PyNumber_Check`); it is never
    called, and raises if anything tries to use the value as a number.
    """

    __slots__ = ()

    def __index__(self) -> int:
        raise TypeError("Bare is text for an unquoted DATEV field, not a number")


BARE_EMPTY: Final = Bare("")


class DatevDialect(csv.Dialect):
    """`;`, CRLF, quotes doubled; quoting decided by the value's type (see `Bare`)."""

    delimiter = SEPARATOR
    quotechar = QUOTE
    doublequote = True
    escapechar = None
    lineterminator = LINE_END
    quoting = csv.QUOTE_NONNUMERIC
    skipinitialspace = False
    strict = True


BS: Final = BUCHUNGSSTAPEL_COLUMNS
DK: Final = DEBITOREN_KREDITOREN_COLUMNS

# Positions of Buchungsstapel columns, for the validator's cross-field checks (and the
# export benchmark's bare baseline); the writer goes by BUCHUNGSSTAPEL_BINDINGS.
I_UMSATZ: Final = column_index(BS, "Umsatz (ohne Soll/Haben-Kz)")
I_SH: Final = column_index(BS, "Soll/Haben-Kennzeichen")
I_KONTO: Final = column_index(BS, "Konto")
I_GEGENKONTO: Final = column_index(BS, "Gegenkonto (ohne BU-Schlüssel)")
I_BU: Final = column_index(BS, "BU-Schlüssel")
I_BELEGDATUM: Final = column_index(BS, "Belegdatum")
I_BELEGFELD1: Final = column_index(BS, "Belegfeld 1")
I_TEXT: Final = column_index(BS, "Buchungstext")
I_KOST1: Final = column_index(BS, "KOST1 - Kostenstelle")
I_FESTSCHREIBUNG: Final = column_index(BS, "Festschreibung")
I_INFO_ART: Final = tuple(column_index(BS, f"Beleginfo - Art {i}") for i in range(1, 5))
I_INFO: Final = tuple(column_index(BS, f"Beleginfo - Inhalt {i}") for i in range(1, 5))
I_BELEGLINK: Final = column_index(BS, "Beleglink")

_D_KONTO: Final = column_index(DK, "Konto")
_D_NAME: Final = column_index(DK, "Name (Adressattyp keine Angabe)")
_D_ADRESSATTYP: Final = column_index(DK, "Adressattyp")
_D_EU_LAND: Final = column_index(DK, "EU-Land")
_D_EU_USTID: Final = column_index(DK, "EU-UStID")
_D_ADRESSART: Final = column_index(DK, "Adressart")
_D_STRASSE: Final = column_index(DK, "Straße")
_D_PLZ: Final = column_index(DK, "Postleitzahl")
_D_ORT: Final = column_index(DK, "Ort")
_D_LAND: Final = column_index(DK, "Land")
_D_EMAIL: Final = column_index(DK, "E-Mail")

#: Sachkontenrahmen header values.
CHARTS: Final = {"SKR03": "03", "SKR04": "04"}

#: The standard Automatikkonten per chart (4-digit numbers → implied key): the table lives
#: in engine.formats.automatic_accounts (docs/datev.md, "Automatikkonten").
AUTOMATIC_ACCOUNTS: Final = STANDARD_KEYS

#: Kinds of a Debitoren/Kreditoren file, and the word its messages use for a partner.
_PARTNER_WORD: Final = {"debtors": "Debitor", "creditors": "Kreditor"}
_PARTNER_FILE: Final = {"debtors": "Debitoren", "creditors": "Kreditoren"}

HERKUNFT: Final = "RE"
EXPORTED_BY: Final = "buchex"
CURRENCY: Final = "EUR"

_BEZEICHNUNG_CHAR: Final = re.compile(r"[\w.\-/ ]")

# Mended values are cached per (column, raw value): the same over-long product text or
# customer name recurs thousands of times. Cleared when full, so memory stays bounded.
_CACHE_MAX: Final = 4096

Mended = tuple[str | None, tuple[str, ...]]  # (value or None if refused, messages)


def mend(column: Column, raw: str) -> Mended:
    """Make `raw` acceptable for `column` by the documented rules.

    Returns (value, warnings) or (None, (reason,)) when no rule can mend it. Messages are
    German and start with the column name.
    """
    accepts = _accepts(column)
    if accepts(raw) is not None:
        return raw, ()
    name = column.name
    try:
        value, changed = transliterate(raw, column.charset)
    except UnencodableCharacterError as exc:
        label = unicodedata.name(exc.char, f"U+{ord(exc.char):04X}")
        return None, (
            f"{name}: Zeichen {exc.char!r} ({label}) an Stelle {exc.position + 1} von "
            f"„{raw}“ ist in Windows-1252 nicht darstellbar und hat keine Umschreibung",
        )
    notes: list[str] = []
    if changed:
        notes.append(f"{name} umgeschrieben: „{raw}“ → „{value}“")
    limit = column.max_len
    if limit is not None and len(value) > limit:
        if not column.truncatable:
            return None, (
                f"{name} „{value}“ hat {len(value)} Zeichen, erlaubt sind höchstens {limit}; "
                "ein Kennzeichen wird nicht gekürzt",
            )
        value = value[:limit]
        notes.append(f"{name} gekürzt auf {limit} Zeichen: „{value}“ (vorher {len(raw)})")
    if accepts(value) is None:
        return None, (f"{name} „{value}“ entspricht nicht dem DATEV-Format",)
    return value, tuple(notes)


@functools.cache
def _accepts(column: Column) -> Callable[[str], re.Match[str] | None]:
    """`field_ok` of a column as one compiled regex (`datev_spec.acceptor`), made once:
    `mend` runs for every booking whose text needs mending (a sixth of the demo's), and the
    regex is several times faster than `field_ok`'s steps."""
    return acceptor(column)


def created_stamp(now: datetime) -> str:
    """Header field "Erzeugt am": JJJJMMTTHHMMSSFFF."""
    return now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"


def bezeichnung(text: str) -> str:
    """A header Bezeichnung (<= 30 of letters, digits, `. - /` and space) from any text.

    Characters outside that set are transliterated if possible, else become a space;
    spaces are collapsed, then the text is cut to 30. A label we compose, not booking data,
    so no warning.
    """
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if _BEZEICHNUNG_CHAR.fullmatch(ch) and encodable(ch):
            out.append(ch)
            continue
        try:
            spelled, _ = transliterate(ch, _BEZEICHNUNG_CHAR, fallback=" ")
        except UnencodableCharacterError:
            spelled = " "
        out.append(spelled)
    return " ".join("".join(out).split())[:30].strip()


def render_line(columns: Sequence[Column], values: Sequence[str]) -> str:
    """One line as the writer renders it (csv + `Bare`), for header lines and tests."""
    buf = io.StringIO()
    csv.writer(buf, DatevDialect).writerow(
        [
            value if column.quoted else Bare(value)
            for column, value in zip(columns, values, strict=True)
        ]
    )
    return buf.getvalue()


# ---------------------------------------------------------------------------------------
# Buchungsstapel rows, built from the bindings
# ---------------------------------------------------------------------------------------
#
# `BUCHUNGSSTAPEL_BINDINGS` says what every column holds. Columns with a fixed value (empty,
# a constant, the client's Festschreibung) are the row template; the others become one
# statement group each, in `BUCHUNGSSTAPEL_FILL_ORDER`, of one generated function
# `booking_row(booking, report)`: `_row_source` writes it from the table, it is compiled
# once per process and bound per writer to that writer's caches (its globals).
#
# Why generated code (the fast path): this is the export's hot loop. In the export
# benchmark (`python -m bench.export_datev 300000`) booking_row takes about 2.6 µs of some
# 12 µs per row. Walking the bindings per row instead, with one prepared closure per filled
# column (14 of them), measured 3.5 against 2.7 µs per row on the same bookings: about 7 %
# more for the whole export. The generated function is the straight-line code one would
# write by hand, so the table stays the only place that says which column gets what.

#: The fast checks of the columns the writer checks against their `field_ok`.
_ACCEPT: Final = {
    index: acceptor(column)
    for index, (column, binding) in enumerate(zip(BS, BUCHUNGSSTAPEL_BINDINGS, strict=True))
    if binding.mend in ("refuse", "mend")
}

#: Columns whose pattern is "any text without control characters, at most n": printable
#: ASCII of at most n characters is accepted (charset None, so every character of it is
#: Windows-1252 text). Checked with three C calls before the regex (~3× faster for the
#: common case: a Buchungstext in plain ASCII); anything else still goes to the regex.
_ANY_TEXT: Final = re.compile(r"\^\[\^\\x00-\\x1f\\x7f\]\{0,([0-9]+)\}\$")


def _any_text_limit(column: Column) -> int | None:
    """n if `column` takes any text without control characters up to n, else None."""
    if column.charset is not None or column.pattern is None or column.required:
        return None
    match = _ANY_TEXT.fullmatch(column.pattern.pattern)
    if match is None or column.max_len != int(match.group(1)):
        return None
    return column.max_len


_ASCII_FAST: Final = {
    index: limit for index in _ACCEPT if (limit := _any_text_limit(BS[index])) is not None
}


def _ascii_check(index: int, name: str) -> str:
    """The fast pre-check of column `index` in the generated code ("" if it has none)."""
    limit = _ASCII_FAST.get(index)
    if limit is None:
        return ""
    return f"(len({name}) <= {limit} and {name}.isascii() and {name}.isprintable()) or "


#: Columns 0 .. _HEAD - 1 are those a booking can fill; every later one holds the same
#: value in every row of a writer (the compact rows' line end, `DatevFormat`).
_HEAD: Final = 1 + max(
    column_index(BS, b.column)
    for b in BUCHUNGSSTAPEL_FILL_ORDER
    if b.value not in ("empty", "lock", "constant") or b.fields
)

#: Names of the generated function other than the booking's fields.
_LOCALS: Final = frozenset(
    {"booking", "report", "row", "ok", "value", "raw", "key", "checked", "bu", "note", "error"}
)


def _row_source(
    bindings: Sequence[Binding], fields: Sequence[str], optional: frozenset[str]
) -> str:
    """The source of `booking_row(booking, report)` for `bindings` (in fill order).

    `fields` are the booking's fields in tuple order (`Booking._fields`), `optional` those
    that may be None. Raises ValueError for a binding no rule below can write.
    """
    if _LOCALS & set(fields):
        raise ValueError(f"booking fields {sorted(_LOCALS & set(fields))} clash")
    if "journal_no" not in fields:  # problems are reported by journal number
        raise ValueError("the booking has no journal_no")
    lines = [
        "def booking_row(booking, report):",
        f"    ({', '.join(fields)},) = booking",
        "    row = TEMPLATE.copy()",
        "    ok = True",
    ]
    for binding in bindings:
        unknown = [name for name in binding.fields if name not in fields]
        if unknown:
            raise ValueError(f"{binding.column}: the booking has no field {unknown}")
        index = column_index(BS, binding.column)
        code = _statements(index, binding, BS[index], optional)
        if code:
            lines.append(f"    # {index + 1}. {binding.column}: {binding.value}, {binding.mend}")
            lines += [f"    {line}" for line in code]
    lines.append("    return row if ok else None")
    return "\n".join(lines) + "\n"


def _statements(
    index: int, binding: Binding, column: Column, optional: frozenset[str]
) -> list[str]:
    """What fills column `index` of a row, by the binding's value and mend rule."""
    i = index

    def wrap(expr: str) -> str:  # the value's type carries the column's quoting (`Bare`)
        return expr if column.quoted else f"Bare({expr})"

    name = binding.fields[0] if binding.fields else ""
    refuse = ["    ok = False", f"    report.refuse(journal_no, L{i}, M{i}.format(value={name}))"]
    keep = ["if value is None:", "    ok = False", "else:", f"    row[{i}] = {wrap('value')}"]

    def only_if_set(code: list[str]) -> list[str]:
        if name not in optional:
            return code
        return [f"if {name} is not None:", *(f"    {line}" for line in code)]

    match binding.value, binding.mend:
        case ("empty" | "lock", "fits"):
            return []  # in the template
        case ("constant", "fits"):
            return only_if_set([f"row[{i}] = K{i}"]) if name else []
        case ("digits", "fits"):
            return only_if_set([f"row[{i}] = {wrap(f'str({name})')}"])
        case ("ttmm", "fits"):  # few distinct days: cached
            ttmm = f"'%02d%02d' % ({name}.day, {name}.month)"
            return only_if_set(
                [
                    f"value = C{i}.get({name})",
                    "if value is None:",
                    f"    value = C{i}[{name}] = {wrap(ttmm)}",
                    f"row[{i}] = value",
                ]
            )
        case ("cents", "refuse"):  # X: the least amount the column's length cannot hold
            return only_if_set(
                [
                    f"if 0 < {name} < X{i}:",
                    f"    row[{i}] = " + wrap(f"'%d,%02d' % divmod({name}, 100)"),
                    "else:",
                    *refuse,
                ]
            )
        case ("as_is", "refuse"):
            return only_if_set(
                [f"if A{i}({name}) is not None:", f"    row[{i}] = {wrap(name)}", "else:", *refuse]
            )
        case ("as_is", "account") if not column.quoted:  # valid accounts cached, as Bare
            return only_if_set(
                [
                    f"value = ACCOUNTS.get({name})",
                    "if value is None:",
                    f"    value = check_account({name}, journal_no, L{i}, report)",
                    "if value is None:",
                    "    ok = False",
                    "else:",
                    f"    row[{i}] = value",
                ]
            )
        case ("as_is", "automatic") if len(binding.fields) == 3:
            # Only Automatikkonten matter for the check: keying the cache on them (not on
            # every debtor account) keeps it as small as the set of tax keys.
            accounts = ", ".join(f"{a} if {a} in AUTOMATIC else ''" for a in binding.fields[1:])
            return [
                f"if {name}:",
                f"    key = ({name}, {accounts})",
                "    checked = TAX.get(key)",
                "    if checked is None:",
                "        checked = TAX[key] = check_tax(*key)",
                "    bu, note, error = checked",
                "    if error is not None:",
                "        ok = False",
                f"        report.refuse(journal_no, L{i}, error)",
                "    else:",
                f"        row[{i}] = {wrap('bu')}",
                "        if note is not None:",
                f"            report.warn(journal_no, L{i}, note)",
            ]
        case ("as_is", "mend"):  # many distinct values: checked, mended only if needed
            return only_if_set(
                [
                    f"if {_ascii_check(i, name)}A{i}({name}) is not None:",
                    f"    row[{i}] = {wrap(name)}",
                    "else:",
                    f"    value = fix({i}, {name}, journal_no, report, None)",
                    *(f"    {line}" for line in keep),
                ]
            )
        case ("name", "mend"):  # few distinct codes: the clean value cached per code
            return only_if_set(
                [
                    f"value = C{i}.get({name})",
                    "if value is None:",
                    f"    value = fix({i}, N{i}.get({name}, {name}), journal_no, report, {name})",
                    *keep,
                ]
            )
        case ("cost_centre", "mend") if len(binding.fields) == 2:
            return [
                f"raw = {name}",
                "if raw is None:",
                f"    raw = BRANCH_CC.get({binding.fields[1]})",
                "if raw is not None:",
                f"    value = C{i}.get(raw)",
                "    if value is None:",
                f"        value = fix({i}, raw, journal_no, report, raw)",
                *(f"    {line}" for line in keep),
            ]
    raise ValueError(f"{binding.column}: no rule writes {binding.value} with {binding.mend}")


#: Ends a compact row in `_TailWriter`'s buffer until `flush` puts the row's constant rest
#: there. No field the writer fills can hold it (every filled column is checked against
#: Windows-1252 text without control characters, or made of digits).
_MARK: Final = "\x00"


class _TailWriter:
    """csv rows into a list of lines, each ended by `_MARK`; `flush` writes them to the
    file with the constant rest of the line (`end`) in place of each mark: one `write`
    (and one Windows-1252 encoding) per batch instead of per row.

    `csv.writer` quotes a field that holds a character of its line terminator, so the
    constant rest (full of `;`, `"` and digits) cannot be the terminator itself."""

    __slots__ = ("_end", "_fh", "_lines", "write", "writerow")

    def __init__(self, fh: TextIO, end: str) -> None:
        self._fh = fh
        self._end = end
        self._lines: list[str] = []
        self.write = self._lines.append  # what csv.writer writes to
        self.writerow = csv.writer(self, DatevDialect, lineterminator=_MARK).writerow

    def flush(self) -> None:
        if self._lines:
            self._fh.write("".join(self._lines).replace(_MARK, self._end))
            self._lines.clear()


@functools.cache
def _row_code() -> CodeType:
    """`booking_row` compiled from the bindings, once per process."""
    # The caller streams Bookings, so engine.ledger is loaded already.
    from engine.ledger import OPTIONAL_BOOKING_FIELDS, Booking

    source = _row_source(BUCHUNGSSTAPEL_FILL_ORDER, Booking._fields, OPTIONAL_BOOKING_FIELDS)
    filename = "<engine.formats.datev booking_row>"
    # Tracebacks and debuggers show the generated lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return compile(source, filename, "exec")


class DatevFormat:
    """DATEV-Format for one client in one run (a `engine.formats.FormatWriter`)."""

    encoding = ENCODING
    max_rows: int | None = MAX_ROWS_PER_FILE
    #: the row's BU-Schlüssel, as written (control file totals per key)
    tax_key_column: int | None = I_BU
    #: the row's Beleglink: engine.export sets `BEDI "<GUID>"` for a booking whose image
    #: goes out in the run's Belegbilder package (engine.formats.datev_documents)
    beleglink_column: int = I_BELEGLINK
    #: The 125 fields of a booking, or None if it was refused (reported): made from
    #: BUCHUNGSSTAPEL_BINDINGS (`_row_source`), one per writer.
    booking_row: Callable[[Booking, Report], list[Any] | None]
    #: the same, but only the first `_HEAD` fields: for `compact_row_writer` (the export)
    compact_booking_row: Callable[[Booking, Report], list[Any] | None]

    def __init__(
        self,
        *,
        client: Client,
        catalog: Catalog,
        config_name: str,
        now: datetime,
        mandant: str,
        options: Mapping[str, str] | None = None,
        own_automatic_accounts: Mapping[str, int | None] | None = None,
        **_: object,
    ) -> None:
        self.client = client
        self.now = now
        self.mandant = mandant
        self.bezeichnung = bezeichnung(f"buchex {config_name}")
        chart = CHARTS.get(client.chart)
        if chart is None:
            raise ValueError(
                f"Mandant {client.id}: Kontenrahmen „{client.chart}“ unbekannt (SKR03 oder SKR04)"
            )
        self.chart = chart
        check_fiscal_year_start(client.fiscal_year_start)
        if not 4 <= client.account_length <= 8:
            raise ValueError(
                f"Mandant {client.id}: Sachkontenlänge {client.account_length} "
                "ist ungültig (DATEV: 4 bis 8)"
            )
        # Automatikkonten as this client's books write them (chart, Sachkontenlänge, own).
        self._automatic = automatic_table(
            client.chart, client.account_length, own_automatic_accounts
        )
        self._personal = account_pattern(client.account_length, personal=True)
        # Fail before any work if the master data cannot make a valid header.
        self._header_values("bookings", now.date(), now.date(), now.date())
        self._header_values("debtors", now.date(), None, None)

        self._deb_template: list[Any] = ["" if c.quoted else BARE_EMPTY for c in DK]

        self._accounts: dict[str, Bare] = {}
        self._account_errors: dict[str, str] = {}
        self._tax: dict[tuple[str, str, str], tuple[str | None, str | None, str | None]] = {}
        self._mended: dict[tuple[int, str], Mended] = {}
        #: per column of value "name" or "cost_centre": code → its value, known to fit
        self._clean: dict[int, dict[str, str]] = {}
        self.booking_row = self._row_builder(catalog)

    def _row_builder(self, catalog: Catalog) -> Callable[[Booking, Report], list[Any] | None]:
        """`booking_row` bound to this writer: the compiled bindings (`_row_code`) with
        this client's template, caches and catalog names as their globals."""
        template: list[Any] = []
        names = {
            "document_type": {code: t.name for code, t in catalog.document_types.items()},
            "branch_id": {b.id: b.name for b in catalog.branches.values()},
            "payment_method": {code: m.name for code, m in catalog.payment_methods.items()},
        }
        space: dict[str, Any] = {
            "TEMPLATE": template,
            "Bare": Bare,
            "ACCOUNTS": self._accounts,
            "check_account": self._account,
            "AUTOMATIC": self._automatic,
            "TAX": self._tax,
            "check_tax": self._check_tax,
            "fix": self._fix,
            "BRANCH_CC": {b.id: b.cost_center for b in catalog.branches.values()},
        }
        for i, (column, binding) in enumerate(zip(BS, BUCHUNGSSTAPEL_BINDINGS, strict=True)):
            fixed = ""  # the column's value in every row
            if binding.value == "constant":
                space[f"K{i}"] = binding.constant if column.quoted else Bare(binding.constant)
                fixed = "" if binding.fields else binding.constant  # fields: where they are set
            elif binding.value == "lock":
                fixed = self.festschreibung
            template.append(fixed if column.quoted else Bare(fixed) if fixed else BARE_EMPTY)
            if binding.value == "empty":
                continue
            space[f"L{i}"] = binding.label or column.name
            space[f"M{i}"] = binding.refused
            cache: dict[Any, Any] = {}
            space[f"C{i}"] = cache
            if binding.value in ("name", "cost_centre"):
                self._clean[i] = cache  # `_fix` remembers values that fit (per code)
            if i in _ACCEPT:
                space[f"A{i}"] = _ACCEPT[i]
            if binding.value == "name":
                space[f"N{i}"] = names[binding.fields[0]]
            if binding.value == "cents" and column.max_len is not None:
                space[f"X{i}"] = 10 ** (column.max_len - 1)  # "E,CC" has len(E) + 3 places
        exec(_row_code(), space)  # our own code, made from our own table
        row_builder: Callable[[Booking, Report], list[Any] | None] = space["booking_row"]
        # The compact twin for engine.export's hot loop: the same code (same caches) on
        # the template cut after the last column a booking fills; the constant rest of
        # the line (Festschreibung and the empty columns) is the writer's line end
        # (`compact_row_writer`), so csv handles 37 fields per row instead of 125.
        compact = {**space, "TEMPLATE": template[:_HEAD]}
        exec(_row_code(), compact)
        self.compact_booking_row = compact["booking_row"]
        buf = io.StringIO()
        csv.writer(buf, DatevDialect, lineterminator=LINE_END).writerow(
            [BARE_EMPTY, *template[_HEAD:]]
        )
        self._line_end = buf.getvalue()  # ";…;0;…\r\n": the columns after _HEAD
        return row_builder

    # -- plumbing for engine.export

    def row_writer(self, fh: TextIO) -> RowWriter:
        return csv.writer(fh, DatevDialect)

    def compact_row_writer(self, fh: TextIO) -> _TailWriter:
        """The writer of `compact_booking_row`'s rows: each line ends with the constant
        columns after `_HEAD`, so the file is byte for byte what `row_writer` makes of
        `booking_row`'s full rows. Buffers: the caller calls `flush` now and then and
        before closing `fh` (engine.export does)."""
        return _TailWriter(fh, self._line_end)

    @property
    def festschreibung(self) -> str:
        """Header field and row field Festschreibung: 1 if the client locks its batches."""
        return "1" if self.client.lock_batches else "0"

    # -- document images (issue 17): DATEV XML-Schnittstelle online, datev_documents

    def document_guid(self, client_id: str, journal_no: int, file_name: str) -> str:
        """The same image of the same booking always gets the same GUID (a redelivery
        links what the advisor may already have)."""
        from engine.formats.datev_documents import document_guid

        return document_guid(client_id, str(journal_no), file_name)

    def document_link(self, guid: str) -> str:
        from engine.formats.datev_documents import beleglink

        return beleglink(guid)

    def document_problem(
        self, journal_no: int, file_name: str, media_type: str | None, size: int | None
    ) -> str | None:
        from engine.formats.datev_documents import image_problem

        return image_problem(journal_no, file_name, media_type, size)

    def document_package(self, path: Path) -> Any:
        from engine.formats.datev_documents import DocumentPackage

        client = self.client
        return DocumentPackage(
            path,
            created=self.now,
            description=f"Belegbilder {self.bezeichnung}",
            consultant_no=client.consultant_no,
            client_no=client.client_no,
            client_name=client.name,
        )

    def file_name(self, info: FileInfo) -> str:
        if info.kind == "documents":
            return file_name("Belegbilder", self.mandant, info, self.now, ext="zip")
        if info.kind in _PARTNER_FILE:
            return file_name(f"EXTF_{_PARTNER_FILE[info.kind]}", self.mandant, info, self.now)
        kind = "Buchungsstapel_Eingang" if info.kind == "incoming" else "Buchungsstapel"
        return file_name(f"EXTF_{kind}", self.mandant, info, self.now)

    def file_head(self, info: FileInfo) -> bytes:
        if info.kind == "documents":
            return b""  # a ZIP package: the file is its body
        if info.kind in _PARTNER_FILE:
            values = self._header_values(info.kind, self.now.date(), None, None)
            headings = DK
        else:
            # The period the format's split put this file in (engine.formats.periods).
            assert info.date_from is not None and isinstance(info.period, FiscalPeriod)
            values = self._header_values(
                info.kind, info.period.fiscal_year_start, info.date_from, info.date_to
            )
            headings = BS
        head = render_line(HEADER_FIELDS, values)
        # Headings are bare in DATEV's sample files; none holds ; or ".
        head += SEPARATOR.join(c.name for c in headings) + LINE_END
        return head.encode(ENCODING)

    def _header_values(
        self, kind: str, year_day: date, date_from: date | None, date_to: date | None
    ) -> list[str]:
        """The 31 header values; raises ValueError (German) if the table rejects one."""
        client = self.client
        wj = fiscal_year_start(year_day, client.fiscal_year_start)
        booking = kind not in _PARTNER_FILE
        name = "Buchungsstapel" if booking else "Debitoren/Kreditoren"
        values = [
            "EXTF",
            str(VERSION),
            str(FORMAT_CATEGORY[name]),
            name,
            str(FORMAT_VERSION[name]),
            created_stamp(self.now),
            "",  # Importiert
            HERKUNFT,
            EXPORTED_BY,
            "",  # Importiert von
            str(client.consultant_no),
            str(client.client_no),
            f"{wj:%Y%m%d}",
            str(client.account_length),
            f"{date_from:%Y%m%d}" if date_from else "",
            f"{date_to:%Y%m%d}" if date_to else "",
            self.bezeichnung if booking else "",
            "",  # Diktatkürzel
            "1" if booking else "",  # Buchungstyp: Finanzbuchführung
            "0" if booking else "",  # Rechnungslegungszweck: unabhängig
            self.festschreibung if booking else "",
            CURRENCY if booking else "",
            "",
            "",
            "",
            "",
            self.chart,
            "",
            "",
            "",
            "",
        ]
        for column, value in zip(HEADER_FIELDS, values, strict=True):
            if not field_ok(column, value):
                raise ValueError(
                    f"Mandant {client.id}: Kopfzeilenfeld {column.name} „{value}“ "
                    "entspricht nicht dem DATEV-Format"
                )
        return values

    # -- Buchungsstapel rows: `booking_row` is made in `_row_builder`; the rules it calls

    def _fix(
        self, index: int, raw: str, jn: int | None, report: Report, code: str | None = None
    ) -> str | None:
        """`mend` with a cache; reports the outcome for this booking.

        A value that needed no change is also remembered in the column's clean cache
        (under `code` if given, e.g. a branch id whose name is the value), so the next
        booking finds it with one dict lookup.
        """
        key = (index, raw)
        result = self._mended.get(key)
        if result is None:
            if len(self._mended) >= _CACHE_MAX:
                self._mended.clear()
            result = self._mended[key] = mend(BS[index], raw)
        value, messages = result
        if value is None:
            report.refuse(jn, BS[index].name, messages[0])
            return None
        if messages:
            for message in messages:
                report.warn(jn, BS[index].name, message)
        else:
            clean = self._clean.get(index)
            if clean is not None and len(clean) < _CACHE_MAX:
                clean[raw if code is None else code] = value
        return value

    def _account(self, account: str, jn: int, field: str, report: Report) -> Bare | None:
        error = self._account_errors.get(account)
        if error is None:
            error = self._account_problem(account)
            if error is None:
                value = self._accounts[account] = Bare(account)
                return value
            self._account_errors[account] = error
        report.refuse(jn, field, error)
        return None

    def _account_problem(self, account: str) -> str | None:
        """Why `account` cannot be a Konto/Gegenkonto of this client, or None."""
        length = self.client.account_length
        if not (account.isascii() and account.isdigit()):
            return f"„{account}“ ist keine Kontonummer (nur Ziffern)"
        if len(account) > 9:
            return f"{account} hat {len(account)} Stellen, DATEV erlaubt höchstens 9"
        if not account.strip("0"):
            return f"{account} ist kein Konto (nur Nullen)"
        if len(account) <= length:
            return None  # Sachkonto
        if len(account) == length + 1 and self._personal.fullmatch(account):
            return None  # Personenkonto: Sachkontenlänge + 1 digits
        return (
            f"{account} hat {len(account)} Stellen; bei Sachkontenlänge {length} haben "
            f"Sachkonten höchstens {length} und Personenkonten genau {length + 1} Stellen "
            "(ohne führende Null)"
        )

    def _check_tax(
        self, tax: str, account: str, contra: str
    ) -> tuple[str | None, str | None, str | None]:
        """(value for BU-Schlüssel, warning, error) for a tax key on account/contra."""
        column = BS[I_BU]
        if not field_ok(column, tax):
            return None, None, f"„{tax}“ ist kein BU-Schlüssel (1 bis {column.max_len} Ziffern)"
        accounts = tuple(a for a in (account, contra) if a)
        return tax_key_verdict(tax, accounts, self._automatic, self.client.chart)

    # -- Debitoren/Kreditoren rows

    def partner_rows(
        self,
        kind: FileKind,
        partners: Sequence[Partner],
        first_use: Mapping[str, int],
        report: Report,
    ) -> list[list[Any]]:
        """One Debitoren/Kreditoren row per partner (Adressattyp 0: "keine Angabe"); a
        debtor file and a creditor file have the same layout (Formatkategorie 16).

        Problems name the journal number of the first exported booking that referenced
        the partner, so the run record leads to it.
        """
        word = _PARTNER_WORD.get(kind, "Partner")
        rows: list[list[Any]] = []
        for partner in partners:
            jn = first_use.get(partner.account)
            row = self._deb_template.copy()
            ok = True
            if self._personal.fullmatch(partner.account):
                row[_D_KONTO] = Bare(partner.account)
            else:
                ok = False
                length = self.client.account_length
                report.refuse(
                    jn,
                    "Konto",
                    f"{word} {partner.account}: ein Personenkonto hat bei Sachkontenlänge "
                    f"{length} genau {length + 1} Stellen (ohne führende Null)",
                )
            row[_D_ADRESSATTYP] = "0"
            vat = (partner.vat_id or "").replace(" ", "")
            fields: list[tuple[int, str | None]] = [
                (_D_NAME, partner.name),
                (_D_STRASSE, partner.street),
                (_D_PLZ, partner.postcode),
                (_D_ORT, partner.city),
                (_D_LAND, (partner.country or "").upper() or None),
                (_D_EMAIL, partner.email),
            ]
            if vat:
                fields += [(_D_EU_LAND, vat[:2].upper()), (_D_EU_USTID, vat[2:])]
            if partner.street:
                row[_D_ADRESSART] = "STR"
            for index, raw in fields:
                if not raw:
                    continue
                value, messages = mend(DK[index], raw)
                name = DK[index].name
                if value is None:
                    ok = False
                    report.refuse(jn, name, f"{word} {partner.account}: {messages[0]}")
                    continue
                for message in messages:
                    report.warn(jn, name, f"{word} {partner.account}: {message}")
                row[index] = value
            if ok:
                rows.append(row)
        return rows


# ---------------------------------------------------------------------------------------
# Validator: a written file against the table
# ---------------------------------------------------------------------------------------


def validate_file(path: Path, *, limit: int = 50) -> list[str]:
    """Check a DATEV file against the column table; return German problems (at most limit).

    Checks: Windows-1252, CRLF line ends, 31 header fields each `field_ok`, the headings
    line, per row the column count, every field `field_ok`, the quoting (each line must be
    exactly what `datev_spec.render_field` makes of its values), accounts against the
    header's Sachkontenlänge, Belegdatum within Datum vom/bis, at most 99,999 rows; in a
    Buchungsstapel also Festschreibung in every row equal to the header's, and no
    BU-Schlüssel on a standard Automatikkonto of the header's chart and Sachkontenlänge.
    """
    problems: list[str] = []

    def problem(message: str) -> bool:
        problems.append(message)
        return len(problems) >= limit

    data = Path(path).read_bytes()
    try:
        text = data.decode(ENCODING)
    except UnicodeDecodeError as exc:
        return [f"kein Windows-1252 (Byte {exc.start})"]
    if not text.endswith(LINE_END):
        problem("letzte Zeile endet nicht mit CRLF")
    lines = text.split(LINE_END)
    if lines and lines[-1] == "":
        lines.pop()
    if any("\n" in line or "\r" in line for line in lines):
        return [*problems, "Zeilenende ohne CRLF oder Zeilenumbruch in einem Feld"]
    if len(lines) < 2:
        return [*problems, "Kopfzeile oder Spaltenüberschriften fehlen"]

    header = _parse(lines[0])
    if len(header) != len(HEADER_FIELDS):
        return [*problems, f"Kopfzeile hat {len(header)} statt {len(HEADER_FIELDS)} Feldern"]
    for column, value in zip(HEADER_FIELDS, header, strict=True):
        if not field_ok(column, value) and problem(f"Kopfzeile: {column.name} „{value}“"):
            return problems
    if _render(HEADER_FIELDS, header) != lines[0]:
        problem("Kopfzeile: Anführungszeichen weichen von DATEV ab")
    category = header[2]
    columns = BS if category == str(FORMAT_CATEGORY["Buchungsstapel"]) else DK
    if SEPARATOR.join(c.name for c in columns) != lines[1]:
        problem("Spaltenüberschriften weichen von der DATEV-Tabelle ab")
    rows = lines[2:]
    if len(rows) > MAX_ROWS_PER_FILE:
        problem(f"{len(rows)} Zeilen, höchstens {MAX_ROWS_PER_FILE} erlaubt")

    length = int(header[13]) if header[13].isdigit() else 4
    personal = account_pattern(length, personal=True) if 4 <= length <= 8 else None
    booking = columns is BS
    year_from = header[14][:4] if booking else ""
    period = (header[14], header[15])
    lock = header[20]
    chart = {v: k for k, v in CHARTS.items()}.get(header[26], "")
    automatic = automatic_table(chart, length) if booking and 4 <= length <= 8 else {}
    for number, line in enumerate(rows, start=3):
        values = _parse(line)
        if len(values) != len(columns):
            if problem(f"Zeile {number}: {len(values)} statt {len(columns)} Feldern"):
                return problems
            continue
        for column, value in zip(columns, values, strict=True):
            if not field_ok(column, value) and problem(
                f"Zeile {number}: {column.name} „{value}“ entspricht nicht dem DATEV-Format"
            ):
                return problems
        if _render(columns, values) != line and problem(
            f"Zeile {number}: Anführungszeichen weichen von DATEV ab"
        ):
            return problems
        accounts = (values[I_KONTO], values[I_GEGENKONTO]) if booking else (values[_D_KONTO],)
        for account in accounts:
            if personal is None or not account:
                continue
            wrong = (len(account) > length or not booking) and not personal.fullmatch(account)
            if wrong and problem(f"Zeile {number}: Konto {account} passt nicht zur Länge"):
                return problems
        if booking and values[I_FESTSCHREIBUNG] != lock:
            shown = values[I_FESTSCHREIBUNG] or "leer"
            if problem(f"Zeile {number}: Festschreibung {shown}, Kopfzeile sagt {lock}"):
                return problems
        if booking and values[I_BU]:
            for account in (values[I_KONTO], values[I_GEGENKONTO]):
                if account.lstrip("0") in automatic and problem(
                    f"Zeile {number}: BU-Schlüssel {values[I_BU]} auf Automatikkonto {account}"
                ):
                    return problems
        if booking and values[I_BELEGDATUM]:
            ttmm = values[I_BELEGDATUM]
            stamp = f"{year_from}{ttmm[2:]}{ttmm[:2]}"
            if not period[0] <= stamp <= period[1] and problem(
                f"Zeile {number}: Belegdatum {ttmm} außerhalb {period[0]}–{period[1]}"
            ):
                return problems
    return problems


def _parse(line: str) -> list[str]:
    return next(csv.reader([line], delimiter=SEPARATOR, quotechar=QUOTE, strict=True))


def _render(columns: Sequence[Column], values: Sequence[str]) -> str:
    return SEPARATOR.join(render_field(c, v) for c, v in zip(columns, values, strict=True))
