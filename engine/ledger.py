"""The ledger (SPEC §5): schema of the embedded SQLite file and a read side for any database.

Writers of the embedded file (`engine.ledger_demo`, `engine.ledger_import`) use `sqlite3`
directly for speed. Everything that only reads goes through SQLAlchemy Core with lightweight
table clauses that name just the contract's columns, so a user's own database works as long as
it has tables *or views* with these columns, whatever their declared types. Ids (clients,
branches) are handed to callers as `str`; the database's own values are kept internally so
queries compare like with like (an INTEGER id column in PostgreSQL does not accept `'1'`).

The booking stream of the embedded file (`Ledger.bookings` on a plain `sqlite:///file`
URL) is the exception: its statement is built and compiled by SQLAlchemy once, then each
page is read with a stdlib `sqlite3` cursor into plain tuples that become `Booking`s in one
C call (text columns CAST in SQL, dates from a per-stream cache), because SQLAlchemy's row
and result machinery cost more than the rest of reading (issue 15). Other databases keep
SQLAlchemy Core throughout.

Locking: readers open a connection per call (NullPool for SQLite) and stream bookings in
short keyset-paginated pages, so no read transaction stays open between pages and a writer
never waits longer than one page. A replaced ledger file (`buchex ledger demo --replace`) is
picked up by the next call because no pooled connection keeps the old inode open.

Document images ("Belegbilder", README): the optional `documents` table or view. Without
one a ledger has no documents (no error). `Ledger.documents` lists metadata per client and
journal numbers in pages, `Ledger.open_document` streams the bytes in chunks (embedded
BLOBs through `sqlite3.Connection.blobopen`, files from disk).
"""

from __future__ import annotations

import contextlib
import math
import mimetypes
import os
import re
import sqlite3
import stat
from collections import namedtuple
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol
from urllib.parse import quote

import filelock

from engine.errors import LedgerError
from engine.paths import DataDir, private_umask

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

# SQLAlchemy is imported only for a database URL other than the embedded file (it takes
# ~0.12 s to load): the embedded `ledger.sqlite` is read with stdlib sqlite3 and plain SQL.

SCHEMA_VERSION: Final = 1

# The optional documents table (document images, "Belegbilder"): part of the schema of
# every new embedded ledger (SCHEMA_TABLES_SQL below); `buchex ledger import-documents`
# creates it in a ledger made before it existed. Readers treat it as optional.
SCHEMA_DOCUMENTS_SQL: Final = """
CREATE TABLE IF NOT EXISTS documents (
    client_id  INTEGER NOT NULL REFERENCES clients (id),
    journal_no INTEGER NOT NULL REFERENCES bookings (journal_no),
    file_name  TEXT    NOT NULL
               CHECK (file_name <> '' AND file_name NOT GLOB '*[/\\]*'),
    media_type TEXT    NOT NULL CHECK (media_type GLOB '?*/?*'),
    content    BLOB,
    path       TEXT,
    -- exactly one of the two: the document itself, or a file buchex can read
    CHECK ((content IS NULL) <> (path IS NULL)),
    -- also the index of `Ledger.documents` (one client, a range of journal numbers)
    UNIQUE (client_id, journal_no, file_name)
);
"""

SCHEMA_TABLES_SQL: Final = (
    """
CREATE TABLE clients (
    id                INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL CHECK (name <> ''),
    consultant_no     INTEGER NOT NULL CHECK (consultant_no BETWEEN 1001 AND 9999999),
    client_no         INTEGER NOT NULL CHECK (client_no BETWEEN 1 AND 99999),
    fiscal_year_start TEXT    NOT NULL DEFAULT '01-01'
                      CHECK (fiscal_year_start GLOB '[01][0-9]-[0-3][0-9]'),
    account_length    INTEGER NOT NULL DEFAULT 4 CHECK (account_length BETWEEN 4 AND 8),
    chart             TEXT    NOT NULL CHECK (chart IN ('SKR03', 'SKR04')),
    lock_batches      INTEGER NOT NULL DEFAULT 0 CHECK (lock_batches IN (0, 1))
);

CREATE TABLE branches (
    id          INTEGER PRIMARY KEY,
    client_id   INTEGER NOT NULL REFERENCES clients (id),
    name        TEXT    NOT NULL CHECK (name <> ''),
    cost_center TEXT,
    -- target of the composite foreign key in bookings: a branch belongs to one client
    UNIQUE (id, client_id)
);

CREATE TABLE document_types (
    code     TEXT    PRIMARY KEY CHECK (code <> ''),
    name     TEXT    NOT NULL,
    incoming INTEGER NOT NULL DEFAULT 0 CHECK (incoming IN (0, 1))
);

CREATE TABLE payment_methods (
    code TEXT PRIMARY KEY CHECK (code <> ''),
    name TEXT NOT NULL
);

CREATE TABLE partners (
    client_id INTEGER NOT NULL REFERENCES clients (id),
    account   TEXT    NOT NULL CHECK (account <> '' AND account NOT GLOB '*[^0-9]*'),
    kind      TEXT    NOT NULL CHECK (kind IN ('debtor', 'creditor')),
    name      TEXT    NOT NULL,
    street    TEXT,
    postcode  TEXT,
    city      TEXT,
    country   TEXT,
    vat_id    TEXT,
    email     TEXT,
    PRIMARY KEY (client_id, account)
);

CREATE TABLE bookings (
    journal_no      INTEGER PRIMARY KEY,
    client_id       INTEGER NOT NULL REFERENCES clients (id),
    branch_id       INTEGER NOT NULL,
    document_type   TEXT    NOT NULL REFERENCES document_types (code),
    document_no     TEXT    NOT NULL,
    document_date   TEXT    NOT NULL CHECK (date(document_date) IS document_date),
    amount_cents    INTEGER NOT NULL CHECK (amount_cents > 0),
    debit_credit    TEXT    NOT NULL CHECK (debit_credit IN ('S', 'H')),
    account         TEXT    NOT NULL CHECK (account <> '' AND account NOT GLOB '*[^0-9]*'),
    contra_account  TEXT    NOT NULL
                    CHECK (contra_account <> '' AND contra_account NOT GLOB '*[^0-9]*'),
    tax_key         TEXT,
    text            TEXT,
    payment_method  TEXT    REFERENCES payment_methods (code),
    partner_account TEXT,
    cost_center     TEXT,
    FOREIGN KEY (branch_id, client_id) REFERENCES branches (id, client_id)
);
"""
    + SCHEMA_DOCUMENTS_SQL
)

# Separate so the bulk loader can build the index after the rows are in (much faster).
SCHEMA_INDEX_SQL: Final = """
CREATE INDEX bookings_client_journal ON bookings (client_id, journal_no);
"""

SCHEMA_SQL: Final = SCHEMA_TABLES_SQL + SCHEMA_INDEX_SQL

BOOKING_COLUMNS: Final = (
    "journal_no",
    "client_id",
    "branch_id",
    "document_type",
    "document_no",
    "document_date",
    "amount_cents",
    "debit_credit",
    "account",
    "contra_account",
    "tax_key",
    "text",
    "payment_method",
    "partner_account",
    "cost_center",
)

# The contract of SPEC §5: what a user's own database must offer (tables or views).
CONTRACT: Final[dict[str, tuple[str, ...]]] = {
    "clients": (
        "id",
        "name",
        "consultant_no",
        "client_no",
        "fiscal_year_start",
        "account_length",
        "chart",
        "lock_batches",
    ),
    "branches": ("id", "client_id", "name", "cost_center"),
    "document_types": ("code", "name", "incoming"),
    "payment_methods": ("code", "name"),
    "partners": (
        "client_id",
        "account",
        "kind",
        "name",
        "street",
        "postcode",
        "city",
        "country",
        "vat_id",
        "email",
    ),
    "bookings": BOOKING_COLUMNS,
}


class _Tables(NamedTuple):
    """The contract's tables as SQLAlchemy constructs (external databases only)."""

    clients: sa.TableClause
    branches: sa.TableClause
    document_types: sa.TableClause
    payment_methods: sa.TableClause
    partners: sa.TableClause
    bookings: sa.TableClause


@cache
def _tables() -> _Tables:
    import sqlalchemy as sa

    def table(name: str) -> sa.TableClause:
        return sa.table(name, *(sa.column(c) for c in CONTRACT[name]))

    return _Tables(*(table(name) for name in _Tables._fields))


#: Row types of the embedded file's master data (attribute access like SQLAlchemy rows).
_ROW_TYPES: Final[dict[str, Any]] = {
    name: namedtuple(f"{name}_row", CONTRACT[name]) for name in CONTRACT
}

PAGE_SIZE: Final = 5000
#: Page size of the embedded file's booking stream (`Ledger._sqlite_pages`): 2,000 rows read
#: ~15 % faster than 5,000 (python -m bench.export_anchor), and a page is a shorter read.
EMBEDDED_PAGE_SIZE: Final = 2000
#: document_date values remembered per booking stream (a few thousand days at most)
_DAYS_MAX: Final = 50_000
#: `tuple.__new__`: a Booking from a row that already holds its values, in one C call
_new_tuple: Final = tuple.__new__
#: The bookings columns as the embedded file's fast path reads them: the text fields
#: (ids too) CAST to TEXT in SQL, which is what `str()` makes of SQLite's values, so a
#: row needs no conversion in Python but its date.
_EMBEDDED_SELECT: Final = ", ".join(
    f"bookings.{name}"
    if name in ("journal_no", "document_date", "amount_cents")
    else f"CAST(bookings.{name} AS TEXT) AS {name}"
    for name in BOOKING_COLUMNS
)


