"""The ledger: schema, demo generator, read side (SPEC §5)."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from engine.errors import LedgerError
from engine.ledger import (
    CONTRACT,
    DOCUMENT_COLUMNS,
    Ledger,
    create_schema,
    format_eur,
    format_stats,
)
from engine.ledger_demo import ACCOUNTS, generate
from engine.paths import DataDir

END = date(2025, 9, 30)
SMALL = {"months": 3, "per_day": 25, "seed": 7, "end": END}


def dump_hash(path: Path) -> str:
    """A hash of every table's rows in key order: equal hash = equal content."""
    digest = hashlib.sha256()
    conn = sqlite3.connect(path)
    try:
        for table, order in (
            ("clients", "id"),
            ("branches", "id"),
            ("document_types", "code"),
            ("payment_methods", "code"),
            ("partners", "client_id, account"),
            ("bookings", "journal_no"),
        ):
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY {order}"):
                digest.update(repr(row).encode())
    finally:
        conn.close()
    return digest.hexdigest()


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "ledger.sqlite"
    generate(path, **SMALL)  # type: ignore[arg-type]
    return path


@pytest.fixture(scope="module")
def db(demo_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"file:{demo_path}?mode=ro", uri=True)
    yield conn
    conn.close()


@pytest.fixture
def ledger(demo_path: Path) -> Iterator[Ledger]:
    with Ledger(f"sqlite:///{demo_path}") as led:
        yield led


# --------------------------------------------------------------------------- schema


