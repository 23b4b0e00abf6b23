"""The ledger contract (SPEC §5) against a real PostgreSQL server (tests/pg_server.py).

The demo books are copied from an embedded SQLite ledger into tables with natural PostgreSQL
types (INTEGER ids, DATE document_date, BIGINT amounts, BOOLEAN flags) and read through a
read-only role (CONNECT, USAGE, SELECT), as README recommends for a production ledger. Where
natural, the result must equal what the same `Ledger` reads from the SQLite file.

Skipped where no server can be started (initdb/pg_ctl missing); on CI that fails instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from engine.errors import LedgerError
from engine.ledger import Ledger, format_stats
from engine.ledger_demo import generate
from tests.conftest import run_cli
from tests.pg_server import (
    CONTRACT_TABLES,
    PostgresServer,
    create_contract_tables,
    create_ledger_database,
    create_readonly_role,
    load_ledger,
)

END = date(2025, 9, 30)
DEMO = {"months": 2, "per_day": 6, "seed": 11, "end": END}


def assert_denied(url: str, statement: str) -> None:
    """`statement` as the role of `url` fails with PostgreSQL's "permission denied"."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError) as info:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()
    assert isinstance(info.value.orig, psycopg.errors.InsufficientPrivilege)
    assert "permission denied" in str(info.value.orig)


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pg-ledger") / "ledger.sqlite"
    generate(path, **DEMO)  # type: ignore[arg-type]
    return path


@pytest.fixture(scope="module")
def pg_url(postgres_server: PostgresServer, demo_sqlite: Path) -> Iterator[str]:
    """The demo books in PostgreSQL; the read-only role's URL."""
    name, url = create_ledger_database(postgres_server, demo_sqlite, reader="buchex_leser")
    with postgres_server.connect(name) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM bookings), (SELECT count(*) FROM partners)"
        ).fetchone()
    assert counts is not None and counts[0] > 300 and counts[1] > 10
    yield url
    postgres_server.drop_database(name)


@pytest.fixture
def pg(pg_url: str) -> Iterator[Ledger]:
    with Ledger(pg_url) as led:
        yield led


@pytest.fixture
def lite(demo_sqlite: Path) -> Iterator[Ledger]:
    with Ledger(f"sqlite:///{demo_sqlite}") as led:
        yield led


# --------------------------------------------------------------------------- master data


def test_check_and_catalog_equal_the_sqlite_ledger(pg: Ledger, lite: Ledger) -> None:
    pg.check()
    assert pg.display.startswith("postgresql+psycopg://buchex_leser:***@127.0.0.1:")
    cat = pg.catalog()
    assert cat == lite.catalog()
    # INTEGER ids in PostgreSQL, str for callers; BOOLEAN flags as bool
    assert set(cat.clients) == {"1", "2"} and len(cat.branches) == 5
    assert all(isinstance(k, str) and k == c.id for k, c in cat.clients.items())
    assert all(
        isinstance(b.id, str) and isinstance(b.client_id, str) for b in cat.branches.values()
    )
    assert cat.clients["2"].lock_batches is False and cat.clients["2"].fiscal_year_start == "07-01"
    assert [c for c, t in cat.document_types.items() if t.incoming] == ["ER"]


def test_partners(pg: Ledger, lite: Ledger) -> None:
    for cid in ("1", "2"):
        assert pg.partners(cid) == lite.partners(cid)
        assert pg.partners(cid, kind="creditor") == lite.partners(cid, kind="creditor")
    creditors = pg.partners("1", kind="creditor")
    debtors = pg.partners("1", kind="debtor")
    assert creditors and debtors and all(p.kind == "creditor" for p in creditors)
    assert pg.partners("1", accounts=[creditors[0].account, "99999999"]) == [creditors[0]]
    assert pg.partners("1", accounts=[]) == []
    # more accounts than one IN list takes (chunks of 500), most of them unknown
    wanted = [p.account for p in debtors] + [str(90000000 + i) for i in range(700)]
    assert pg.partners("1", accounts=wanted) == debtors
    assert pg.partners("1", accounts=wanted, kind="creditor") == []
    with pytest.raises(LedgerError, match="Mandant 9 existiert nicht"):
        pg.partners("9")