def _columns(name: str) -> str:
    return ", ".join(f"{name}.{c}" for c in CONTRACT[name])


def _pragma_columns(table: str) -> str:
    quoted = table.replace('"', '""')
    return f'PRAGMA table_info("{quoted}")'


def _marks(values: Sequence[Any]) -> str:
    """`IN` for the embedded file's SQL: placeholders, or false for no values."""
    return f"IN ({', '.join('?' * len(values))})" if values else "IN (NULL) AND 1 != 1"


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    consultant_no: int
    client_no: int
    fiscal_year_start: str  # 'MM-DD'
    account_length: int
    chart: str  # 'SKR03' | 'SKR04'
    lock_batches: bool


@dataclass(frozen=True)
class Branch:
    id: str
    client_id: str
    name: str
    cost_center: str | None


@dataclass(frozen=True)
class DocumentType:
    code: str
    name: str
    incoming: bool


@dataclass(frozen=True)
class PaymentMethod:
    code: str
    name: str


@dataclass(frozen=True)
class Catalog:
    clients: dict[str, Client]
    branches: dict[str, Branch]
    document_types: dict[str, DocumentType]
    payment_methods: dict[str, PaymentMethod]


@dataclass(frozen=True)
class Partner:
    client_id: str
    account: str
    kind: str  # 'debtor' | 'creditor'
    name: str
    street: str | None
    postcode: str | None
    city: str | None
    country: str | None
    vat_id: str | None
    email: str | None


class Booking(NamedTuple):
    """One booking; a NamedTuple rather than a dataclass because exports stream millions."""

    journal_no: int
    client_id: str
    branch_id: str
    document_type: str
    document_no: str
    document_date: date
    amount_cents: int
    debit_credit: str  # 'S' | 'H'
    account: str
    contra_account: str
    tax_key: str | None
    text: str | None
    payment_method: str | None
    partner_account: str | None
    cost_center: str | None


#: The Booking fields that may be NULL (typed `… | None` above); the others the read side
#: never leaves empty. For code that handles bookings by field name (export fingerprint,
#: the DATEV writer's generated row builder).
OPTIONAL_BOOKING_FIELDS: Final = frozenset(
    name for name, hint in Booking.__annotations__.items() if "None" in str(hint)
)


@dataclass(frozen=True)
class ClientStats:
    client_id: str
    name: str
    bookings: int
    debit_cents: int  # sum of amount_cents with debit_credit 'S'
    credit_cents: int  # sum of amount_cents with debit_credit 'H'
    first_journal_no: int | None
    last_journal_no: int | None
    first_date: str | None  # ISO 'YYYY-MM-DD'
    last_date: str | None
    debtors: int
    creditors: int

    @property
    def partners(self) -> int:
        return self.debtors + self.creditors


#: The optional `documents` table or view (document images, "Belegbilder"; README
#: "Belegbilder"): the columns `Ledger.documents` reads. `content` and `path` may each be
#: left out of a view (then NULL); at least one of them must be there.
DOCUMENTS_TABLE: Final = "documents"
DOCUMENT_COLUMNS: Final = ("client_id", "journal_no", "file_name", "media_type", "content", "path")
_DOCUMENT_REQUIRED: Final = DOCUMENT_COLUMNS[:4]
#: Largest chunk `Ledger.open_document` yields.
DOCUMENT_CHUNK: Final = 1 << 20
#: Journal numbers per page when `Ledger.documents` reads a `range`; numbers given one by
#: one go in IN lists of at most `_DOCUMENT_IN_MAX`.
_DOCUMENT_WINDOW: Final = 5000
_DOCUMENT_IN_MAX: Final = 500


@dataclass(frozen=True)
class DocumentRef:
    """One document image of a booking, as `Ledger.documents` lists it: metadata only;
    `Ledger.open_document(ref)` reads the bytes.

    `problem` is None for a document that can be delivered, else the German reason it
    cannot (file missing or unreadable, both or neither of content/path, an empty file…);
    `size` is then None when the size is unknown. `path` is the file (absolute) of a row with
    a path, None for a BLOB. `key` identifies the document within the ledger."""

    client_id: str
    journal_no: int
    file_name: str
    media_type: str
    size: int | None
    path: Path | None = None
    problem: str | None = None
    #: rowid of an embedded table's BLOB row (streamed with `sqlite3.Connection.blobopen`)
    rowid: int | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, int, str]:
        """(client_id, journal_no, file_name): stable across runs and reads."""
        return (self.client_id, self.journal_no, self.file_name)

    @property
    def where(self) -> str:
        """German: which document, for messages."""
        return f"Journalnummer {self.journal_no}, Beleg „{self.file_name}“"


# --------------------------------------------------------------------------- embedded file


def create_schema(path: Path) -> None:
    """Create a new, empty ledger file (0600) with the contract's schema.

    Refuses to touch an existing file: the ledger holds accounting data.
    """
    path = Path(path)
    if path.exists():
        raise LedgerError(f"Buchhaltungsdatenbank existiert bereits: {path}")
    with private_umask():
        conn = sqlite3.connect(path)
        try:
            conn.executescript(SCHEMA_SQL)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.commit()
        finally:
            conn.close()


def lock_path(path: Path) -> Path:
    """The lock file that serialises writers of the ledger file `path`."""
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def write_lock(path: Path, timeout: float = 60.0) -> Iterator[None]:
    """Held by every writer of the embedded file (import, demo replace).

    Readers never take it. It exists because replacing the file while an import is writing
    would let the import's rollback journal be replayed onto the new file.
    """
    lock = filelock.FileLock(lock_path(path), timeout=timeout, mode=0o600)
    try:
        with private_umask():
            lock.acquire()
    except filelock.Timeout as exc:
        raise LedgerError(
            f"Buchhaltungsdatenbank wird gerade von einem anderen Vorgang geschrieben: {path}"
        ) from exc
    try:
        yield
    finally:
        lock.release()


def missing_ledger_message(path: Path) -> str:
    return (
        f"Buchhaltungsdatenbank nicht gefunden: {path}. "
        "Mit »buchex ledger demo« eine Demo-Buchhaltung anlegen; "
        "»buchex ledger import DATEI« ergänzt danach eigene Buchungen."
    )


def _plain_sqlite_file(url: str) -> Path | None:
    """The file of a plain `sqlite:///file` URL, read without SQLAlchemy; None for anything
    else (other databases, memory, URI-style, query or escaped characters: SQLAlchemy's
    own parsing decides those)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    database = url[len(prefix) :]
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    if any(ch in database for ch in "?%#@"):
        return None
    return Path(database)


def _embedded_sqlite_path(url: sa.URL) -> Path | None:
    """The file of a plain `sqlite:///file` URL; None for memory, URI-style or other databases."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    if str(url.query.get("uri", "")).lower() in ("true", "1"):
        return None
    return Path(database)


# --------------------------------------------------------------------------- read side


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _name(value: Any, code: Any) -> str:
    """A master-data name; NULL or empty: the code or id itself (never the text "None")."""
    return str(code) if value is None or value == "" else str(value)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _as_date(value: Any) -> date:
    """The fast path: a DATE value or 'YYYY-MM-DD' text; anything else raises (ValueError,
    TypeError) and goes the careful way (`date_value`). Not `fromisoformat(str(value))`:
    Python reads the number 2726090100 as 2726-09-01."""
    if isinstance(value, date):  # a DATE column of a user's database (datetime is a date too)
        return date(value.year, value.month, value.day)
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise ValueError(value)
    return date.fromisoformat(value)


# -- bad values in a user's own database ------------------------------------------------
#
# The embedded schema's CHECK constraints keep bad values out of ledger.sqlite; a user's own
# database (a view computing amounts, a text column with German dates) has no such guard.
# The read side converts what it can and reports the rest, per booking, through the
# export's refusal channel (`Problems`), so one bad row never stops the stream with an
# exception and every bad journal number is named.


class Problems(Protocol):
    """Where the read side reports a booking it cannot convert (`engine.export._Report`)."""

    def refuse(self, journal_no: int | None, field: str, message: str) -> None: ...


