"""Bad data from a user's own ledger (issue 16, items 1–4): named refusals, never "None",
never a truncated amount, never "Interner Fehler".

The embedded schema's CHECK constraints keep such values out of ledger.sqlite; a user's own
database has none. So these ledgers are plain SQLite tables without types or constraints,
and `bookings` a VIEW computing `amount_cents` from a REAL euro column, as a chain's view
over its own tables would. One case runs on the real PostgreSQL server.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from engine.errors import LedgerError
from engine.export import ExportError, export
from engine.ledger import CONTRACT, Ledger
from tests import datev_reader
from tests.conftest import run_cli
from tests.servers import FTPServer
from tests.test_export import (
    BRANCHES,
    CLIENTS,
    DOCUMENT_TYPES,
    NOW,
    PARTNERS,
    PAYMENT_METHODS,
    config,
)

COLUMNS = CONTRACT["bookings"]


def row(journal_no: Any, **changes: Any) -> tuple[Any, ...]:
    """A clean booking of client 1 (amount in euros for the view), with `changes`."""
    values: dict[str, Any] = {
        "journal_no": journal_no,
        "client_id": 1,
        "branch_id": 10,
        "document_type": "KR",
        "document_no": f"RE-{journal_no}",
        "document_date": "2025-03-03",
        "amount": 1.0,
        "debit_credit": "S",
        "account": "1000",
        "contra_account": "8400",
        "tax_key": None,
        "text": f"Buchung {journal_no}",
        "payment_method": None,
        "partner_account": None,
        "cost_center": None,
    }
    values.update(changes)
    return tuple(values.values())


def own_ledger(path: Path, bookings: Sequence[tuple[Any, ...]], *, view: bool = True) -> Path:
    """A user's own database: the contract's tables without types or CHECK constraints.

    `view`: bookings is a VIEW computing amount_cents = amount * 100 over a REAL column;
    else a plain table whose amount column is amount_cents itself (any value goes)."""
    conn = sqlite3.connect(path)
    with conn:
        for table, columns in CONTRACT.items():
            if table != "bookings":
                conn.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
        names = ["amount REAL" if c == "amount_cents" else c for c in COLUMNS]
        if view:
            conn.execute(f"CREATE TABLE buchungen ({', '.join(names)})")
            select = ", ".join("amount * 100 AS amount_cents" if c == "amount_cents" else c
                               for c in COLUMNS)  # fmt: skip
            conn.execute(f"CREATE VIEW bookings AS SELECT {select} FROM buchungen")
            target = "buchungen"
        else:
            conn.execute(f"CREATE TABLE bookings ({', '.join(COLUMNS)})")
            target = "bookings"
        conn.executemany("INSERT INTO clients VALUES (?, ?, ?, ?, ?, ?, ?, ?)", CLIENTS)
        conn.executemany("INSERT INTO branches VALUES (?, ?, ?, ?)", BRANCHES)
        conn.executemany("INSERT INTO document_types VALUES (?, ?, ?)", DOCUMENT_TYPES)
        conn.executemany("INSERT INTO payment_methods VALUES (?, ?)", PAYMENT_METHODS)
        conn.executemany("INSERT INTO partners VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", PARTNERS)
        marks = ", ".join("?" for _ in COLUMNS)
        conn.executemany(f"INSERT INTO {target} VALUES ({marks})", bookings)
    conn.close()
    return path


def run_export(path: Path, out: Path, **changes: Any) -> Any:
    with Ledger(f"sqlite:///{path}") as ledger:
        return export(config(clients=("1",), **changes), ledger, {}, out, now=NOW)


def refusal(path: Path, out: Path, **changes: Any) -> ExportError:
    with pytest.raises(ExportError) as info:
        run_export(path, out, **changes)
    assert not out.exists() or not any(out.iterdir()), "nothing of a refused run is left"
    return info.value


@pytest.mark.parametrize("fmt", ["datev", "csv"])
def test_null_in_a_required_column_is_refused_never_written_as_none(
    tmp_path: Path, fmt: str
) -> None:
    path = own_ledger(
        tmp_path / "own.sqlite",
        [row(1), row(2, document_no=None), row(3, branch_id=None), row(4, account=None)],
    )
    error = refusal(path, tmp_path / "out", format=fmt, incoming_format=fmt)
    assert error.journal_nos == (2, 3, 4)
    text = str(error)
    assert "Journalnummer 2: Belegnummer (document_no): fehlt (NULL)" in text
    assert "Journalnummer 3: Filiale (branch_id): fehlt (NULL)" in text
    assert "Journalnummer 4: Konto (account): fehlt (NULL)" in text


def test_optional_nulls_stay_empty_and_master_data_names_never_say_none(tmp_path: Path) -> None:
    path = own_ledger(tmp_path / "own.sqlite", [row(1, text=None, tax_key=None)])
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE branches SET name = NULL WHERE id = 10")
        conn.execute("UPDATE document_types SET name = NULL WHERE code = 'KR'")
    conn.close()
    result = run_export(path, tmp_path / "out")
    [data] = [f for f in result.files if f.kind == "bookings"]
    assert "None" not in data.path.read_text(encoding="cp1252")
    record = datev_reader.read(data.path).records()[0]
    assert record["Beleginfo - Inhalt 3"] == "10"  # the branch id stands in for its name
    assert record["Beleginfo - Inhalt 2"] == "KR"
    assert record["Buchungstext"] == ""


def test_fractional_amount_cents_are_rounded_to_the_cent(tmp_path: Path) -> None:
    # amount * 100 in binary floating point: 0.29 -> 28.999999999999996, 19.99 -> 1998.99…
    amounts = [0.29, 19.99, 1234.56, 0.07, 99999.99]
    path = own_ledger(tmp_path / "own.sqlite", [row(n, amount=a) for n, a in enumerate(amounts, 1)])
    result = run_export(path, tmp_path / "datev")
    [data] = [f for f in result.files if f.kind == "bookings"]
    assert datev_reader.read(data.path).column("Umsatz (ohne Soll/Haben-Kz)") == [
        "0,29", "19,99", "1234,56", "0,07", "99999,99"
    ]  # fmt: skip
    assert data.debit_cents == 29 + 1999 + 123456 + 7 + 9999999

    with Ledger(f"sqlite:///{path}") as ledger:  # the same through short pages
        paged = list(ledger.bookings("1", page_size=2))
    assert [b.amount_cents for b in paged] == [29, 1999, 123456, 7, 9999999]

    result = run_export(path, tmp_path / "csv", format="csv", incoming_format="csv")
    [data] = [f for f in result.files if f.kind == "bookings"]
    assert data.debit_cents == 29 + 1999 + 123456 + 7 + 9999999
    text = data.path.read_text(encoding="utf-8-sig")
    assert not any(cut in text for cut in ("0,28", "0.28", "19,98", "19.98", "1234,55"))


def test_a_fraction_of_a_cent_is_refused_naming_the_booking(tmp_path: Path) -> None:
    path = own_ledger(
        tmp_path / "own.sqlite", [row(1, amount=0.29), row(2, amount=0.285), row(3, amount=1.5)]
    )
    error = refusal(path, tmp_path / "out")
    assert error.journal_nos == (2,)
    assert "Journalnummer 2: Betrag (amount_cents): „28.49" in str(error)
    assert "kein ganzer Cent-Betrag" in str(error)


def test_bad_dates_and_amounts_name_journal_number_column_and_value(tmp_path: Path) -> None:
    bookings = [
        row(1, amount=1999),
        row(2, document_date="2025-02-30", amount=100),
        row(3, document_date=None, amount=100),
        row(4, document_date="21.11.2026", amount=100),
        row(5, amount=None),
        row(6, amount="12,34"),
        row(7, amount="zwölf"),
        row(8, amount=100, document_date="2025-03-04 10:15:00"),  # DATETIME text: fine
        row(9, amount=100, document_date=2726090100),  # a number (Python reads 2726-09-01)
        row(10, amount=100, document_date="20250303"),  # not the contract's YYYY-MM-DD
    ]
    path = own_ledger(tmp_path / "own.sqlite", bookings, view=False)
    error = refusal(path, tmp_path / "out")
    assert error.journal_nos == (2, 3, 4, 5, 6, 7, 9, 10)
    text = str(error)
    for expected in (
        "Journalnummer 2: Belegdatum (document_date): „2025-02-30“ ist kein gültiges Datum",
        "Journalnummer 3: Belegdatum (document_date): fehlt (NULL)",
        "Journalnummer 4: Belegdatum (document_date): „21.11.2026“ ist kein gültiges Datum",
        "Journalnummer 5: Betrag (amount_cents): fehlt (NULL)",
        "Journalnummer 6: Betrag (amount_cents): „12,34“ ist kein Betrag in Cent",
        "Journalnummer 7: Betrag (amount_cents): „zwölf“ ist kein Betrag in Cent",
        "Journalnummer 9: Belegdatum (document_date): „2726090100“ ist kein gültiges Datum",
        "Journalnummer 10: Belegdatum (document_date): „20250303“ ist kein gültiges Datum",
    ):
        assert expected in text, text
    # The same rows, read without a refusal channel: a German LedgerError, no ValueError.
    with Ledger(f"sqlite:///{path}") as ledger, pytest.raises(LedgerError, match="Journalnummer 2"):
        list(ledger.bookings("1"))


def test_duplicate_journal_numbers_are_refused_by_client_and_number(tmp_path: Path) -> None:
    bookings = [
        row(1),
        row(2),
        row(2, document_no="RE-2b"),  # same stream
        row(3),
        row(3, document_type="ER"),  # an incoming booking: another stream, same number
        row(4),
        row(4, client_id=2, branch_id=20, account="1600", contra_account="4400"),  # ok
    ]
    path = own_ledger(tmp_path / "own.sqlite", bookings, view=False)
    error = refusal(path, tmp_path / "out")
    assert error.journal_nos == (2, 3)
    assert "Journalnummer 2: Journalnummer (journal_no): kommt bei Mandant 1 mehrfach vor" in (
        str(error)
    )
    assert str(error).count("Journalnummer 3:") == 1  # named once, though read by two streams
    with Ledger(f"sqlite:///{path}") as ledger:  # one ledger, two runs: both refuse
        for out in ("a", "b"):
            with pytest.raises(ExportError) as info:
                export(config(clients=("1",)), ledger, {}, tmp_path / out, now=NOW)
            assert info.value.journal_nos == (2, 3)


def test_a_duplicate_at_a_page_boundary_is_not_lost(tmp_path: Path) -> None:
    """Keyset paging with `journal_no > last` skipped the second of two rows with the same
    number when a page ended between them."""
    bookings = [row(1), row(2), row(2, document_no="RE-2b"), row(3), row(4), row(4), row(4)]
    path = own_ledger(tmp_path / "own.sqlite", bookings, view=False)

    class Collect:
        def __init__(self) -> None:
            self.refused: list[tuple[int | None, str]] = []

        def refuse(self, journal_no: int | None, field: str, message: str) -> None:
            self.refused.append((journal_no, message))

    for page_size in (1, 2, 3, 5000):
        problems = Collect()
        with Ledger(f"sqlite:///{path}") as ledger:
            stream = ledger.bookings("1", page_size=page_size, problems=problems)
            got = [b.journal_no for b in stream]
        assert got == [1, 3], page_size
        assert [n for n, _ in problems.refused] == [2, 4], page_size
        with Ledger(f"sqlite:///{path}") as ledger, pytest.raises(LedgerError, match="mehrfach"):
            list(ledger.bookings("1", page_size=page_size))


# -- through the real command -------------------------------------------------------------


def _home_with_own_ledger(home: Path, bookings: Sequence[tuple[Any, ...]], **kw: Any) -> None:
    own_ledger(home / "ledger.sqlite", bookings, **kw)


def test_cli_export_and_run_name_the_bookings_no_internal_error(
    home: Path, tmp_path: Path, ftp: FTPServer
) -> None:
    _home_with_own_ledger(
        home,
        [row(1), row(2, document_date="2025-02-30"), row(3, amount=None), row(4, document_no=None)],
    )
    raw = {
        "id": "stb",
        "name": "Steuerbüro",
        "target": {"host": ftp.host, "port": ftp.port, "user": ftp.user, "password": ftp.password},
        "clients": ["1"],
        "document_types": ["KR"],
        "format": "datev",
        "time": "06:30",
        "interval": {"kind": "daily"},
    }
    (tmp_path / "c.json").write_text(json.dumps(raw), encoding="utf-8")
    assert run_cli(home, "config", "import", str(tmp_path / "c.json")).returncode == 0

    for args in (("export", "stb", "--out", str(tmp_path / "out")), ("run", "stb", "--force")):
        result = run_cli(home, *args)
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert "Interner Fehler" not in output and "Traceback" not in output, output
        assert "Journalnummer 2: Belegdatum (document_date): „2025-02-30“" in output, output
        assert "Journalnummer 3: Betrag (amount_cents): fehlt (NULL)" in output
        assert "Journalnummer 4: Belegnummer (document_no): fehlt (NULL)" in output
    assert not [p for p in ftp.root.rglob("*") if p.is_file()]  # nothing delivered
    assert not list((tmp_path / "out").glob("*.csv"))

    stats = run_cli(home, "ledger", "stats")  # REAL amounts: rounded sums, no crash
    assert stats.returncode == 0, stats.stderr
    assert "3,00" in stats.stdout  # four bookings of 1,00 EUR, one amount NULL


# -- `buchex ledger import` of the same file twice ----------------------------------------


IMPORT_CSV = (
    "client_id;branch_id;document_type;document_no;document_date;amount;debit_credit;"
    "account;contra_account\n"
    "1;1;KR;RE-9001;2025-03-03;19,99;S;1000;8400\n"
    "1;1;KR;RE-9002;2025-03-04;5,00;S;1000;8400\n"
)


def test_importing_the_same_file_twice_is_refused_unless_asked(
    demo_home: Path, tmp_path: Path
) -> None:
    source = tmp_path / "buchungen.csv"
    # A refused import (a bad amount) is not remembered: the corrected file loads.
    source.write_text(IMPORT_CSV.replace("19,99", "neunzehn"), encoding="utf-8")
    assert run_cli(demo_home, "ledger", "import", str(source)).returncode == 2
    source.write_text(IMPORT_CSV, encoding="utf-8")
    first = run_cli(demo_home, "ledger", "import", str(source))
    assert first.returncode == 0, first.stderr
    count = _bookings(demo_home)

    again = run_cli(demo_home, "ledger", "import", str(source))
    assert again.returncode == 2
    assert "wurde bereits importiert" in again.stderr and "--again" in again.stderr
    assert _bookings(demo_home) == count  # nothing loaded twice

    copy = tmp_path / "kopie.csv"  # the same content under another name: still the same
    copy.write_bytes(source.read_bytes())
    assert run_cli(demo_home, "ledger", "import", str(copy)).returncode == 2

    forced = run_cli(demo_home, "ledger", "import", str(source), "--again")
    assert forced.returncode == 0, forced.stderr
    assert _bookings(demo_home) == count + 2


def _bookings(home: Path) -> int:
    conn = sqlite3.connect(home / "ledger.sqlite")
    try:
        return int(conn.execute("SELECT count(*) FROM bookings").fetchone()[0])
    finally:
        conn.close()


# -- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture
def pg_bad_ledger(postgres_server: Any, postgres_db: str) -> Iterator[str]:
    """A PostgreSQL ledger whose bookings view computes NUMERIC amounts from euros and
    hands on a TEXT date column: what a chain's own view may well do."""
    with postgres_server.connect(postgres_db) as conn:
        conn.execute(
            """
            CREATE TABLE clients (id INTEGER, name TEXT, consultant_no INTEGER,
                client_no INTEGER, fiscal_year_start TEXT, account_length INTEGER,
                chart TEXT, lock_batches BOOLEAN);
            CREATE TABLE branches (id INTEGER, client_id INTEGER, name TEXT, cost_center TEXT);
            CREATE TABLE document_types (code TEXT, name TEXT, incoming BOOLEAN);
            CREATE TABLE payment_methods (code TEXT, name TEXT);
            CREATE TABLE partners (client_id INTEGER, account TEXT, kind TEXT, name TEXT,
                street TEXT, postcode TEXT, city TEXT, country TEXT, vat_id TEXT, email TEXT);
            CREATE TABLE buchungen (journalnummer BIGINT, mandant INTEGER, filiale INTEGER,
                belegart TEXT, belegnummer TEXT, belegdatum TEXT, betrag NUMERIC(14, 4),
                sh TEXT, konto TEXT, gegenkonto TEXT);
            CREATE VIEW bookings AS SELECT journalnummer AS journal_no, mandant AS client_id,
                filiale AS branch_id, belegart AS document_type, belegnummer AS document_no,
                belegdatum AS document_date, betrag * 100 AS amount_cents,
                sh AS debit_credit, konto AS account, gegenkonto AS contra_account,
                NULL::text AS tax_key, NULL::text AS text, NULL::text AS payment_method,
                NULL::text AS partner_account, NULL::text AS cost_center FROM buchungen;
            INSERT INTO clients VALUES (1, 'Optik Müller GmbH', 29098, 55003, '01-01', 4,
                'SKR03', false);
            INSERT INTO branches VALUES (10, 1, 'Würzburg', '100');
            INSERT INTO document_types VALUES ('KR', 'Kundenrechnung', false);
            INSERT INTO buchungen VALUES
                (1, 1, 10, 'KR', 'RE-1', '2025-03-03', 0.29, 'S', '1000', '8400'),
                (2, 1, 10, 'KR', 'RE-2', '2025-03-03', 19.99, 'S', '1000', '8400'),
                (3, 1, 10, 'KR', 'RE-3', '2025-02-30', 1.00, 'S', '1000', '8400'),
                (4, 1, 10, 'KR', NULL, '2025-03-03', 1.00, 'S', '1000', '8400'),
                (5, 1, 10, 'KR', 'RE-5', '2025-03-03', 0.285, 'S', '1000', '8400'),
                (6, 1, 10, 'KR', 'RE-6', '2025-03-03', 1.00, 'S', '1000', '8400'),
                (6, 1, 10, 'KR', 'RE-6b', '2025-03-03', 2.00, 'S', '1000', '8400');
            """.encode()  # several statements: the simple query protocol
        )
    yield postgres_server.url(postgres_db)


def test_postgres_view_with_numeric_amounts_and_text_dates(
    pg_bad_ledger: str, tmp_path: Path
) -> None:
    with Ledger(pg_bad_ledger) as ledger:
        with pytest.raises(ExportError) as info:
            export(config(clients=("1",), document_types=("KR",)), ledger, {}, tmp_path / "o",
                   now=NOW)  # fmt: skip
        text = str(info.value)
        assert info.value.journal_nos == (6, 3, 4, 5)
        assert "Journalnummer 3: Belegdatum (document_date): „2025-02-30“" in text
        assert "Journalnummer 4: Belegnummer (document_no): fehlt (NULL)" in text
        assert "Journalnummer 5: Betrag (amount_cents): „28.5" in text
        assert "Journalnummer 6: Journalnummer (journal_no): kommt bei Mandant 1 mehrfach" in text
        # The good ones: NUMERIC 29.0000 and 1999.0000 are whole cents.
        good = list(ledger.bookings("1", up_to_journal_no=2))
        assert [(b.journal_no, b.amount_cents) for b in good] == [(1, 29), (2, 1999)]