# --------------------------------------------------------------------------- bookings


def test_max_journal_no(pg: Ledger, lite: Ledger) -> None:
    assert pg.max_journal_no() == lite.max_journal_no() > 300
    for cid in ("1", "2"):
        assert pg.max_journal_no(cid) == lite.max_journal_no(cid)
    assert pg.max_journal_no("1") != pg.max_journal_no("2")
    with pytest.raises(LedgerError, match="Mandant 9 existiert nicht"):
        pg.max_journal_no("9")


FILTERS = [
    pytest.param({}, id="all"),
    pytest.param({"branch_id": "4"}, id="branch"),
    pytest.param({"document_types": {"KR", "ER"}}, id="document-types"),
    pytest.param({"payment_methods": {"BAR"}}, id="payment-method-and-null"),
    pytest.param(
        {"payment_methods": {"EC", "KK", "UE"}, "document_types": {"KR", "ZA", "GS"}},
        id="payment-methods-and-document-types",
    ),
    pytest.param({"after_journal_no": 100, "up_to_journal_no": 200}, id="journal-range"),
    pytest.param(
        {"after_journal_no": 150, "branch_id": "4", "payment_methods": {"UE"}, "page_size": 7},
        id="combined-small-pages",
    ),
    pytest.param({"document_types": ()}, id="no-document-type"),  # nothing selected
    pytest.param({"payment_methods": ()}, id="no-payment-method"),  # only those without one
]


@pytest.mark.parametrize("filters", FILTERS)
def test_bookings_equal_the_sqlite_ledger(
    pg: Ledger, lite: Ledger, filters: dict[str, Any]
) -> None:
    client = "2" if "branch_id" in filters else "1"
    got = list(pg.bookings(client, **filters))
    assert got == list(lite.bookings(client, **filters))
    if filters.get("document_types") == ():
        assert got == []
        return
    assert got, "the demo books must have bookings for every filter"
    assert [b.journal_no for b in got] == sorted({b.journal_no for b in got})
    assert all(b.client_id == client for b in got)
    first = got[0]
    assert isinstance(first.document_date, date) and type(first.amount_cents) is int
    assert first.amount_cents > 0 and first.debit_credit in ("S", "H")
    if "branch_id" in filters:
        assert {b.branch_id for b in got} == {filters["branch_id"]}
    if "document_types" in filters:
        assert {b.document_type for b in got} <= filters["document_types"]
    if "payment_methods" in filters:
        methods = {b.payment_method for b in got}
        assert None in methods  # bookings without a payment method always pass (SPEC §2)
        assert methods - {None} <= set(filters["payment_methods"])
    after = filters.get("after_journal_no", 0)
    up_to = filters.get("up_to_journal_no", math.inf)
    assert all(after < b.journal_no <= up_to for b in got)


def test_bookings_are_read_in_short_pages(pg: Ledger) -> None:
    queries: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM bookings" in statement:
            queries.append(statement)

    pg.catalog()  # master data first, so only booking pages are counted
    sa.event.listen(pg.engine, "before_cursor_execute", count)
    try:
        whole = list(pg.bookings("1"))
        queries.clear()
        paged = list(pg.bookings("1", page_size=7))
    finally:
        sa.event.remove(pg.engine, "before_cursor_execute", count)
    assert paged == whole
    assert len(queries) == len(whole) // 7 + 1  # a short (possibly empty) last page ends it
    top = pg.max_journal_no("1")
    assert list(pg.bookings("1", after_journal_no=top)) == []
    assert [b.journal_no for b in pg.bookings("1", up_to_journal_no=whole[4].journal_no)] == [
        b.journal_no for b in whole[:5]
    ]
    with pytest.raises(LedgerError, match="Filiale 99 existiert nicht"):
        list(pg.bookings("1", branch_id="99"))