#: German name (and contract column) of the booking columns the contract requires.
BOOKING_LABELS: Final = {
    "journal_no": "Journalnummer (journal_no)",
    "client_id": "Mandant (client_id)",
    "branch_id": "Filiale (branch_id)",
    "document_type": "Belegart (document_type)",
    "document_no": "Belegnummer (document_no)",
    "document_date": "Belegdatum (document_date)",
    "amount_cents": "Betrag (amount_cents)",
    "debit_credit": "Soll/Haben (debit_credit)",
    "account": "Konto (account)",
    "contra_account": "Gegenkonto (contra_account)",
}
#: The first columns of a booking row are required (NOT NULL in the embedded schema); the
#: others (tax_key … cost_center) may be NULL and are handed on as None.
_REQUIRED: Final = len(BOOKING_LABELS)
#: A fractional amount_cents (a REAL column, a view computing `amount_eur * 100`) is
#: rounded to the cent when it lies at most this far from a whole cent: binary floating
#: point misses 28.999999999999996 by far less, a genuine fraction of a cent (28.5, 2378.81)
#: by far more. Farther off is refused: rounding it would change the books.
CENT_TOLERANCE: Final = Decimal("0.001")
_SHOWN_MAX: Final = 40
_ISO_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT_TEXT: Final = re.compile(r"[+-]?[0-9]{1,19}")
_DECIMAL_TEXT: Final = re.compile(r"[+-]?[0-9]{1,19}(?:\.[0-9]{1,12})?")


def shown(value: Any) -> str:
    """A value from the database for a German message: quoted, short, NULL named."""
    if value is None:
        return "NULL"
    text = value.isoformat() if isinstance(value, date) else str(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates
    if len(text) > _SHOWN_MAX:
        text = text[: _SHOWN_MAX - 1] + "…"
    return f"„{text}“"


def whole_number(value: Any) -> int | None:
    """An integer column's value as int; None unless it is a whole number (int, an
    integral float or Decimal, ASCII digits as text)."""
    if type(value) is int:
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | Decimal):
        try:
            return int(value) if value == int(value) else None
        except (ValueError, OverflowError):  # nan, inf
            return None
    if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    return None


def cents_value(value: Any) -> tuple[int | None, str]:
    """amount_cents as whole cents, or (None, German reason). A fraction within
    CENT_TOLERANCE of a whole cent is rounded (REAL columns, computed views)."""
    if type(value) is int:
        return value, ""
    if value is None:
        return None, "fehlt (NULL)"
    if isinstance(value, bool):
        return None, f"{shown(value)} ist kein Betrag in Cent"
    if isinstance(value, int):
        return int(value), ""
    exact: Decimal | None = None
    if isinstance(value, float):
        if math.isfinite(value):
            exact = Decimal(value)
    elif isinstance(value, Decimal):
        if value.is_finite():
            exact = value
    elif isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value.strip()):
        exact = Decimal(value.strip())
    if exact is None:
        return None, f"{shown(value)} ist kein Betrag in Cent"
    whole = exact.to_integral_value(rounding=ROUND_HALF_EVEN)
    if abs(exact - whole) > CENT_TOLERANCE:
        return None, (
            f"{shown(value)} ist kein ganzer Cent-Betrag (Bruchteile eines Cents werden "
            "nicht gerundet)"
        )
    return int(whole), ""


def date_value(value: Any) -> tuple[date | None, str]:
    """document_date as a date, or (None, German reason): a DATE/DATETIME value, or text
    `YYYY-MM-DD` (optionally followed by a time of day)."""
    if value is None:
        return None, "fehlt (NULL)"
    if isinstance(value, date):
        return date(value.year, value.month, value.day), ""
    if isinstance(value, str) and _ISO_DAY.match(value.strip()):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text), ""
            if text[10] in " T":  # a DATETIME kept as text
                return datetime.fromisoformat(text).date(), ""
        except ValueError:
            pass
    return None, f"{shown(value)} ist kein gültiges Datum (JJJJ-MM-TT)"


def checked_booking(row: Sequence[Any], problems: Problems | None) -> Booking | None:
    """The slow path of `Ledger.bookings`: convert one row field by field; report every bad
    value (journal number, column, value) and return None if there was one. Without
    `problems` the first bad value raises LedgerError."""
    found: list[tuple[str, str]] = []
    journal_no = whole_number(row[0])
    if journal_no is None:
        found.append(("journal_no", f"{shown(row[0])} ist keine ganze Zahl"))
    for name, value in zip(BOOKING_COLUMNS[1:_REQUIRED], row[1:_REQUIRED], strict=True):
        if value is None and name not in ("document_date", "amount_cents"):
            found.append((name, "fehlt (NULL)"))
    day, why = date_value(row[5])
    if day is None:
        found.append(("document_date", why))
    cents, why = cents_value(row[6])
    if cents is None:
        found.append(("amount_cents", why))
    if found:
        for name, message in found:
            if problems is None:
                where = f"Journalnummer {journal_no}: " if journal_no is not None else ""
                raise LedgerError(f"{where}{BOOKING_LABELS[name]}: {message}")
            problems.refuse(journal_no, BOOKING_LABELS[name], message)
        return None
    assert journal_no is not None and day is not None and cents is not None
    return typed_booking(row, journal_no, day, cents)


def typed_booking(row: Sequence[Any], journal_no: int, day: date, cents: int) -> Booking:
    """A row whose numbers and date are checked: the text columns as str (optional ones
    may be None)."""
    return Booking(
        journal_no,
        str(row[1]),
        str(row[2]),
        str(row[3]),
        str(row[4]),
        day,
        cents,
        str(row[7]),
        str(row[8]),
        str(row[9]),
        _str_or_none(row[10]),
        _str_or_none(row[11]),
        _str_or_none(row[12]),
        _str_or_none(row[13]),
        _str_or_none(row[14]),
    )


def _duplicate_message(client_id: str) -> str:
    return (
        f"kommt bei Mandant {client_id} mehrfach vor; jede Buchung braucht eine eigene "
        "Journalnummer (keine der Buchungen mit dieser Nummer wird geliefert)"
    )


def _sum_cents(value: Any) -> int:
    """A SUM over amount_cents for the statistics: rounded to the cent (REAL columns)."""
    if value is None:
        return 0
    try:
        return round(Decimal(str(value)))
    except (ArithmeticError, ValueError):
        return 0


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes", "ja", "j")
    return bool(value)


def _untyped(value: Any) -> sa.BindParameter[Any]:
    import sqlalchemy as sa
    from sqlalchemy.types import NullType

    """A bound value (a list: for IN) without a declared type, like the contract's columns.

    The database then compares it as its column's type. Typed, psycopg sends a str as
    VARCHAR, which PostgreSQL does not compare with a user's BIGINT account, INTEGER code or
    ENUM column ("operator does not exist: bigint = character varying").
    """
    return sa.bindparam(None, value, type_=NullType(), expanding=isinstance(value, list))


def _reason(exc: SQLAlchemyError) -> str:
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return str(exc.orig)
    return str(exc).splitlines()[0]


