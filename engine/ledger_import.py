"""CSV import of bookings into the embedded ledger (`buchex ledger import FILE`).

File format
- UTF-8 (a byte order mark is allowed); standard CSV quoting ("…", quotes doubled).
- Line 1: column names of the SPEC §5 `bookings` table, in any order.
- Delimiter `;` or `,`: whichever occurs more often in the header line. The column names
  contain neither, so the header decides unambiguously (csv.Sniffer could be misled by
  decimal commas in the data).
- Required columns: client_id, branch_id, document_type, document_no, document_date
  (YYYY-MM-DD), debit_credit (S or H), account, contra_account (1–9 digits), and the amount
  as either
    amount_cents  whole cents, an integer > 0 (e.g. 123450), or
    amount        euros > 0 with `,` or `.` as decimal separator, at most two decimals, no
                  thousands separator (e.g. 1234,50 or 1234.5).
- Optional columns: journal_no, tax_key (1–4 digits), text, payment_method,
  partner_account (1–9 digits), cost_center. Empty cells are NULL.
- Unknown or duplicate columns are errors (a misspelt column would otherwise lose data).
- journal_no: with the column, every row needs one, strictly increasing and above the
  ledger's highest; without it, numbers continue after the highest in file order.
- Blanks around cells are ignored; rows with only empty cells are skipped.

All or nothing: every row is checked and every problem reported as (line, column, reason);
if there is any, nothing is loaded. The file is streamed and inserted in batches inside one
transaction that is rolled back on the first problem, so memory stays small for big files.

Once only: the SHA-256 of every imported file is kept in the ledger (`buchex_imports`, in
the same transaction as its rows). The same content again (also under another name) is
refused with `AlreadyImported`, unless `again=True` (`buchex ledger import --again`):
without journal numbers in the file it would silently load every booking a second time.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import sqlite3
import stat
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final, TextIO

from engine.errors import AlreadyImported, LedgerError
from engine.ledger import (
    BOOKING_COLUMNS,
    DOCUMENTS_TABLE,
    SCHEMA_DOCUMENTS_SQL,
    missing_ledger_message,
    write_lock,
)

REQUIRED: Final = (
    "client_id",
    "branch_id",
    "document_type",
    "document_no",
    "document_date",
    "debit_credit",
    "account",
    "contra_account",
)
OPTIONAL: Final = (
    "journal_no",
    "tax_key",
    "text",
    "payment_method",
    "partner_account",
    "cost_center",
)
AMOUNT_COLUMNS: Final = ("amount_cents", "amount")
KNOWN: Final = frozenset(REQUIRED + OPTIONAL + AMOUNT_COLUMNS)

BATCH_SIZE: Final = 10_000

_DIGITS = re.compile(r"[0-9]+")
_ACCOUNT = re.compile(r"[0-9]{1,9}")
_TAX_KEY = re.compile(r"[0-9]{1,4}")
_AMOUNT = re.compile(r"([0-9]+)(?:[.,]([0-9]{1,2}))?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_IMPORTS_SQL = """
CREATE TABLE IF NOT EXISTS buchex_imports (
    sha256           TEXT NOT NULL,
    file             TEXT NOT NULL,
    imported_at      TEXT NOT NULL,
    rows             INTEGER NOT NULL,
    first_journal_no INTEGER,
    last_journal_no  INTEGER
)
"""

_INSERT = (
    f"INSERT INTO bookings ({', '.join(BOOKING_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in BOOKING_COLUMNS)})"
)


@dataclass(frozen=True)
class ImportProblem:
    line: int  # 1 = header line
    column: str  # empty when the whole line is meant
    reason: str  # German

    def __str__(self) -> str:
        if self.column:
            return f"Zeile {self.line}, Spalte {self.column}: {self.reason}"
        return f"Zeile {self.line}: {self.reason}"


@dataclass(frozen=True)
class ImportResult:
    imported: int
    first_journal_no: int | None
    last_journal_no: int | None
    problems: tuple[ImportProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def format_problems(
    problems: tuple[ImportProblem, ...] | list[ImportProblem], limit: int = 50
) -> str:
    """One problem a line; beyond `limit` a count of the rest."""
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"… und {len(problems) - limit} weitere Fehler")
    return "\n".join(lines)


def _column_problems(
    header: list[str], known: Collection[str], required: Iterable[str]
) -> tuple[list[ImportProblem], set[str]]:
    """A header line's doubled, unknown and missing columns; and the columns it has."""
    problems: list[ImportProblem] = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(ImportProblem(1, name, "Spalte kommt doppelt vor"))
        elif name not in known:
            problems.append(ImportProblem(1, name or "(leer)", "unbekannte Spalte"))
        seen.add(name)
    problems.extend(ImportProblem(1, n, "Pflichtspalte fehlt") for n in required if n not in seen)
    return problems, seen