def test_create_schema_private_file_with_exactly_the_contract(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    create_schema(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    conn = sqlite3.connect(path)
    tables = {
        name: [c[1] for c in conn.execute(f"PRAGMA table_info({name})")]
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    indexes = [r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index'")]
    conn.close()
    # the contract, plus the optional documents table (README "Belegbilder")
    expected = {name: list(cols) for name, cols in CONTRACT.items()}
    assert tables == {**expected, "documents": list(DOCUMENT_COLUMNS)}
    assert any("bookings (client_id, journal_no)" in (sql or "") for sql in indexes)
    with pytest.raises(LedgerError, match="existiert bereits"):
        create_schema(path)


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("INSERT INTO clients VALUES (9, 'X', 29098, 1, '01-01', 4, 'SKR05', 0)", ()),
        ("INSERT INTO clients VALUES (9, 'X', 29098, 1, '01-01', 4, 'SKR03', 2)", ()),
        ("INSERT INTO document_types VALUES ('XX', 'X', 2)", ()),
        ("INSERT INTO partners VALUES (1, '10000', 'friend', 'X', '', '', '', '', '', '')", ()),
        ("INSERT INTO bookings VALUES (?,1,1,'KR','A','2025-01-02',?,?,'1000','8400',"
         "NULL,NULL,NULL,NULL,NULL)", (100, 0, "S")),
        ("INSERT INTO bookings VALUES (?,1,1,'KR','A','2025-01-02',?,?,'1000','8400',"
         "NULL,NULL,NULL,NULL,NULL)", (100, -5, "S")),
        ("INSERT INTO bookings VALUES (?,1,1,'KR','A','2025-01-02',?,?,'1000','8400',"
         "NULL,NULL,NULL,NULL,NULL)", (100, 5, "X")),
        ("INSERT INTO bookings VALUES (100,1,1,'KR','A','2025-02-30',5,'S','1000','8400',"
         "NULL,NULL,NULL,NULL,NULL)", ()),
    ],
)  # fmt: skip
def test_schema_check_constraints(demo_path: Path, sql: str, params: tuple[object, ...]) -> None:
    conn = sqlite3.connect(demo_path)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(sql, params)
    finally:
        conn.rollback()
        conn.close()


# --------------------------------------------------------------------------- demo generator


def test_generate_is_deterministic(tmp_path: Path, demo_path: Path) -> None:
    again = tmp_path / "again.sqlite"
    other = tmp_path / "other.sqlite"
    generate(again, **SMALL)  # type: ignore[arg-type]
    generate(other, **{**SMALL, "seed": 8})  # type: ignore[arg-type]
    assert dump_hash(again) == dump_hash(demo_path)
    assert dump_hash(other) != dump_hash(demo_path)


def test_generate_file_handling(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "ledger.sqlite"
    summary = generate(path, months=1, per_day=2, end=END)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = dump_hash(path)
    with pytest.raises(LedgerError, match="existiert bereits"):
        generate(path, months=1, per_day=3, end=END)
    assert dump_hash(path) == before
    generate(path, months=1, per_day=3, end=END, replace=True)
    assert dump_hash(path) != before
    # the temp file was renamed, nothing half-written is left behind
    assert sorted(p.name for p in path.parent.iterdir() if p.suffix != ".lock") == [path.name]
    assert summary.bookings == 2 * 30
    assert summary.first_date is not None and summary.first_date >= date(2025, 9, 1)
    assert summary.last_date is not None and summary.last_date <= END


def test_generate_volume(tmp_path: Path, db: sqlite3.Connection) -> None:
    days = (END - date(2025, 7, 1)).days + 1
    assert db.execute("SELECT count(*) FROM bookings").fetchone()[0] == 25 * days
    exact = generate(tmp_path / "t.sqlite", months=2, total=1234, end=END)
    assert exact.bookings == 1234
    conn = sqlite3.connect(tmp_path / "t.sqlite")
    assert conn.execute("SELECT count(*) FROM bookings").fetchone()[0] == 1234
    conn.close()


def test_bookings_satisfy_the_contract(db: sqlite3.Connection) -> None:
    def count(where: str) -> int:
        return int(db.execute(f"SELECT count(*) FROM bookings b WHERE {where}").fetchone()[0])

    assert count("amount_cents <= 0 OR typeof(amount_cents) <> 'integer'") == 0
    assert count("debit_credit NOT IN ('S', 'H')") == 0
    assert count("NOT EXISTS (SELECT 1 FROM branches r WHERE r.id = b.branch_id "
                 "AND r.client_id = b.client_id)") == 0  # fmt: skip
    assert count("document_type NOT IN (SELECT code FROM document_types)") == 0
    assert count("payment_method NOT IN (SELECT code FROM payment_methods)") == 0
    assert count("document_type IN (SELECT code FROM document_types WHERE incoming = 1) "
                 "AND document_type <> 'ER'") == 0  # fmt: skip
    assert count("document_type = 'ER'") > 0
    assert count("cost_center IS NOT (SELECT cost_center FROM branches r "
                 "WHERE r.id = b.branch_id)") == 0  # fmt: skip
    assert count("length(document_no) > 36 OR document_no GLOB '*[^A-Za-z0-9$%&*+/-]*'") == 0
    assert count("strftime('%w', document_date) = '0'") == 0  # closed on Sundays
    # partner_account names a partner of the same client
    partner_exists = (
        "EXISTS (SELECT 1 FROM partners p "
        "WHERE p.client_id = b.client_id AND p.account = b.partner_account)"
    )
    assert count(f"partner_account IS NOT NULL AND NOT {partner_exists}") == 0
    assert count("partner_account IS NULL AND document_type IN ('KR', 'KT', 'GS', 'ZA', 'ER')") == 0
    # automatic revenue accounts never carry a tax key; ER on goods always does
    automatic = [a[k] for a in ACCOUNTS.values() for k in ("rev19", "rev7")]
    marks = ",".join("?" * len(automatic))
    n = db.execute(
        f"SELECT count(*) FROM bookings WHERE tax_key IS NOT NULL AND contra_account IN ({marks})",
        automatic,
    ).fetchone()[0]
    assert n == 0
    assert count("document_type = 'ER' AND debit_credit <> 'H'") == 0
    assert count("document_type = 'GS' AND debit_credit <> 'H'") == 0
    assert count("tax_key = '9'") > 0
    assert count("length(text) > 60") > 0
    assert count("payment_method IS NULL") > 0
    assert count("payment_method = 'KTR'") == count("document_type = 'KT'")
    # journal numbers increase with the document date, without gaps
    rows = db.execute(
        "SELECT journal_no, document_date FROM bookings ORDER BY journal_no"
    ).fetchall()
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)
    # realistic amounts: 3 to 3,500 EUR (bank deposits a little more)
    lo, hi = db.execute("SELECT min(amount_cents), max(amount_cents) FROM bookings").fetchone()
    assert lo >= 100 and hi <= 360_000
    # both clients and all five branches are used
    assert db.execute("SELECT count(DISTINCT branch_id) FROM bookings").fetchone()[0] == 5


def test_partners(db: sqlite3.Connection) -> None:
    rows = db.execute(
        "SELECT p.client_id, account, kind, p.name, street, postcode, city, country, vat_id, "
        "email, c.account_length FROM partners p JOIN clients c ON c.id = p.client_id"
    ).fetchall()
    names = [r[3] for r in rows]
    assert any(ch in "".join(names) for ch in "äöü")
    assert any("ß" in n for n in names)
    assert any(len(n) > 50 for n in names)
    assert any("ü" in (r[6] or "") or "ö" in (r[6] or "") for r in rows)
    assert {r[7] for r in rows} == {"DE", "AT"}
    assert sum(r[7] == "AT" for r in rows) < len(rows) / 10
    assert any(r[8] for r in rows) and any(r[9] for r in rows)
    for _client, account, kind, *_rest, account_length in rows:
        assert len(account) == account_length + 1
        if kind == "debtor":
            assert 10000 <= int(account) <= 69999
        else:
            assert kind == "creditor" and 70000 <= int(account) <= 99999


# --------------------------------------------------------------------------- read side


def test_catalog(ledger: Ledger) -> None:
    cat = ledger.catalog()
    assert set(cat.clients) == {"1", "2"}
    muller, weiss = cat.clients["1"], cat.clients["2"]
    assert muller.name == "Optik & Hörakustik Müller GmbH" and muller.chart == "SKR03"
    assert (muller.consultant_no, muller.client_no, muller.fiscal_year_start) == (
        29098,
        55003,
        "01-01",
    )
    assert weiss.name == "Hörgeräte Weiß & Söhne KG" and weiss.chart == "SKR04"
    assert weiss.fiscal_year_start == "07-01" and weiss.lock_batches is False
    assert len(cat.branches) == 5
    assert {b.client_id for b in cat.branches.values()} == {"1", "2"}
    assert all(isinstance(b.id, str) and b.cost_center for b in cat.branches.values())
    assert set(cat.document_types) == {"KR", "KT", "GS", "BV", "EA", "ZA", "ER"}
    assert [c for c, t in cat.document_types.items() if t.incoming] == ["ER"]
    assert set(cat.payment_methods) == {"BAR", "EC", "KK", "UE", "LS", "KTR"}
    assert cat.payment_methods["UE"].name == "Überweisung"


def test_stats_equal_direct_sql(ledger: Ledger, db: sqlite3.Connection) -> None:
    stats = {s.client_id: s for s in ledger.stats()}
    assert set(stats) == {"1", "2"}
    for cid, s in stats.items():
        n, debit, credit, j1, j2, d1, d2 = db.execute(
            "SELECT count(*), sum(CASE debit_credit WHEN 'S' THEN amount_cents ELSE 0 END), "
            "sum(CASE debit_credit WHEN 'H' THEN amount_cents ELSE 0 END), min(journal_no), "
            "max(journal_no), min(document_date), max(document_date) FROM bookings "
            "WHERE client_id = ?",
            (int(cid),),
        ).fetchone()
        assert (s.bookings, s.debit_cents, s.credit_cents) == (n, debit, credit)
        assert (s.first_journal_no, s.last_journal_no, s.first_date, s.last_date) == (
            j1,
            j2,
            d1,
            d2,
        )
        debtors, creditors = db.execute(
            "SELECT sum(kind = 'debtor'), sum(kind = 'creditor') FROM partners WHERE client_id = ?",
            (int(cid),),
        ).fetchone()
        assert (s.debtors, s.creditors, s.partners) == (debtors, creditors, debtors + creditors)
    text = format_stats(list(stats.values()))
    for word in ("Mandant", "Buchungen", "Summe Soll", "Summe Haben", "Zeitraum", "Partner"):
        assert word in text
    assert "Optik & Hörakustik Müller GmbH" in text and "Gesamt" in text
    assert format_eur(stats["1"].debit_cents) in text
    assert "01.07.2025 – 30.09.2025" in text


def test_format_eur() -> None:
    assert format_eur(0) == "0,00"
    assert format_eur(5) == "0,05"
    assert format_eur(123456789) == "1.234.567,89"
    assert format_eur(-1050) == "-10,50"


def test_bookings_stream_in_pages(ledger: Ledger, db: sqlite3.Connection) -> None:
    expected = db.execute(
        "SELECT journal_no FROM bookings WHERE client_id = 2 AND journal_no > 40 "
        "AND branch_id = 4 AND document_type IN ('KR', 'ZA', 'ER') "
        "AND (payment_method IS NULL OR payment_method = 'UE') ORDER BY journal_no"
    ).fetchall()
    got = list(
        ledger.bookings(
            "2",
            after_journal_no=40,
            branch_id="4",
            document_types={"KR", "ZA", "ER"},
            payment_methods={"UE"},
            page_size=7,
        )
    )
    assert [b.journal_no for b in got] == [r[0] for r in expected]
    assert any(b.payment_method is None for b in got)
    first = got[0]
    assert first.client_id == "2" and first.branch_id == "4"
    assert isinstance(first.document_date, date) and first.amount_cents > 0
    top = ledger.max_journal_no("2")
    assert list(ledger.bookings("2", after_journal_no=top)) == []
    first_ten = db.execute(
        "SELECT journal_no FROM bookings WHERE client_id = 2 AND journal_no <= 10"
    )
    assert [b.journal_no for b in ledger.bookings("2", up_to_journal_no=10)] == [
        r[0] for r in first_ten
    ]
    with pytest.raises(LedgerError, match="Mandant 9"):
        list(ledger.bookings("9"))


def test_embedded_fast_path_reads_what_sqlalchemy_reads(demo_path: Path) -> None:
    """The embedded file's stream (stdlib sqlite3, text CAST in SQL) yields exactly the
    Bookings of the SQLAlchemy path (a URI-style URL of the same file takes that one)."""
    fast = Ledger(f"sqlite:///{demo_path}")
    slow = Ledger(f"sqlite:///file:{demo_path}?mode=ro&uri=true")
    assert fast._sqlite is not None and slow._sqlite is None
    for client in ("1", "2"):
        for kwargs in ({}, {"document_types": {"KR", "ER"}, "payment_methods": {"UE"}}):
            got = list(fast.bookings(client, page_size=333, **kwargs))  # type: ignore[arg-type]
            want = list(slow.bookings(client, page_size=333, **kwargs))  # type: ignore[arg-type]
            assert got == want and got
            pairs = zip(got, want, strict=True)
            assert all(type(v) is type(w) for b, c in pairs for v, w in zip(b, c, strict=True))
    fast.close()
    slow.close()


def test_partners_lookup(ledger: Ledger) -> None:
    creditors = ledger.partners("1", kind="creditor")
    assert creditors and all(p.kind == "creditor" for p in creditors)
    picked = ledger.partners("1", [creditors[0].account, "99999999"])
    assert picked == [creditors[0]]


def test_reader_does_not_block_writers(demo_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    path.write_bytes(demo_path.read_bytes())
    with Ledger(f"sqlite:///{path}") as led:
        stream = led.bookings("1", page_size=5)
        next(stream)  # a page was read, the stream is suspended
        writer = sqlite3.connect(path, timeout=0)  # would fail at once if a reader held a lock
        writer.execute("UPDATE clients SET lock_batches = 1 WHERE id = 1")
        writer.commit()
        writer.close()
        assert sum(1 for _ in stream) > 5
        assert led.catalog().clients["1"].lock_batches is True


def test_replaced_file_is_seen_by_an_open_ledger(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    generate(path, months=1, per_day=2, end=END)
    with Ledger(f"sqlite:///{path}") as led:
        before = sum(s.bookings for s in led.stats())
        generate(path, months=1, per_day=4, end=END, replace=True)
        assert sum(s.bookings for s in led.stats()) == 2 * before


def test_open_missing_ledger_explains(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path)
    with pytest.raises(LedgerError) as info:
        Ledger.open(data_dir)
    message = str(info.value)
    assert "nicht gefunden" in message and str(data_dir.ledger_path) in message
    assert "buchex ledger demo" in message and "buchex ledger import" in message
    with pytest.raises(LedgerError, match="nicht gefunden"):
        Ledger(f"sqlite:///{tmp_path / 'none.sqlite'}")
    assert not data_dir.ledger_path.exists() and not (tmp_path / "none.sqlite").exists()


def test_open_embedded_ledger(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path)
    generate(data_dir.ledger_path, months=1, per_day=1, end=END)
    with Ledger.open(data_dir) as led:
        assert set(led.catalog().clients) == {"1", "2"}


def test_missing_table_and_column(tmp_path: Path) -> None:
    path = tmp_path / "part.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE clients (id, name)")
    conn.close()
    with (
        pytest.raises(
            LedgerError,
            match="Tabellen branches, document_types, payment_methods, partners, bookings fehlen",
        ),
        Ledger(f"sqlite:///{path}") as led,
    ):
        led.catalog()
    path2 = tmp_path / "cols.sqlite"
    create_schema(path2)
    conn = sqlite3.connect(path2)
    conn.executescript("DROP TABLE bookings; CREATE TABLE bookings (journal_no, client_id);")
    conn.close()
    with (
        pytest.raises(
            LedgerError, match=r"Spalten branch_id, .*document_no.* fehlen in Tabelle bookings"
        ),
        Ledger(f"sqlite:///{path2}") as led,
    ):
        led.stats()


def test_bad_url_does_not_echo_password() -> None:
    with pytest.raises(LedgerError) as info:
        Ledger("nosuchdb+driver://user:geheim@host/db")
    assert "geheim" not in str(info.value)


def test_users_own_database_with_text_ids_via_url(tmp_path: Path) -> None:
    """A user's database: text ids, DATE-ish columns, bookings behind a view."""
    path = tmp_path / "own.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE mandanten (nr TEXT PRIMARY KEY, bez TEXT);
        CREATE VIEW clients AS SELECT nr AS id, bez AS name, 4711 AS consultant_no,
            42 AS client_no, '01-01' AS fiscal_year_start, 5 AS account_length,
            'SKR04' AS chart, 'true' AS lock_batches FROM mandanten;
        CREATE TABLE branches (id TEXT, client_id TEXT, name TEXT, cost_center TEXT);
        CREATE TABLE document_types (code TEXT, name TEXT, incoming TEXT);
        CREATE TABLE payment_methods (code TEXT, name TEXT);
        CREATE TABLE partners (client_id, account, kind, name, street, postcode, city,
            country, vat_id, email);
        CREATE TABLE buchungen (nr INTEGER, mandant TEXT, filiale TEXT, art TEXT, beleg TEXT,
            datum TEXT, cent INTEGER, sh TEXT, konto TEXT, gegen TEXT);
        CREATE VIEW bookings AS SELECT nr AS journal_no, mandant AS client_id,
            filiale AS branch_id, art AS document_type, beleg AS document_no,
            datum AS document_date, cent AS amount_cents, sh AS debit_credit,
            konto AS account, gegen AS contra_account, NULL AS tax_key, NULL AS text,
            NULL AS payment_method, NULL AS partner_account, NULL AS cost_center
            FROM buchungen;
        INSERT INTO mandanten VALUES ('M-1', 'Augenoptik Groß'), ('M-2', 'Hörstudio Süß');
        INSERT INTO branches VALUES ('F-A', 'M-1', 'Kiel', NULL);
        INSERT INTO document_types VALUES ('RE', 'Rechnung', '0'), ('ER', 'Eingang', '1');
        INSERT INTO payment_methods VALUES ('BAR', 'Bar');
        INSERT INTO partners VALUES ('M-1', '100001', 'debtor', 'Jörg Groß', NULL, NULL,
            NULL, 'DE', NULL, NULL);
        INSERT INTO buchungen VALUES (10, 'M-1', 'F-A', 'RE', 'R1', '2025-01-02', 1190, 'S',
            '100001', '44000'), (11, 'M-1', 'F-A', 'RE', 'R2', '2025-01-03', 500, 'H',
            '100001', '44000'), (12, 'M-2', 'F-A', 'RE', 'R3', '2025-01-04', 99, 'S',
            '100001', '44000');
        """
    )
    conn.commit()
    conn.close()
    with Ledger(f"sqlite:///{path}") as led:
        cat = led.catalog()
        assert list(cat.clients) == ["M-1", "M-2"]
        assert cat.clients["M-1"].lock_batches is True and cat.clients["M-1"].account_length == 5
        assert cat.branches["F-A"].client_id == "M-1" and cat.branches["F-A"].cost_center is None
        assert cat.document_types["ER"].incoming is True
        assert cat.document_types["RE"].incoming is False
        stats = {s.client_id: s for s in led.stats()}
        assert (stats["M-1"].bookings, stats["M-1"].debit_cents, stats["M-1"].credit_cents) == (
            2,
            1190,
            500,
        )
        assert stats["M-2"].partners == 0 and stats["M-1"].debtors == 1
        got = list(led.bookings("M-1", branch_id="F-A", page_size=1))
        assert [b.journal_no for b in got] == [10, 11]
        assert got[0].document_date == date(2025, 1, 2)
        assert led.partners("M-1")[0].name == "Jörg Groß"