class Ledger:
    """Read access to the ledger behind a SQLAlchemy URL."""

    def __init__(self, url: str) -> None:
        self._checked = False
        self._client_keys: dict[str, Any] = {}
        self._branch_keys: dict[str, Any] = {}
        self._duplicates_seen: dict[
            tuple[str, int, int | None], tuple[Problems | None, frozenset[int]]
        ] = {}
        #: the embedded file's stdlib connection: plain SQL, no SQLAlchemy at all
        self._sqlite: Callable[[], sqlite3.Connection] | None = None
        self._rowid_key: bool | None = None  # `_rowid_journal_numbers`, once known
        #: the documents table or view, once looked at (`_documents_table`)
        self._documents_known = False
        self._documents: _DocumentsTable | None = None
        #: SQLAlchemy's engine, for any other database URL
        self.engine: sa.Engine | None = None
        self.path = _plain_sqlite_file(url)
        if self.path is not None:
            self.url: Any = url
            self.display = str(self.path)
            self._open_embedded(self.path)
            return
        import sqlalchemy as sa
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError
        from sqlalchemy.pool import NullPool

        try:
            parsed = sa.make_url(url)
        except ArgumentError as exc:
            # Not echoing the URL: it may contain a password.
            raise LedgerError("Ungültige Datenbank-URL") from exc
        self.url = parsed
        self.display = parsed.render_as_string(hide_password=True)
        self.path = _embedded_sqlite_path(parsed)
        try:
            if self.path is not None:
                self.display = str(self.path)
                self._open_embedded(self.path)
            elif parsed.get_backend_name() == "sqlite":
                self.engine = sa.create_engine(parsed, poolclass=NullPool)
            else:
                self.engine = sa.create_engine(parsed, pool_pre_ping=True, pool_recycle=300)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise LedgerError(f"Datenbank-URL nicht verwendbar: {self.display} ({exc})") from exc

    def _open_embedded(self, path: Path) -> None:
        if not path.is_file():
            raise LedgerError(missing_ledger_message(path))
        uri = f"file:{quote(str(path.absolute()))}?mode=rw"

        # mode=rw: a file deleted meanwhile is an error, not a new empty ledger.
        # The timeout rides out a writer's commit (import) instead of failing.
        def connect() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)

        self._sqlite = connect

    @classmethod
    def open(cls, data_dir: DataDir, url: str | None = None) -> Ledger:
        """The configured ledger, by default the embedded `ledger.sqlite` of the data dir."""
        if url is None:
            if not data_dir.ledger_path.is_file():
                raise LedgerError(missing_ledger_message(data_dir.ledger_path))
            url = data_dir.ledger_url
        return cls(url)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    # -- plumbing

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sa.Connection]:
        from sqlalchemy.exc import SQLAlchemyError

        assert self.engine is not None
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise LedgerError(
                f"Buchhaltungsdatenbank nicht lesbar: {self.display} ({_reason(exc)})"
            ) from exc

    @contextlib.contextmanager
    def _embedded(self) -> Iterator[sqlite3.Connection]:
        """A connection to the embedded file (closed after use), errors as LedgerError."""
        assert self._sqlite is not None
        try:
            conn = self._sqlite()
            try:
                yield conn
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise LedgerError(
                f"Buchhaltungsdatenbank nicht lesbar: {self.display} ({exc})"
            ) from exc

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """All rows of one statement on the embedded file."""
        with self._embedded() as conn:
            return conn.execute(sql, params).fetchall()

    def _contract_columns(self) -> dict[str, set[str]]:
        """The contract's tables and views present (lower-case name) with their columns."""
        if self._sqlite is not None:
            with self._embedded() as conn:
                names = [
                    str(r[0])
                    for r in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                        " AND name NOT LIKE 'sqlite~_%' ESCAPE '~' ORDER BY name"
                    )
                ]
                present = {n.lower(): n for n in names}
                return {
                    name: {str(r[1]).lower() for r in conn.execute(_pragma_columns(present[name]))}
                    for name in CONTRACT
                    if name in present
                }
        import sqlalchemy as sa

        with self._connect() as conn:
            insp = sa.inspect(conn)
            names = [*insp.get_table_names(), *insp.get_view_names()]
            with contextlib.suppress(NotImplementedError):  # SQLite, MySQL have none
                names += insp.get_materialized_view_names()  # PostgreSQL, Oracle
            present = {n.lower(): n for n in names}
            return {
                name: {str(c["name"]).lower() for c in insp.get_columns(present[name])}
                for name in CONTRACT
                if name in present
            }

    def check(self) -> None:
        """Raise LedgerError unless every contract table or view with its columns exists."""
        if self._checked:
            return
        present = self._contract_columns()
        absent = [name for name in CONTRACT if name not in present]
        if absent:
            what = (
                f"Tabelle {absent[0]} fehlt"
                if len(absent) == 1
                else (f"Tabellen {', '.join(absent)} fehlen")
            )
            raise LedgerError(f"{what}: {self.display}")
        for name, columns in CONTRACT.items():
            have = present[name]
            missing = [c for c in columns if c not in have]
            if missing:
                what = (
                    f"Spalte {missing[0]} fehlt"
                    if len(missing) == 1
                    else (f"Spalten {', '.join(missing)} fehlen")
                )
                raise LedgerError(f"{what} in Tabelle {name}: {self.display}")
        self._checked = True

    def _client_key(self, client_id: str) -> Any:
        if not self._client_keys:
            self.catalog()
        try:
            return self._client_keys[str(client_id)]
        except KeyError:
            raise LedgerError(f"Mandant {client_id} existiert nicht in der Buchhaltung") from None

    def _branch_key(self, branch_id: str) -> Any:
        if not self._branch_keys:
            self.catalog()
        try:
            return self._branch_keys[str(branch_id)]
        except KeyError:
            raise LedgerError(f"Filiale {branch_id} existiert nicht in der Buchhaltung") from None

    # -- master data

    def catalog(self) -> Catalog:
        self.check()
        client_rows: Sequence[Any]
        branch_rows: Sequence[Any]
        type_rows: Sequence[Any]
        method_rows: Sequence[Any]
        if self._sqlite is not None:
            with self._embedded() as db:
                client_rows, branch_rows, type_rows, method_rows = (
                    [
                        _ROW_TYPES[name]._make(r)
                        for r in db.execute(
                            f"SELECT {_columns(name)} FROM {name} ORDER BY {name}.{key}"
                        )
                    ]
                    for name, key in (
                        ("clients", "id"),
                        ("branches", "id"),
                        ("document_types", "code"),
                        ("payment_methods", "code"),
                    )
                )
        else:
            import sqlalchemy as sa

            t = _tables()
            c, b, d, p = t.clients.c, t.branches.c, t.document_types.c, t.payment_methods.c
            with self._connect() as conn:
                client_rows = conn.execute(sa.select(t.clients).order_by(c.id)).all()
                branch_rows = conn.execute(sa.select(t.branches).order_by(b.id)).all()
                type_rows = conn.execute(sa.select(t.document_types).order_by(d.code)).all()
                method_rows = conn.execute(sa.select(t.payment_methods).order_by(p.code)).all()
        clients: dict[str, Client] = {}
        for r in client_rows:
            key = str(r.id)
            self._client_keys[key] = r.id

            def number(column: str, value: Any, key: str = key) -> int:
                found = whole_number(value)
                if found is None:
                    raise LedgerError(
                        f"Stammdaten unbrauchbar: Mandant {key}, Spalte {column}: "
                        f"{shown(value)} ist keine ganze Zahl ({self.display})"
                    )
                return found

            clients[key] = Client(
                id=key,
                name=_name(r.name, key),
                consultant_no=number("consultant_no", r.consultant_no),
                client_no=number("client_no", r.client_no),
                fiscal_year_start=str(r.fiscal_year_start or "01-01"),
                account_length=number("account_length", r.account_length),
                chart=str(r.chart),
                lock_batches=_truthy(r.lock_batches),
            )
        branches: dict[str, Branch] = {}
        for r in branch_rows:
            key = str(r.id)
            self._branch_keys[key] = r.id
            branches[key] = Branch(
                id=key,
                client_id=str(r.client_id),
                name=_name(r.name, key),
                cost_center=_str_or_none(r.cost_center),
            )
        return Catalog(
            clients=clients,
            branches=branches,
            document_types={
                str(r.code): DocumentType(str(r.code), _name(r.name, r.code), _truthy(r.incoming))
                for r in type_rows
            },
            payment_methods={
                str(r.code): PaymentMethod(str(r.code), _name(r.name, r.code)) for r in method_rows
            },
        )

    def partners(
        self, client_id: str, accounts: Iterable[str] | None = None, kind: str | None = None
    ) -> list[Partner]:
        """Partners of one client, optionally only the given accounts and/or kind."""
        self.check()
        result: list[Partner] = []
        for r in self._partner_rows(client_id, accounts, kind):
            result.append(
                Partner(
                    client_id=str(r.client_id),
                    account=str(r.account),
                    kind=str(r.kind),
                    name="" if r.name is None else str(r.name),
                    street=_str_or_none(r.street),
                    postcode=_str_or_none(r.postcode),
                    city=_str_or_none(r.city),
                    country=_str_or_none(r.country),
                    vat_id=_str_or_none(r.vat_id),
                    email=_str_or_none(r.email),
                )
            )
        result.sort(key=lambda p: (len(p.account), p.account))
        return result

    def _partner_rows(
        self, client_id: str, accounts: Iterable[str] | None, kind: str | None
    ) -> list[Any]:
        key = self._client_key(client_id)
        # Chunks: some databases cap the number of bound parameters per statement.
        wanted = None if accounts is None else sorted({str(a) for a in accounts})
        chunks = (
            [None] if wanted is None else [wanted[i : i + 500] for i in range(0, len(wanted), 500)]
        )
        rows: list[Any] = []
        if self._sqlite is not None:
            base = f"SELECT {_columns('partners')} FROM partners WHERE partners.client_id = ?"
            params: list[Any] = [key]
            if kind is not None:
                base += " AND partners.kind = ?"
                params.append(kind)
            row_type = _ROW_TYPES["partners"]
            with self._embedded() as db:
                for chunk in chunks:
                    sql, args = base, params
                    if chunk is not None:
                        sql = f"{base} AND partners.account {_marks(chunk)}"
                        args = [*params, *chunk]
                    rows.extend(row_type._make(r) for r in db.execute(sql, args))
            return rows
        import sqlalchemy as sa

        partners = _tables().partners
        col = partners.c
        stmt = sa.select(partners).where(col.client_id == key)
        if kind is not None:
            stmt = stmt.where(col.kind == _untyped(kind))
        stmts = [
            stmt if chunk is None else stmt.where(col.account.in_(_untyped(chunk)))
            for chunk in chunks
        ]
        with self._connect() as conn:
            for one in stmts:
                rows.extend(conn.execute(one))
        return rows

    # -- bookings

    def max_journal_no(self, client_id: str | None = None) -> int:
        """Highest journal number (of one client, or overall); 0 for none."""
        self.check()
        if self._sqlite is not None:
            sql = "SELECT max(bookings.journal_no) FROM bookings"
            params: list[Any] = []
            if client_id is not None:
                sql += " WHERE bookings.client_id = ?"
                params.append(self._client_key(client_id))
            value = self._query(sql, params)[0][0]
        else:
            import sqlalchemy as sa

            bookings = _tables().bookings
            stmt = sa.select(sa.func.max(bookings.c.journal_no))
            if client_id is not None:
                stmt = stmt.where(bookings.c.client_id == self._client_key(client_id))
            with self._connect() as conn:
                value = conn.execute(stmt).scalar()
        if value is None:
            return 0
        number = whole_number(value)
        if number is None:
            raise LedgerError(
                f"{BOOKING_LABELS['journal_no']}: {shown(value)} ist keine ganze Zahl "
                f"(höchste Journalnummer{f' von Mandant {client_id}' if client_id else ''}); "
                f"jede Buchung braucht eine ganze Zahl als Journalnummer: {self.display}"
            )
        return number

    def bookings(
        self,
        client_id: str,
        *,
        after_journal_no: int = 0,
        up_to_journal_no: int | None = None,
        branch_id: str | None = None,
        document_types: Collection[str] | None = None,
        payment_methods: Collection[str] | None = None,
        page_size: int = PAGE_SIZE,
        only: Collection[int] | None = None,
        problems: Problems | None = None,
    ) -> Iterator[Booking]:
        """Stream one client's bookings in journal order with after < journal_no <= up_to.

        `payment_methods` follows SPEC §2: bookings without a payment method always pass.
        Each page is its own short read, so writers are not blocked for the whole stream;
        pass `up_to_journal_no` (e.g. `max_journal_no()` taken at the start) for a fixed set.

        Bad data (a user's own database has no CHECK constraints): a booking with a NULL in
        a required column, a date that is none, an amount that is not a whole number of
        cents, or a journal number the client uses more than once is reported to
        `problems` (journal number, column, value) and not yielded; the stream goes on.
        Without `problems` the first one raises LedgerError. Duplicates are found over the
        whole range, whatever the filters (they would break the export journal).
        """
        embedded = self._sqlite is not None
        filters: dict[str, Any] = {
            "up_to_journal_no": up_to_journal_no,
            "branch_id": branch_id,
            "document_types": document_types,
            "payment_methods": payment_methods,
        }
        pages: Iterator[Sequence[Any]]
        if embedded:  # smaller pages: the rows of one stay in the CPU caches (measured)
            page_size = min(page_size, EMBEDDED_PAGE_SIZE)
            where, params = self._sqlite_selection(client_id, **filters)
            if only is not None:
                numbers = sorted(only)
                where.append(f"bookings.journal_no {_marks(numbers)}")
                params.extend(numbers)
            sql = (
                f"SELECT {_EMBEDDED_SELECT} FROM bookings WHERE {' AND '.join(where)}"
                f" AND bookings.journal_no > ? ORDER BY bookings.journal_no LIMIT {int(page_size)}"
            )
        else:
            import sqlalchemy as sa

            stmt = self._selection(sa.select(_tables().bookings), client_id, **filters)
            col = _tables().bookings.c
            if only is not None:
                stmt = stmt.where(col.journal_no.in_(sorted(only)))
            stmt = stmt.order_by(col.journal_no).limit(page_size)
        duplicates = self._duplicates(client_id, after_journal_no, up_to_journal_no, problems)
        # Keyset pages (`journal_no > last`) would lose the second of two rows with one
        # number at a page boundary; `_duplicates` has found every such number over the
        # whole range beforehand, so none of them is delivered and all are named.
        if embedded:
            pages = self._sqlite_pages(sql, params, after_journal_no, page_size)
        else:
            pages = self._pages(stmt, after_journal_no, page_size)
        previous: int | None = None
        days: dict[Any, date] = {}  # document_date as read -> date: few distinct values
        for rows in pages:
            for r in rows:
                jn = r[0]
                cents = r[6]
                # Fast path: one type check each for the two numbers and one scan for NULL
                # in the required columns; everything odd goes the careful way.
                if type(jn) is int and type(cents) is int and None not in r[1:_REQUIRED]:
                    try:
                        day = days.get(r[5])
                        if day is None:
                            day = _as_date(r[5])
                            if len(days) < _DAYS_MAX:
                                days[r[5]] = day
                        if embedded:  # the text columns are CAST in SQL: the row as it is
                            booking: Booking | None = _new_tuple(Booking, (*r[:5], day, *r[6:]))
                        else:
                            booking = typed_booking(r, jn, day, cents)
                    except (ValueError, TypeError, OverflowError):
                        booking = checked_booking(r, problems)
                else:
                    booking = checked_booking(r, problems)
                if booking is None:
                    continue
                number = booking[0]
                if number == previous or number in duplicates:
                    if problems is None:
                        raise LedgerError(
                            f"Journalnummer {number}: {_duplicate_message(client_id)}"
                        )
                    if number not in duplicates:  # written after the aggregate looked
                        problems.refuse(
                            number,
                            BOOKING_LABELS["journal_no"],
                            _duplicate_message(client_id),
                        )
                    previous = number
                    continue  # none of them is delivered
                previous = number
                yield booking

    def _pages(self, stmt: sa.Select[Any], after: Any, page_size: int) -> Iterator[Sequence[Any]]:
        """Keyset pages of `stmt` (ordered by journal_no, limited to `page_size`) after
        `after`, each its own short read through SQLAlchemy."""
        col = _tables().bookings.c
        last = after
        while True:
            with self._connect() as conn:
                rows = conn.execute(stmt.where(col.journal_no > last)).all()
            yield rows
            if len(rows) < page_size:
                return
            last = rows[-1][0]

    def _sqlite_pages(
        self, sql: str, params: Sequence[Any], after: Any, page_size: int
    ) -> Iterator[list[tuple[Any, ...]]]:
        """`_pages` for the embedded file: `sql` ends in `journal_no > ?` (the last
        parameter) and its LIMIT; each page one `fetchall` of a stdlib cursor (plain
        tuples). One connection for the stream; no read transaction stays open between
        pages (the statement is done when `fetchall` returns)."""
        assert self._sqlite is not None
        params = [*params, after]
        at = len(params) - 1
        try:
            conn = self._sqlite()
            try:
                cursor = conn.cursor()
                cursor.arraysize = page_size
                while True:
                    rows = cursor.execute(sql, params).fetchall()
                    yield rows
                    if len(rows) < page_size:
                        return
                    params[at] = rows[-1][0]
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise LedgerError(
                f"Buchhaltungsdatenbank nicht lesbar: {self.display} ({exc})"
            ) from exc

    def _rowid_journal_numbers(self) -> bool:
        """True if `bookings` is a table of the embedded file whose journal_no is its
        INTEGER PRIMARY KEY (the embedded schema): then no number can be there twice and
        the duplicate aggregate (a pass over the client's index) is not needed."""
        if self._sqlite is None:
            return False
        if self._rowid_key is None:
            try:
                conn = self._sqlite()
                try:
                    kind = conn.execute(
                        "SELECT type FROM sqlite_master WHERE name = 'bookings'"
                    ).fetchone()
                    keys = [
                        (str(r[1]).lower(), str(r[2]).upper())
                        for r in conn.execute("PRAGMA table_info(bookings)")
                        if r[5]
                    ]
                finally:
                    conn.close()
            except sqlite3.Error:
                return False  # the stream itself will report what is wrong
            self._rowid_key = (
                kind is not None and kind[0] == "table" and keys == [("journal_no", "INTEGER")]
            )
        return self._rowid_key

    def _duplicates(
        self,
        client_id: str,
        after_journal_no: int,
        up_to_journal_no: int | None,
        problems: Problems | None,
    ) -> frozenset[int]:
        """Journal numbers in (after, up_to] that the client has more than once, whatever
        the filters; each reported once to a `problems` (an export reads a client's range
        in several streams with one report). One aggregate over the (client_id,
        journal_no) index."""
        if self._rowid_journal_numbers():
            return frozenset()  # the primary key of a table: no number twice
        key = (client_id, after_journal_no, up_to_journal_no)
        known = self._duplicates_seen.get(key)
        if known is not None and known[0] is problems:
            return known[1]
        if self._sqlite is not None:
            sql = "SELECT bookings.journal_no FROM bookings WHERE bookings.client_id = ?"
            sql += " AND bookings.journal_no > ?"
            params: list[Any] = [self._client_key(client_id), after_journal_no]
            if up_to_journal_no is not None:
                sql += " AND bookings.journal_no <= ?"
                params.append(up_to_journal_no)
            sql += " GROUP BY bookings.journal_no HAVING count(*) > 1 ORDER BY bookings.journal_no"
            found = [whole_number(r[0]) for r in self._query(sql, params)]
        else:
            import sqlalchemy as sa

            col = _tables().bookings.c
            stmt = (
                sa.select(col.journal_no)
                .where(
                    col.client_id == self._client_key(client_id),
                    col.journal_no > after_journal_no,
                )
                .group_by(col.journal_no)
                .having(sa.func.count() > 1)
                .order_by(col.journal_no)
            )
            if up_to_journal_no is not None:
                stmt = stmt.where(col.journal_no <= up_to_journal_no)
            with self._connect() as conn:
                found = [whole_number(n) for n in conn.execute(stmt).scalars()]
        numbers = frozenset(n for n in found if n is not None)
        self._duplicates_seen[key] = (problems, numbers)
        if problems is not None:
            for number in sorted(numbers):
                problems.refuse(number, BOOKING_LABELS["journal_no"], _duplicate_message(client_id))
        return numbers

    def _selection(
        self,
        stmt: sa.Select[Any],
        client_id: str,
        *,
        up_to_journal_no: int | None = None,
        branch_id: str | None = None,
        document_types: Collection[str] | None = None,
        payment_methods: Collection[str] | None = None,
    ) -> sa.Select[Any]:
        """`stmt` narrowed to one client's bookings that match a config's filters."""
        import sqlalchemy as sa

        self.check()
        col = _tables().bookings.c
        stmt = stmt.where(col.client_id == self._client_key(client_id))
        if up_to_journal_no is not None:
            stmt = stmt.where(col.journal_no <= up_to_journal_no)
        if branch_id is not None:
            stmt = stmt.where(col.branch_id == self._branch_key(branch_id))
        if document_types is not None:
            stmt = stmt.where(col.document_type.in_(_untyped(sorted(document_types))))
        if payment_methods is not None:
            stmt = stmt.where(
                sa.or_(
                    col.payment_method.is_(None),
                    col.payment_method.in_(_untyped(sorted(payment_methods))),
                )
            )
        return stmt

    def _sqlite_selection(
        self,
        client_id: str,
        *,
        up_to_journal_no: int | None = None,
        branch_id: str | None = None,
        document_types: Collection[str] | None = None,
        payment_methods: Collection[str] | None = None,
    ) -> tuple[list[str], list[Any]]:
        """`_selection` for the embedded file: the WHERE conditions and their parameters."""
        self.check()
        where = ["bookings.client_id = ?"]
        params: list[Any] = [self._client_key(client_id)]
        if up_to_journal_no is not None:
            where.append("bookings.journal_no <= ?")
            params.append(up_to_journal_no)
        if branch_id is not None:
            where.append("bookings.branch_id = ?")
            params.append(self._branch_key(branch_id))
        if document_types is not None:
            codes = sorted(document_types)
            where.append(f"bookings.document_type {_marks(codes)}")
            params.extend(codes)
        if payment_methods is not None:
            methods = sorted(payment_methods)
            where.append(
                f"(bookings.payment_method IS NULL OR bookings.payment_method {_marks(methods)})"
            )
            params.extend(methods)
        return where, params

    def journal_numbers(
        self,
        client_id: str,
        *,
        after_journal_no: int,
        up_to_journal_no: int,
        branch_id: str | None = None,
        document_types: Collection[str] | None = None,
        payment_methods: Collection[str] | None = None,
        page_size: int = 50_000,
    ) -> Iterator[int]:
        """Only the journal numbers of the bookings `bookings()` would yield, ascending:
        the look-back compares them with the export journal without reading whole rows."""
        filters: dict[str, Any] = {
            "up_to_journal_no": up_to_journal_no,
            "branch_id": branch_id,
            "document_types": document_types,
            "payment_methods": payment_methods,
        }
        if self._sqlite is not None:
            where, params = self._sqlite_selection(client_id, **filters)
            sql = (
                f"SELECT bookings.journal_no FROM bookings WHERE {' AND '.join(where)}"
                f" AND bookings.journal_no > ? ORDER BY bookings.journal_no LIMIT {int(page_size)}"
            )
            yield from self._sqlite_numbers(sql, params, after_journal_no, page_size)
            return
        import sqlalchemy as sa

        col = _tables().bookings.c
        stmt = self._selection(sa.select(col.journal_no), client_id, **filters)
        stmt = stmt.order_by(col.journal_no).limit(page_size)
        last = after_journal_no
        while True:
            with self._connect() as conn:
                raw = conn.execute(stmt.where(col.journal_no > last)).scalars().all()
            # A number that is none is skipped here: the bookings stream reports it.
            yield from (n for n in map(whole_number, raw) if n is not None)
            if len(raw) < page_size:
                return
            last = raw[-1]

    def bookings_numbered(
        self,
        client_id: str,
        numbers: Collection[int],
        *,
        document_types: Collection[str] | None = None,
        problems: Problems | None = None,
    ) -> Iterator[Booking]:
        """The bookings of one client with the given journal numbers, in journal order
        (bad data: see `bookings`)."""
        wanted = sorted(set(numbers))
        for i in range(0, len(wanted), 500):  # some databases cap bound parameters
            chunk = wanted[i : i + 500]
            yield from self.bookings(
                client_id,
                after_journal_no=chunk[0] - 1,
                up_to_journal_no=chunk[-1],
                document_types=document_types,
                only=chunk,
                problems=problems,
            )

    def numbering_gaps(
        self, above: int, up_to: int, *, limit: int = 20
    ) -> tuple[int, list[tuple[int, int]]]:
        """Journal numbers missing in (above, up_to] over all clients' bookings (GoBD
        "Lückenanalyse"): the count and the first `limit` gaps as (first, last). One
        aggregate reads the range's index; only a range with gaps is read number by number."""
        self.check()
        if self._sqlite is not None:
            count, low, high = self._query(
                "SELECT count(*), min(bookings.journal_no), max(bookings.journal_no)"
                " FROM bookings WHERE bookings.journal_no > ? AND bookings.journal_no <= ?",
                (above, up_to),
            )[0]
        else:
            import sqlalchemy as sa

            col = _tables().bookings.c
            rng = sa.and_(col.journal_no > above, col.journal_no <= up_to)
            with self._connect() as conn:
                count, low, high = conn.execute(
                    sa.select(
                        sa.func.count(), sa.func.min(col.journal_no), sa.func.max(col.journal_no)
                    ).where(rng)
                ).one()
        if not count:
            return 0, []
        low, high = whole_number(low), whole_number(high)
        if low is None or high is None:  # numbers that are none: the export refuses them
            return 0, []
        missing = (high - low + 1) - int(count)
        if missing <= 0:  # no gaps (or numbers repeated per client: nothing to tell)
            return 0, []
        gaps: list[tuple[int, int]] = []
        total = 0
        expected = low
        for number in self._all_numbers(low - 1, high):
            if number > expected:
                total += number - expected
                if len(gaps) < limit:
                    gaps.append((expected, number - 1))
            expected = max(expected, number + 1)
        return total, gaps

    def _sqlite_numbers(
        self, sql: str, params: Sequence[Any], after: int, page_size: int
    ) -> Iterator[int]:
        """Journal numbers of `sql` (ending in `journal_no > ?` and its LIMIT), in pages."""
        for rows in self._sqlite_pages(sql, params, after, page_size):
            # A number that is none is skipped here: the bookings stream reports it.
            yield from (n for n in (whole_number(r[0]) for r in rows) if n is not None)

    def _all_numbers(self, above: int, up_to: int, page_size: int = 50_000) -> Iterator[int]:
        if self._sqlite is not None:
            yield from self._sqlite_numbers(
                "SELECT bookings.journal_no FROM bookings WHERE bookings.journal_no <= ?"
                f" AND bookings.journal_no > ? ORDER BY bookings.journal_no LIMIT {int(page_size)}",
                [up_to],
                above,
                page_size,
            )
            return
        import sqlalchemy as sa

        col = _tables().bookings.c
        stmt = (
            sa.select(col.journal_no)
            .where(col.journal_no <= up_to)
            .order_by(col.journal_no)
            .limit(page_size)
        )
        last = above
        while True:
            with self._connect() as conn:
                raw = conn.execute(stmt.where(col.journal_no > last)).scalars().all()
            # A number that is none is skipped here: the bookings stream reports it.
            yield from (n for n in map(whole_number, raw) if n is not None)
            if len(raw) < page_size:
                return
            last = raw[-1]

    # -- documents (document images, "Belegbilder")

    def has_documents(self) -> bool:
        """True if the ledger has a `documents` table or view (it may be empty); False
        without one (an older embedded ledger, a database that offers none). A table or
        view that lacks a column raises LedgerError naming it."""
        return self._documents_table() is not None

    def documents(
        self, client_id: str, journal_numbers: Iterable[int] | range
    ) -> Iterator[DocumentRef]:
        """The documents of one client's bookings with the given journal numbers, ordered
        by (journal_no, file_name) (file names by code point): metadata only, read in short
        pages (a `range` in windows of journal numbers, other numbers in IN lists of at most
        500). Nothing without a documents table or view.

        A row that cannot be delivered is listed all the same, with `problem` saying why
        (never dropped silently); a second row with the same file name for one booking is
        such a row. One booking may have several documents: DATEV links one per booking
        (README "Belegbilder": the first is linked, the exporter warns about the others)."""
        table = self._documents_table()
        if table is None:
            return
        key = self._client_key(client_id)
        for window in _document_windows(journal_numbers):
            rows = (
                self._embedded_document_rows(table, key, window)
                if self._sqlite is not None
                else self._external_document_rows(table, key, window)
            )
            refs = [ref for ref in (self._document_ref(client_id, r) for r in rows) if ref]
            refs.sort(key=lambda ref: (ref.journal_no, ref.file_name))
            previous: tuple[int, str] | None = None
            for ref in refs:
                if (ref.journal_no, ref.file_name) == previous and ref.file_name:
                    ref = DocumentRef(
                        ref.client_id,
                        ref.journal_no,
                        ref.file_name,
                        ref.media_type,
                        None,
                        ref.path,
                        "Dateiname kommt bei dieser Buchung mehrfach vor (nur der erste wird "
                        "geliefert)",
                    )
                previous = (ref.journal_no, ref.file_name)
                yield ref

    @contextlib.contextmanager
    def open_document(self, ref: DocumentRef) -> Iterator[Iterator[bytes]]:
        """The document's bytes as chunks of at most 1 MiB (`DOCUMENT_CHUNK`).

        A BLOB of the embedded ledger is streamed with `sqlite3.Connection.blobopen` and a
        path is read in chunks: memory stays flat. A BLOB of an external database is read
        as one value (held in memory once; large documents there better as paths). Opening
        and reading raise LedgerError (German, naming journal number and file) when the
        document cannot be read, e.g. a `ref` with a `problem` or a row gone meanwhile.
        While a BLOB of the embedded ledger is open its file stays read-locked: copy the
        chunks, do not keep them waiting."""
        if ref.problem is not None:
            raise LedgerError(f"{ref.where}: {ref.problem}")
        if ref.path is not None:
            try:
                fh = open(ref.path, "rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise LedgerError(
                    f"{ref.where}: Datei nicht lesbar: {ref.path} ({exc.strerror})"
                ) from exc
            with fh:
                yield _file_chunks(fh, ref)
            return
        table = self._documents_table()
        if table is None:
            raise LedgerError(f"{ref.where}: Tabelle {DOCUMENTS_TABLE} fehlt: {self.display}")
        if self._sqlite is not None and ref.rowid is not None and table.rowid:
            conn = self._sqlite()
            try:
                blob = self._open_blob(conn, table, ref)
                with blob:
                    yield _blob_chunks(blob, ref)
            finally:
                conn.close()
            return
        data = self._document_content(table, ref)
        yield (data[i : i + DOCUMENT_CHUNK] for i in range(0, len(data), DOCUMENT_CHUNK))

    def _documents_table(self) -> _DocumentsTable | None:
        """The documents table or view (name, columns), None without one; LedgerError for
        a missing column. Looked at once per Ledger."""
        if self._documents_known:
            return self._documents
        found: tuple[str, set[str], bool] | None = None
        if self._sqlite is not None:
            with self._embedded() as conn:
                row = conn.execute(
                    "SELECT name, type, sql FROM sqlite_master WHERE type IN ('table', 'view')"
                    " AND name = ? COLLATE NOCASE",
                    (DOCUMENTS_TABLE,),
                ).fetchone()
                if row is not None:
                    columns = {str(r[1]).lower() for r in conn.execute(_pragma_columns(row[0]))}
                    rowid = row[1] == "table" and "WITHOUT ROWID" not in str(row[2]).upper()
                    found = (str(row[0]), columns, rowid)
        else:
            import sqlalchemy as sa

            with self._connect() as conn:
                insp = sa.inspect(conn)
                names = [*insp.get_table_names(), *insp.get_view_names()]
                with contextlib.suppress(NotImplementedError):  # SQLite, MySQL have none
                    names += insp.get_materialized_view_names()
                present = {n.lower(): n for n in names}
                if DOCUMENTS_TABLE in present:
                    name = present[DOCUMENTS_TABLE]
                    columns = {str(c["name"]).lower() for c in insp.get_columns(name)}
                    found = (name, columns, False)
        table = None
        if found is not None:
            name, columns, rowid = found
            missing = [c for c in _DOCUMENT_REQUIRED if c not in columns]
            if missing:
                what = (
                    f"Spalte {missing[0]} fehlt"
                    if len(missing) == 1
                    else f"Spalten {', '.join(missing)} fehlen"
                )
                raise LedgerError(f"{what} in Tabelle {DOCUMENTS_TABLE}: {self.display}")
            if "content" not in columns and "path" not in columns:
                raise LedgerError(
                    f"Spalten content und path fehlen in Tabelle {DOCUMENTS_TABLE} (eine von "
                    f"beiden ist nötig: der Beleg selbst oder sein Dateipfad): {self.display}"
                )
            table = _DocumentsTable(name, frozenset(columns), rowid)
        self._documents, self._documents_known = table, True
        return table

    def _embedded_document_rows(
        self, table: _DocumentsTable, client_key: Any, window: _Window
    ) -> list[tuple[Any, ...]]:
        """(rowid, journal_no, file_name, media_type, path, size, content type) of the
        window's documents in the embedded file; the size by `length()`, which does not
        read the BLOB."""
        has = table.columns
        if "content" in has:
            size = (
                "CASE typeof(content) WHEN 'text' THEN length(CAST(content AS BLOB))"
                " ELSE length(content) END"
            )
            kind = "typeof(content)"
        else:
            size, kind = "NULL", "'null'"
        where, params = _window_sql(window)
        sql = (
            f"SELECT {'rowid' if table.rowid else 'NULL'}, journal_no, file_name, media_type,"
            f" {'path' if 'path' in has else 'NULL'}, {size}, {kind}"
            f" FROM {_quoted(table.name)} WHERE client_id = ? AND {where}"
            " ORDER BY journal_no, file_name"
        )
        return self._query(sql, [client_key, *params])

    def _external_document_rows(
        self, table: _DocumentsTable, client_key: Any, window: _Window
    ) -> list[tuple[Any, ...]]:
        """`_embedded_document_rows` through SQLAlchemy: the size by octet_length (length
        on SQLite), which PostgreSQL answers without detoasting the value."""
        import sqlalchemy as sa

        t = _documents_clause(table)
        col = t.c
        if "content" in table.columns:
            length = sa.func.length if self._dialect() == "sqlite" else sa.func.octet_length
            size: Any = length(col.content)
            kind: Any = sa.case((col.content.is_(None), "null"), else_="blob")
        else:
            size, kind = sa.null(), sa.literal("null")
        stmt = (
            sa.select(
                sa.null(),
                col.journal_no,
                col.file_name,
                col.media_type,
                col.path if "path" in table.columns else sa.null(),
                size,
                kind,
            )
            .where(col.client_id == client_key)
            .order_by(col.journal_no, col.file_name)
        )
        if window.numbers is None:
            stmt = stmt.where(col.journal_no >= window.first, col.journal_no <= window.last)
        else:
            stmt = stmt.where(col.journal_no.in_(list(window.numbers)))
        with self._connect() as conn:
            return [tuple(r) for r in conn.execute(stmt)]

    def _dialect(self) -> str:
        assert self.engine is not None
        return str(self.engine.dialect.name)

    def _document_ref(self, client_id: str, row: Sequence[Any]) -> DocumentRef | None:
        """A row of `_…_document_rows` as a DocumentRef; None for a journal number that is
        none (it belongs to no booking)."""
        rowid, raw_no, raw_name, raw_media, raw_path, raw_size, kind = row
        journal_no = whole_number(raw_no)
        if journal_no is None:
            return None
        file_name = "" if raw_name is None else str(raw_name)
        media_type = "" if raw_media is None else str(raw_media).strip().lower()
        if not media_type:
            media_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        has_content = kind != "null"
        has_path = raw_path is not None and str(raw_path) != ""
        size = whole_number(raw_size) if has_content else None
        path: Path | None = None
        problem: str | None = None
        if has_path and not has_content:
            path, size, problem = self._document_file(str(raw_path))
        if not file_name:
            problem = "Dateiname (file_name) fehlt"
        elif "/" in file_name or "\\" in file_name:
            problem = f"Dateiname (file_name) {shown(file_name)} darf keinen Ordner enthalten"
        elif has_content and has_path:
            problem = "Inhalt (content) und Pfad (path) sind beide angegeben; erlaubt ist eines"
        elif not has_content and not has_path:
            problem = "weder Inhalt (content) noch Pfad (path) angegeben"
        elif has_content and kind not in ("blob", "text"):
            problem = f"Inhalt (content) ist kein BLOB, sondern {kind}"
        elif has_content and size == 0:
            problem = "Inhalt (content) ist leer (0 Bytes)"
        if problem is not None and has_content:
            size = None if kind not in ("blob", "text") else size
        return DocumentRef(
            client_id=client_id,
            journal_no=journal_no,
            file_name=file_name,
            media_type=media_type,
            size=size,
            path=path,
            problem=problem,
            rowid=whole_number(rowid) if has_content and problem is None else None,
        )

    def _document_file(self, raw: str) -> tuple[Path | None, int | None, str | None]:
        """A row's path: (the file, its size, None) or (file or None, None, German reason).
        Relative paths are relative to the embedded ledger file's directory; a database of
        one's own must give absolute ones (buchex may run anywhere)."""
        path = Path(raw)
        if not path.is_absolute():
            if self.path is None:
                why = f"Pfad (path) {shown(raw)} ist relativ; eine eigene Datenbank"
                why += " braucht absolute Pfade"
                return None, None, why
            path = self.path.absolute().parent / path
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                return path, None, f"keine Datei: {path}"
            os.close(os.open(path, os.O_RDONLY))  # readable by buchex?
        except FileNotFoundError:
            return path, None, f"Datei nicht gefunden: {path}"
        except OSError as exc:
            return path, None, f"Datei nicht lesbar: {path} ({exc.strerror})"
        if info.st_size == 0:
            return path, 0, f"Datei ist leer (0 Bytes): {path}"
        return path, info.st_size, None

    def _open_blob(
        self, conn: sqlite3.Connection, table: _DocumentsTable, ref: DocumentRef
    ) -> sqlite3.Blob:
        """The embedded row's BLOB, after checking the rowid still holds this document."""
        assert ref.rowid is not None
        try:
            row = conn.execute(
                f"SELECT journal_no, file_name, typeof(content) FROM {_quoted(table.name)}"
                " WHERE rowid = ?",
                (ref.rowid,),
            ).fetchone()
            if row is None or (whole_number(row[0]), row[1]) != (ref.journal_no, ref.file_name):
                raise LedgerError(f"{ref.where}: nicht mehr in der Buchhaltung ({self.display})")
            if row[2] not in ("blob", "text"):
                raise LedgerError(f"{ref.where}: Inhalt (content) fehlt ({self.display})")
            return conn.blobopen(table.name, "content", ref.rowid, readonly=True)
        except sqlite3.Error as exc:
            raise LedgerError(f"{ref.where}: nicht lesbar: {self.display} ({exc})") from exc

    def _document_content(self, table: _DocumentsTable, ref: DocumentRef) -> bytes:
        """The content value of one document (a view, an external database): read whole."""
        key = self._client_key(ref.client_id)
        if self._sqlite is not None:
            rows = self._query(
                f"SELECT content FROM {_quoted(table.name)}"
                " WHERE client_id = ? AND journal_no = ? AND file_name = ? LIMIT 1",
                (key, ref.journal_no, ref.file_name),
            )
        else:
            import sqlalchemy as sa

            col = _documents_clause(table).c
            stmt = (
                sa.select(col.content)
                .where(
                    col.client_id == key,
                    col.journal_no == ref.journal_no,
                    col.file_name == _untyped(ref.file_name),
                )
                .limit(1)
            )
            with self._connect() as conn:
                rows = [tuple(r) for r in conn.execute(stmt)]
        if not rows or rows[0][0] is None:
            raise LedgerError(f"{ref.where}: nicht mehr in der Buchhaltung ({self.display})")
        value = rows[0][0]
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        raise LedgerError(f"{ref.where}: Inhalt (content) ist kein BLOB ({self.display})")

    # -- stats

    def stats(self) -> list[ClientStats]:
        """Per client: bookings, S and H sums, journal range, date range, partner counts."""
        catalog = self.catalog()
        booking_rows: Sequence[Any]
        partner_rows: Sequence[Any]
        if self._sqlite is not None:
            with self._embedded() as db:
                booking_rows = db.execute(
                    "SELECT bookings.client_id, count(*),"
                    " sum(CASE WHEN (bookings.debit_credit = ?) THEN bookings.amount_cents"
                    " ELSE 0 END),"
                    " sum(CASE WHEN (bookings.debit_credit = ?) THEN bookings.amount_cents"
                    " ELSE 0 END),"
                    " min(bookings.journal_no), max(bookings.journal_no),"
                    " min(bookings.document_date), max(bookings.document_date)"
                    " FROM bookings GROUP BY bookings.client_id",
                    ("S", "H"),
                ).fetchall()
                partner_rows = db.execute(
                    "SELECT partners.client_id, partners.kind, count(*) FROM partners"
                    " GROUP BY partners.client_id, partners.kind"
                ).fetchall()
        else:
            import sqlalchemy as sa

            b, p = _tables().bookings.c, _tables().partners.c
            debit = sa.func.sum(sa.case((b.debit_credit == _untyped("S"), b.amount_cents), else_=0))
            credit = sa.func.sum(
                sa.case((b.debit_credit == _untyped("H"), b.amount_cents), else_=0)
            )
            booking_stmt = sa.select(
                b.client_id,
                sa.func.count(),
                debit,
                credit,
                sa.func.min(b.journal_no),
                sa.func.max(b.journal_no),
                sa.func.min(b.document_date),
                sa.func.max(b.document_date),
            ).group_by(b.client_id)
            partner_stmt = sa.select(p.client_id, p.kind, sa.func.count()).group_by(
                p.client_id, p.kind
            )
            with self._connect() as conn:
                booking_rows = conn.execute(booking_stmt).all()
                partner_rows = conn.execute(partner_stmt).all()
        per_client = {str(r[0]): r for r in booking_rows}
        debtors: dict[str, int] = {}
        creditors: dict[str, int] = {}
        for client_id, kind, count in partner_rows:
            target = debtors if kind == "debtor" else creditors
            target[str(client_id)] = target.get(str(client_id), 0) + int(count)
        # Clients first in catalog order, then bookings of ids the clients table lacks.
        ids = list(catalog.clients) + sorted(set(per_client) - set(catalog.clients))
        result = []
        for cid in ids:
            row = per_client.get(cid)
            client = catalog.clients.get(cid)
            result.append(
                ClientStats(
                    client_id=cid,
                    name=client.name if client else "(unbekannter Mandant)",
                    bookings=int(row[1]) if row else 0,
                    debit_cents=_sum_cents(row[2]) if row else 0,
                    credit_cents=_sum_cents(row[3]) if row else 0,
                    first_journal_no=whole_number(row[4]) if row else None,
                    last_journal_no=whole_number(row[5]) if row else None,
                    first_date=_iso(row[6]) if row else None,
                    last_date=_iso(row[7]) if row else None,
                    debtors=debtors.get(cid, 0),
                    creditors=creditors.get(cid, 0),
                )
            )
        return result