def test_stats_equal_the_sqlite_ledger(pg: Ledger, lite: Ledger) -> None:
    stats = pg.stats()
    assert stats == lite.stats()
    assert [s.client_id for s in stats] == ["1", "2"]
    for s in stats:
        # DATE min/max come back as ISO strings; SUM(BIGINT) (numeric) as int
        assert s.first_date is not None and date.fromisoformat(s.first_date) <= END
        assert type(s.debit_cents) is int and s.debit_cents > 0 and s.partners > 0
    assert format_stats(stats) == format_stats(lite.stats())


# --------------------------------------------------------------------------- other shapes


# The chain's own tables with German names and columns (amounts in euros, S/H as a flag);
# views with the contract's names map them, as README shows. The role may read only the
# views: a view reads its tables with its owner's rights.
OWN_TABLES_SQL = """
ALTER TABLE mandanten RENAME COLUMN id TO mandant_nr;
ALTER TABLE mandanten RENAME COLUMN name TO firma;
ALTER TABLE filialen RENAME COLUMN id TO filial_nr;
ALTER TABLE filialen RENAME COLUMN client_id TO mandant_nr;
ALTER TABLE buchungen RENAME COLUMN journal_no TO journalnummer;
ALTER TABLE buchungen RENAME COLUMN document_date TO belegdatum;
ALTER TABLE buchungen ADD COLUMN betrag NUMERIC(12, 2);
UPDATE buchungen SET betrag = amount_cents / 100.0;
ALTER TABLE buchungen DROP COLUMN amount_cents;
ALTER TABLE buchungen ADD COLUMN soll BOOLEAN;
UPDATE buchungen SET soll = (debit_credit = 'S');
ALTER TABLE buchungen DROP COLUMN debit_credit;
"""

# {schema}: where the views go (the role's search_path); {kind}: VIEW or MATERIALIZED VIEW.
VIEWS_SQL = """
CREATE SCHEMA IF NOT EXISTS {schema};
SET search_path = {schema}, public;
CREATE VIEW clients AS
    SELECT mandant_nr AS id, firma AS name, consultant_no, client_no, fiscal_year_start,
           account_length, chart, lock_batches
    FROM mandanten;
CREATE VIEW branches AS
    SELECT filial_nr AS id, mandant_nr AS client_id, name, cost_center FROM filialen;
CREATE VIEW document_types AS SELECT code, name, incoming FROM belegarten;
CREATE VIEW payment_methods AS SELECT code, name FROM zahlungsarten;
CREATE VIEW partners AS
    SELECT client_id, account, kind, name, street, postcode, city, country, vat_id, email
    FROM geschaeftspartner;
CREATE {kind} bookings AS
    SELECT journalnummer AS journal_no, client_id, branch_id, document_type, document_no,
           belegdatum AS document_date, (betrag * 100)::bigint AS amount_cents,
           CASE WHEN soll THEN 'S' ELSE 'H' END AS debit_credit,
           account, contra_account, tax_key, text, payment_method, partner_account,
           cost_center
    FROM buchungen;
"""

OWN_NAMES = {
    "clients": "mandanten",
    "branches": "filialen",
    "document_types": "belegarten",
    "payment_methods": "zahlungsarten",
    "partners": "geschaeftspartner",
    "bookings": "buchungen",
}