def _header_problems(header: list[str]) -> list[ImportProblem]:
    problems, seen = _column_problems(header, KNOWN, REQUIRED)
    amounts = [n for n in AMOUNT_COLUMNS if n in seen]
    if not amounts:
        problems.append(
            ImportProblem(1, "amount_cents", "Pflichtspalte fehlt (amount_cents oder amount)")
        )
    elif len(amounts) == 2:
        problems.append(
            ImportProblem(1, "amount", "nur eine der Spalten amount_cents oder amount angeben")
        )
    return problems


class _Catalog:
    """What rows are checked against, read inside the import's write transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        try:
            self.clients: dict[str, Any] = {
                str(cid): cid for (cid,) in conn.execute("SELECT id FROM clients")
            }
            self.branches: dict[str, tuple[Any, str]] = {
                str(bid): (bid, str(cid))
                for bid, cid in conn.execute("SELECT id, client_id FROM branches")
            }
            self.document_types = {
                str(c) for (c,) in conn.execute("SELECT code FROM document_types")
            }
            self.payment_methods = {
                str(c) for (c,) in conn.execute("SELECT code FROM payment_methods")
            }
            self.max_journal_no = int(
                conn.execute("SELECT coalesce(max(journal_no), 0) FROM bookings").fetchone()[0]
            )
        except sqlite3.OperationalError as exc:
            missing = re.search(r"no such table: (\w+)", str(exc))
            if missing:
                raise LedgerError(f"Tabelle {missing.group(1)} fehlt in der Buchhaltung") from exc
            raise


def _csv_lines(
    fh: TextIO, delimiter: str, width: int, problems: list[ImportProblem]
) -> Iterator[tuple[int, list[str]]]:
    """The data rows after a CSV's header line: (physical line number, stripped cells).
    Blank rows are skipped; a row with another field count than the header is a problem;
    a file that is not UTF-8 or breaks the quoting is a problem that ends the reading."""
    reader = csv.reader(fh, delimiter=delimiter, strict=True)
    consumed = 1  # physical lines read so far (the header)
    while True:
        line = consumed + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            problems.append(ImportProblem(line, "", "Datei ist nicht UTF-8-kodiert"))
            return
        except csv.Error as exc:
            problems.append(ImportProblem(line, "", f"fehlerhafte CSV-Zeile ({exc})"))
            return
        consumed = 1 + reader.line_num
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) != width:
            problems.append(
                ImportProblem(line, "", f"{len(cells)} Felder statt {width} wie in Zeile 1")
            )
            continue
        yield line, cells


def import_bookings(
    ledger_path: Path, csv_file: Path, *, batch_size: int = BATCH_SIZE, again: bool = False
) -> ImportResult:
    """Load bookings from `csv_file` into the SQLite ledger at `ledger_path`, all or nothing.

    Problems with the data come back in `ImportResult.problems` (nothing loaded then);
    a missing ledger or an unreadable file raise LedgerError; a file whose content was
    imported before raises AlreadyImported unless `again`.
    """
    ledger_path, csv_file = Path(ledger_path), Path(csv_file)
    with _import_transaction(ledger_path, csv_file) as (fh, conn):
        try:
            digest = _sha256(csv_file)
        except OSError as exc:
            raise LedgerError(f"Importdatei nicht lesbar: {csv_file} ({exc.strerror})") from exc
        conn.execute(_IMPORTS_SQL)
        earlier = conn.execute(
            "SELECT file, imported_at, rows, first_journal_no, last_journal_no "
            "FROM buchex_imports WHERE sha256 = ? ORDER BY imported_at DESC LIMIT 1",
            (digest,),
        ).fetchone()
        if earlier is not None and not again:
            raise AlreadyImported(_already_message(csv_file, *earlier))
        result = _load(conn, _Catalog(conn), fh, batch_size)
        if not result.problems:
            conn.execute(
                "INSERT INTO buchex_imports VALUES (?, ?, ?, ?, ?, ?)",
                (
                    digest,
                    str(csv_file.absolute()),
                    datetime.now().astimezone().isoformat(timespec="seconds"),
                    result.imported,
                    result.first_journal_no,
                    result.last_journal_no,
                ),
            )
        conn.execute("ROLLBACK" if result.problems else "COMMIT")
        return result


@contextmanager
def _import_transaction(
    ledger_path: Path, csv_file: Path
) -> Iterator[tuple[TextIO, sqlite3.Connection]]:
    """The CSV file open and the embedded ledger locked for writing, in an IMMEDIATE
    transaction (the caller commits or rolls back; an exception rolls back). A missing
    ledger, an unreadable file or an SQLite error is a German LedgerError."""
    if not ledger_path.is_file():
        raise LedgerError(missing_ledger_message(ledger_path))
    try:
        fh = open(csv_file, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise LedgerError(f"Importdatei nicht lesbar: {csv_file} ({exc.strerror})") from exc
    with fh, write_lock(ledger_path):
        conn = sqlite3.connect(ledger_path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA foreign_keys = ON")  # a second safety net behind the checks
            # IMMEDIATE: take the write lock now so nothing changes under the checks.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield fh, conn
            finally:
                if conn.in_transaction:  # an exception, or a caller that decided nothing
                    conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise LedgerError(f"Import abgebrochen, nichts übernommen: {exc}") from exc
        finally:
            conn.close()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _already_message(
    csv_file: Path, file: str, when: str, rows: int, first: int | None, last: int | None
) -> str:
    try:
        stamp = datetime.fromisoformat(when).strftime("%d.%m.%Y um %H:%M")
    except ValueError:
        stamp = when
    numbers = f", Journalnummern {first}–{last}" if first is not None else ""
    return (
        f"{csv_file}: diese Datei wurde bereits importiert (am {stamp}, {rows} Buchungen"
        f"{numbers}, aus {file}); nichts importiert. Noch einmal importiert stünde jede "
        "Buchung doppelt in der Buchhaltung. Ist das wirklich gewollt: "
        f"buchex ledger import {csv_file} --again"
    )


def _load(conn: sqlite3.Connection, cat: _Catalog, fh: TextIO, batch_size: int) -> ImportResult:
    problems: list[ImportProblem] = []
    try:
        first_line = fh.readline()
    except UnicodeDecodeError:
        return _result(0, None, None, [ImportProblem(1, "", "Datei ist nicht UTF-8-kodiert")])
    if not first_line.strip():
        return _result(0, None, None, [ImportProblem(1, "", "Kopfzeile mit Spaltennamen fehlt")])
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    header = [h.strip().lower() for h in next(csv.reader([first_line], delimiter=delimiter))]
    problems = _header_problems(header)
    if problems:
        return _result(0, None, None, problems)

    col = {name: i for i, name in enumerate(header)}
    has_journal = "journal_no" in col
    amount_in_cents = "amount_cents" in col
    amount_idx = col["amount_cents" if amount_in_cents else "amount"]
    i_client, i_branch = col["client_id"], col["branch_id"]
    i_type, i_no, i_date = col["document_type"], col["document_no"], col["document_date"]
    i_dc, i_acc, i_contra = col["debit_credit"], col["account"], col["contra_account"]
    optional_idx = {name: col.get(name) for name in OPTIONAL}

    # Closures over the loop's current `cells` and `line`, defined once for speed.
    cells: list[str] = []
    line = 1

    def bad(column: str, reason: str) -> None:
        problems.append(ImportProblem(line, column, reason))

    def required(idx: int, column: str) -> str:
        value = cells[idx]
        if not value:
            bad(column, "Pflichtfeld ist leer")
        return value

    def optional(column: str) -> str | None:
        idx = optional_idx[column]
        if idx is None or not cells[idx]:
            return None
        return cells[idx]

    last_journal = cat.max_journal_no
    first_new: int | None = None
    batch: list[tuple[Any, ...]] = []
    imported = 0
    # `line` and `cells` are read by the closures above (B007 cannot see that)
    for line, cells in _csv_lines(fh, delimiter, len(header), problems):  # noqa: B007
        # journal_no
        if has_journal:
            raw = cells[col["journal_no"]]
            if _DIGITS.fullmatch(raw) and int(raw) > last_journal:
                journal = last_journal = int(raw)
            else:
                journal = last_journal + 1
                bad(
                    "journal_no",
                    f"muss eine ganze Zahl größer als {last_journal} sein (Journalnummern "
                    f"steigen und liegen über den vorhandenen bis {cat.max_journal_no})",
                )
        else:
            journal = last_journal = last_journal + 1

        # client and branch
        client_raw = required(i_client, "client_id")
        client_key = cat.clients.get(client_raw)
        if client_raw and client_key is None:
            bad("client_id", f"Mandant {client_raw} existiert nicht")
        branch_raw = required(i_branch, "branch_id")
        branch = cat.branches.get(branch_raw)
        if branch_raw and branch is None:
            bad("branch_id", f"Filiale {branch_raw} existiert nicht")
        elif branch is not None and client_key is not None and branch[1] != client_raw:
            bad("branch_id", f"Filiale {branch_raw} gehört nicht zu Mandant {client_raw}")

        doc_type = required(i_type, "document_type")
        if doc_type and doc_type not in cat.document_types:
            bad("document_type", f"Belegart {doc_type} existiert nicht")
        doc_no = required(i_no, "document_no")

        raw_date = cells[i_date]
        try:
            if not _ISO_DATE.fullmatch(raw_date):
                raise ValueError(raw_date)
            doc_date = date.fromisoformat(raw_date).isoformat()
        except ValueError:
            bad("document_date", "muss ein gültiges Datum im Format JJJJ-MM-TT sein")
            doc_date = ""

        raw_amount = cells[amount_idx]
        amount = 0
        if amount_in_cents:
            if _DIGITS.fullmatch(raw_amount):
                amount = int(raw_amount)
            if amount <= 0:
                bad("amount_cents", "muss eine ganze Zahl größer 0 sein")
        else:
            m = _AMOUNT.fullmatch(raw_amount)
            if m:
                amount = int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))
            if amount <= 0:
                bad(
                    "amount",
                    "muss ein Betrag größer 0 mit höchstens zwei Nachkommastellen sein "
                    "(z. B. 1234,50)",
                )

        dc = cells[i_dc].upper()
        if dc not in ("S", "H"):
            bad("debit_credit", "muss S oder H sein")

        for idx, column in ((i_acc, "account"), (i_contra, "contra_account")):
            if not _ACCOUNT.fullmatch(cells[idx]):
                bad(column, "muss eine Kontonummer aus 1 bis 9 Ziffern sein")
        partner = optional("partner_account")
        if partner is not None and not _ACCOUNT.fullmatch(partner):
            bad("partner_account", "muss eine Kontonummer aus 1 bis 9 Ziffern sein")
        tax_key = optional("tax_key")
        if tax_key is not None and not _TAX_KEY.fullmatch(tax_key):
            bad("tax_key", "muss ein BU-Schlüssel aus 1 bis 4 Ziffern sein")
        method = optional("payment_method")
        if method is not None and method not in cat.payment_methods:
            bad("payment_method", f"Zahlungsart {method} existiert nicht")

        if problems:
            continue  # keep checking every row, but load nothing any more
        batch.append(
            (
                journal,
                client_key,
                branch[0] if branch else None,
                doc_type,
                doc_no,
                doc_date,
                amount,
                dc,
                cells[i_acc],
                cells[i_contra],
                tax_key,
                optional("text"),
                method,
                partner,
                optional("cost_center"),
            )
        )
        if first_new is None:
            first_new = journal
        if len(batch) >= batch_size:
            conn.executemany(_INSERT, batch)
            imported += len(batch)
            batch.clear()

    if problems:
        return _result(0, None, None, problems)
    if batch:
        conn.executemany(_INSERT, batch)
        imported += len(batch)
    return _result(imported, first_new, last_journal if imported else None, problems)


def _result(
    imported: int, first: int | None, last: int | None, problems: list[ImportProblem]
) -> ImportResult:
    return ImportResult(imported, first, last, tuple(problems))


# --------------------------------------------------------------------------- document images

DOCUMENT_REQUIRED: Final = ("client_id", "journal_no", "file")
DOCUMENT_OPTIONAL: Final = ("file_name", "media_type")
_DOCUMENT_KNOWN: Final = frozenset(DOCUMENT_REQUIRED + DOCUMENT_OPTIONAL)
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")
_COPY_CHUNK: Final = 1 << 20


@dataclass(frozen=True)
class DocumentImportResult:
    imported: int  # documents
    bytes: int  # their total size
    problems: tuple[ImportProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def import_documents(ledger_path: Path, csv_file: Path) -> DocumentImportResult:
    """Load document images ("Belegbilder") listed in `csv_file` into the `documents` table
    of the embedded ledger, as BLOBs, all or nothing (`buchex ledger import-documents`).

    The CSV (UTF-8, `;` or `,` as in `import_bookings`): required columns client_id,
    journal_no (the booking's journal number) and file (a path, relative to the CSV's
    folder); optional file_name (default: the file's own name) and media_type (default:
    guessed from the extension). Every row is checked (client, booking of that client, file
    readable and not empty, name without folders, known media type, not yet in the ledger,
    not twice in the file) and every problem reported as (line, column, reason); if there
    is any, nothing is loaded. Files are copied in chunks (zeroblob + blobopen) inside one
    transaction. A ledger made before the table existed gets it.
    """
    ledger_path, csv_file = Path(ledger_path), Path(csv_file)
    with _import_transaction(ledger_path, csv_file) as (fh, conn):
        kind = conn.execute(
            "SELECT type FROM sqlite_master WHERE name = ? COLLATE NOCASE", (DOCUMENTS_TABLE,)
        ).fetchone()
        if kind is not None and kind[0] != "table":
            raise LedgerError(
                f"{DOCUMENTS_TABLE} ist in der Buchhaltung keine Tabelle, sondern "
                f"{kind[0]}; Belege dort nicht importierbar: {ledger_path}"
            )
        if kind is None:  # a ledger made before the table existed
            conn.execute(SCHEMA_DOCUMENTS_SQL)
        result = _load_documents(conn, fh, csv_file.absolute().parent)
        conn.execute("ROLLBACK" if result.problems else "COMMIT")
        return result


def _document_header_problems(header: list[str]) -> list[ImportProblem]:
    return _column_problems(header, _DOCUMENT_KNOWN, DOCUMENT_REQUIRED)[0]


def _load_documents(conn: sqlite3.Connection, fh: TextIO, base: Path) -> DocumentImportResult:
    import mimetypes

    def result(
        problems: list[ImportProblem], imported: int = 0, size: int = 0
    ) -> DocumentImportResult:
        return DocumentImportResult(imported, size, tuple(problems))

    try:
        first_line = fh.readline()
    except UnicodeDecodeError:
        return result([ImportProblem(1, "", "Datei ist nicht UTF-8-kodiert")])
    if not first_line.strip():
        return result([ImportProblem(1, "", "Kopfzeile mit Spaltennamen fehlt")])
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    header = [h.strip().lower() for h in next(csv.reader([first_line], delimiter=delimiter))]
    problems = _document_header_problems(header)
    if problems:
        return result(problems)
    clients = {str(cid): cid for (cid,) in conn.execute("SELECT id FROM clients")}
    max_length = conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
    seen: dict[tuple[str, int, str], int] = {}  # document -> line
    imported = total = 0
    for line, cells in _csv_lines(fh, delimiter, len(header), problems):
        found: list[ImportProblem] = []

        def bad(
            column: str, reason: str, at: int = line, found: list[ImportProblem] = found
        ) -> None:
            found.append(ImportProblem(at, column, reason))

        values = dict(zip(header, cells, strict=True))
        client_raw, journal_raw = values["client_id"], values["journal_no"]
        file_raw = values["file"]
        client_key = clients.get(client_raw)
        if not client_raw:
            bad("client_id", "Pflichtfeld ist leer")
        elif client_key is None:
            bad("client_id", f"Mandant {client_raw} existiert nicht")
        journal = int(journal_raw) if _DIGITS.fullmatch(journal_raw) else None
        if journal is None:
            bad("journal_no", "muss die Journalnummer einer Buchung sein (eine ganze Zahl)")
        else:
            owner = conn.execute(
                "SELECT client_id FROM bookings WHERE journal_no = ?", (journal,)
            ).fetchone()
            if owner is None:
                bad("journal_no", f"Buchung mit Journalnummer {journal} existiert nicht")
            elif client_key is not None and str(owner[0]) != client_raw:
                bad(
                    "journal_no",
                    f"Buchung {journal} gehört zu Mandant {owner[0]}, nicht zu {client_raw}",
                )
        path: Path | None = None
        size = 0
        if not file_raw:
            bad("file", "Pflichtfeld ist leer")
        else:
            path = Path(file_raw)
            path = path if path.is_absolute() else base / path
            try:
                info = os.stat(path)
                if not stat.S_ISREG(info.st_mode):
                    bad("file", f"keine Datei: {path}")
                else:
                    os.close(os.open(path, os.O_RDONLY))
                    size = info.st_size
                    if size == 0:
                        bad("file", f"Datei ist leer (0 Bytes): {path}")
                    elif size > max_length:
                        bad("file", f"Datei ist zu groß für die Buchhaltung ({size} Bytes): {path}")
            except FileNotFoundError:
                bad("file", f"Datei nicht gefunden: {path}")
            except OSError as exc:
                bad("file", f"Datei nicht lesbar: {path} ({exc.strerror})")
        file_name = values.get("file_name") or (path.name if path is not None else "")
        if "/" in file_name or "\\" in file_name:
            bad("file_name", f"„{file_name}“ darf keinen Ordner enthalten, nur den Dateinamen")
        media_type = values.get("media_type", "").lower()
        if not media_type and file_name:
            media_type = mimetypes.guess_type(file_name)[0] or ""
            if not media_type:
                bad("media_type", f"Medientyp von „{file_name}“ nicht erkennbar; Spalte angeben")
        elif media_type and not _MEDIA_TYPE.fullmatch(media_type):
            bad("media_type", f"„{media_type}“ ist kein Medientyp (z. B. application/pdf)")
        if client_key is not None and journal is not None and file_name and not found:
            key = (client_raw, journal, file_name)
            if key in seen:
                bad(
                    "file_name", f"„{file_name}“ steht für diese Buchung schon in Zeile {seen[key]}"
                )
            elif conn.execute(
                f"SELECT 1 FROM {DOCUMENTS_TABLE}"
                " WHERE client_id = ? AND journal_no = ? AND file_name = ?",
                (client_key, journal, file_name),
            ).fetchone():
                bad("file_name", f"„{file_name}“ ist zu Buchung {journal} schon gespeichert")
            seen[key] = line
        problems.extend(found)
        if problems or path is None:
            continue  # keep checking every row, but load nothing any more
        copied = _copy_document(conn, (client_key, journal, file_name, media_type), path, size)
        if copied is not None:
            problems.append(ImportProblem(line, "file", copied))
            continue
        imported += 1
        total += size
    if problems:
        return result(problems)
    return result([], imported, total)


def _copy_document(
    conn: sqlite3.Connection, values: tuple[Any, ...], path: Path, size: int
) -> str | None:
    """Insert one document with a zeroblob of `size` and stream the file into it; a German
    reason if the file could not be read as it was checked (changed meanwhile)."""
    cursor = conn.execute(
        f"INSERT INTO {DOCUMENTS_TABLE} (client_id, journal_no, file_name, media_type, content)"
        " VALUES (?, ?, ?, ?, zeroblob(?))",
        (*values, size),
    )
    rowid = cursor.lastrowid
    assert rowid is not None
    written = 0
    try:
        with path.open("rb") as src, conn.blobopen(DOCUMENTS_TABLE, "content", rowid) as blob:
            while written < size and (chunk := src.read(min(_COPY_CHUNK, size - written))):
                blob.write(chunk)
                written += len(chunk)
            if written < size or src.read(1):
                return f"Datei hat sich beim Lesen geändert: {path}"
    except OSError as exc:
        return f"Datei nicht lesbar: {path} ({exc.strerror})"
    return None