# --------------------------------------------------------------------------- documents


class _DocumentsTable(NamedTuple):
    name: str  # as the database spells it
    columns: frozenset[str]  # lower-case
    rowid: bool  # an embedded rowid table: BLOBs can be streamed with blobopen


class _Window(NamedTuple):
    """A page of `Ledger.documents`: journal numbers first … last, or only `numbers`."""

    first: int
    last: int
    numbers: tuple[int, ...] | None = None


def _document_windows(numbers: Iterable[int] | range) -> Iterator[_Window]:
    """Pages of journal numbers: a `range` (step 1) in windows of `_DOCUMENT_WINDOW`
    numbers without materialising it; anything else sorted, in chunks of at most
    `_DOCUMENT_IN_MAX` (a contiguous chunk as a range)."""
    if isinstance(numbers, range) and numbers.step == 1:
        for low in range(numbers.start, numbers.stop, _DOCUMENT_WINDOW):
            yield _Window(low, min(low + _DOCUMENT_WINDOW, numbers.stop) - 1)
        return
    wanted = sorted({int(n) for n in numbers})
    for i in range(0, len(wanted), _DOCUMENT_IN_MAX):
        chunk = wanted[i : i + _DOCUMENT_IN_MAX]
        contiguous = chunk[-1] - chunk[0] + 1 == len(chunk)
        yield _Window(chunk[0], chunk[-1], None if contiguous else tuple(chunk))