@pytest.mark.parametrize(
    ("schema", "bookings_kind"),
    [("public", "VIEW"), ("buchex", "MATERIALIZED VIEW")],
    ids=["views", "schema-buchex-materialized"],
)
def test_tables_with_other_names_behind_views(
    postgres_server: PostgresServer,
    postgres_db: str,
    demo_sqlite: Path,
    lite: Ledger,
    schema: str,
    bookings_kind: str,
) -> None:
    """A ledger whose tables have other names and columns: views with the contract's names
    (README: "Eigene Buchhaltungsdatenbank"); the role gets SELECT on the views only.
    Also: the views in a schema of their own (the role's search_path) and `bookings` as a
    materialized view (a snapshot the chain refreshes itself)."""
    with postgres_server.connect(postgres_db) as conn:
        create_contract_tables(conn, OWN_NAMES)
        load_ledger(conn, demo_sqlite, OWN_NAMES)
        conn.execute(OWN_TABLES_SQL.encode())
        conn.execute(VIEWS_SQL.format(schema=schema, kind=bookings_kind).encode())
        conn.commit()
    url = create_readonly_role(postgres_server, postgres_db, user="buchex_sicht", schema=schema)
    with Ledger(url) as led:
        assert led.catalog() == lite.catalog()
        assert led.stats() == lite.stats()
        assert led.partners("2") == lite.partners("2")
        assert led.max_journal_no("2") == lite.max_journal_no("2")
        filters: dict[str, Any] = {
            "after_journal_no": 20,
            "branch_id": "3",
            "document_types": {"KR", "GS", "ER"},
            "payment_methods": {"EC"},
            "page_size": 5,
        }
        assert list(led.bookings("2", **filters)) == list(lite.bookings("2", **filters))
    assert_denied(url, "SELECT count(*) FROM public.buchungen")  # the tables stay closed


# The chain's own column types: accounts as numbers, kinds and S/H as ENUMs, a SMALLINT flag.
# Every value the reader binds must reach PostgreSQL untyped, so the server casts it to the
# column's type (psycopg would send a str as VARCHAR: `bigint = character varying` fails).
OWN_TYPES_SQL = """
CREATE TYPE partner_kind AS ENUM ('debtor', 'creditor');
CREATE TYPE soll_haben AS ENUM ('S', 'H');
ALTER TABLE partners ALTER COLUMN account TYPE BIGINT USING account::bigint;
ALTER TABLE partners DROP CONSTRAINT partners_kind_check;
ALTER TABLE partners ALTER COLUMN kind TYPE partner_kind USING kind::partner_kind;
ALTER TABLE bookings DROP CONSTRAINT bookings_debit_credit_check;
ALTER TABLE bookings ALTER COLUMN debit_credit TYPE soll_haben USING debit_credit::soll_haben;
ALTER TABLE bookings ALTER COLUMN account TYPE BIGINT USING account::bigint;
ALTER TABLE bookings ALTER COLUMN contra_account TYPE BIGINT USING contra_account::bigint;
ALTER TABLE bookings ALTER COLUMN partner_account TYPE BIGINT USING partner_account::bigint;
ALTER TABLE bookings ALTER COLUMN journal_no TYPE NUMERIC(12, 0);
ALTER TABLE document_types ALTER COLUMN incoming DROP DEFAULT;
ALTER TABLE document_types ALTER COLUMN incoming TYPE SMALLINT USING incoming::int;
"""


def test_own_column_types(
    postgres_server: PostgresServer, postgres_db: str, demo_sqlite: Path, lite: Ledger
) -> None:
    with postgres_server.connect(postgres_db) as conn:
        create_contract_tables(conn)
        load_ledger(conn, demo_sqlite)
        conn.execute(OWN_TYPES_SQL.encode())
        conn.commit()
    url = create_readonly_role(postgres_server, postgres_db, user="buchex_typen")
    with Ledger(url) as led:
        assert led.catalog() == lite.catalog()
        assert led.stats() == lite.stats()
        debtors = lite.partners("1", kind="debtor")
        wanted = [debtors[0].account, debtors[-1].account, "99999999"]
        assert led.partners("1", accounts=wanted) == [debtors[0], debtors[-1]]
        assert led.partners("1", kind="debtor") == debtors
        filters: dict[str, Any] = {"document_types": {"KR", "ER"}, "payment_methods": {"BAR"}}
        got = list(led.bookings("1", **filters, page_size=9))
        assert got and got == list(lite.bookings("1", **filters))