def _window_sql(window: _Window) -> tuple[str, list[int]]:
    if window.numbers is None:
        return "journal_no BETWEEN ? AND ?", [window.first, window.last]
    numbers = list(window.numbers)
    return f"journal_no {_marks(numbers)}", numbers


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _documents_clause(table: _DocumentsTable) -> sa.TableClause:
    import sqlalchemy as sa

    return sa.table(table.name, *(sa.column(c) for c in DOCUMENT_COLUMNS if c in table.columns))


def _file_chunks(fh: Any, ref: DocumentRef) -> Iterator[bytes]:
    try:
        while chunk := fh.read(DOCUMENT_CHUNK):
            yield chunk
    except OSError as exc:
        raise LedgerError(f"{ref.where}: Datei nicht lesbar: {ref.path} ({exc.strerror})") from exc


def _blob_chunks(blob: sqlite3.Blob, ref: DocumentRef) -> Iterator[bytes]:
    try:
        while chunk := blob.read(DOCUMENT_CHUNK):
            yield chunk
    except sqlite3.Error as exc:
        raise LedgerError(f"{ref.where}: nicht lesbar ({exc})") from exc


# --------------------------------------------------------------------------- formatting


def format_int(value: int) -> str:
    """German thousands separator: 1234567 -> '1.234.567'."""
    return f"{value:,}".replace(",", ".")