def test_missing_table_or_column_is_named(
    postgres_server: PostgresServer, postgres_db: str
) -> None:
    with postgres_server.connect(postgres_db) as conn:
        create_contract_tables(conn)
        conn.execute("DROP TABLE partners")
        conn.commit()
    url = create_readonly_role(
        postgres_server,
        postgres_db,
        user="buchex_teil",
        password="Teil-Geheim-1",
        objects=[t for t in CONTRACT_TABLES if t != "partners"],
    )
    with Ledger(url) as led, pytest.raises(LedgerError) as info:
        led.catalog()
    message = str(info.value)
    assert message.startswith("Tabelle partners fehlt: postgresql+psycopg://buchex_teil:***@")
    assert "Teil-Geheim-1" not in message

    with postgres_server.connect(postgres_db) as conn:
        create_contract_tables(conn, {t: f"x_{t}" for t in CONTRACT_TABLES})
        conn.execute(
            "CREATE VIEW partners AS SELECT client_id, account, kind, name, street, postcode, "
            "city, country, vat_id, email FROM x_partners"
        )
        conn.execute(
            "ALTER TABLE bookings RENAME COLUMN cost_center TO kostenstelle;"
            "ALTER TABLE bookings DROP COLUMN tax_key"
        )
        conn.execute("GRANT SELECT ON partners TO buchex_teil")
        conn.commit()
    with Ledger(url) as led, pytest.raises(LedgerError) as info:
        led.stats()
    assert str(info.value).startswith("Spalten tax_key, cost_center fehlen in Tabelle bookings: ")


def test_table_without_select_right_is_reported(
    postgres_server: PostgresServer, postgres_db: str, demo_sqlite: Path
) -> None:
    with postgres_server.connect(postgres_db) as conn:
        create_contract_tables(conn)
        load_ledger(conn, demo_sqlite)
        conn.commit()
    url = create_readonly_role(
        postgres_server,
        postgres_db,
        user="buchex_halb",
        objects=[t for t in CONTRACT_TABLES if t != "bookings"],
    )
    with Ledger(url) as led:
        assert set(led.catalog().clients) == {"1", "2"}
        with pytest.raises(LedgerError) as info:
            list(led.bookings("1"))
    message = str(info.value)
    assert message.startswith("Buchhaltungsdatenbank nicht lesbar: postgresql+psycopg://")
    assert "permission denied for table bookings" in message


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO payment_methods (code, name) VALUES ('XX', 'Tauschhandel')",
        "UPDATE clients SET lock_batches = true",
        "DELETE FROM bookings",
        "CREATE TABLE notizen (x int)",
        "TRUNCATE partners",
    ],
)
def test_readonly_role_cannot_write(pg_url: str, statement: str) -> None:
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM payment_methods")).scalar() == 6
    finally:
        engine.dispose()
    assert_denied(pg_url, statement)


def test_cli_reads_the_ledger_url_from_settings(home: Path, pg_url: str, lite: Ledger) -> None:
    """`buchex settings set --ledger-url-stdin` as README shows; `ledger stats` reads it."""
    result = run_cli(home, "settings", "set", "--ledger-url-stdin", stdin=pg_url + "\n")
    assert result.returncode == 0, result.stderr
    shown = run_cli(home, "settings", "show")
    password = sa.make_url(pg_url).password
    assert password and password not in shown.stdout and "gesetzt" in shown.stdout
    stats = run_cli(home, "ledger", "stats")
    assert stats.returncode == 0, stats.stderr
    assert stats.stdout.strip() == format_stats(lite.stats())