def format_eur(cents: int) -> str:
    """German money: 123456789 -> '1.234.567,89'."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{format_int(euros)},{rest:02d}"


def _german_date(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return date.fromisoformat(iso).strftime("%d.%m.%Y")
    except ValueError:
        return iso


def format_stats(stats: list[ClientStats]) -> str:
    """A German table for `buchex ledger stats`, one line per client plus a total."""
    headers = ("Mandant", "Buchungen", "Summe Soll EUR", "Summe Haben EUR", "Zeitraum", "Partner")
    rows: list[tuple[str, ...]] = []
    for s in stats:
        period = ""
        if s.first_date:
            period = f"{_german_date(s.first_date)} – {_german_date(s.last_date)}"
        rows.append(
            (
                f"{s.client_id} {s.name}",
                format_int(s.bookings),
                format_eur(s.debit_cents),
                format_eur(s.credit_cents),
                period,
                format_int(s.partners),
            )
        )
    if len(stats) > 1:
        rows.append(
            (
                "Gesamt",
                format_int(sum(s.bookings for s in stats)),
                format_eur(sum(s.debit_cents for s in stats)),
                format_eur(sum(s.credit_cents for s in stats)),
                "",
                format_int(sum(s.partners for s in stats)),
            )
        )
    if not rows:
        return "Keine Mandanten in der Buchhaltung."
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    right = {1, 2, 3, 5}  # numbers right-aligned

    def line(cells: tuple[str, ...]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [line(headers), rule, *(line(r) for r in rows[: len(stats)])]
    if len(rows) > len(stats):  # the total, set off by a rule
        out += [rule, line(rows[-1])]
    return "\n".join(out)
