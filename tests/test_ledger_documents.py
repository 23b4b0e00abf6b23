"""Document images ("Belegbilder") on the ledger side: the optional `documents` table or view,
`Ledger.has_documents / documents / open_document`, the demo ledger's PDFs and
`buchex ledger import-documents` (README "Belegbilder")."""

from __future__ import annotations

import re
import sqlite3
import zlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine.errors import LedgerError
from engine.ledger import DOCUMENT_CHUNK, DocumentRef, Ledger
from engine.ledger_demo import generate
from engine.ledger_import import import_documents
from tests.conftest import run_cli

END = date(2025, 9, 30)
MIB = 1 << 20


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("docs-tpl") / "ledger.sqlite"
    generate(path, months=1, per_day=6, seed=5, end=END)
    return path


@pytest.fixture
def ledger_file(template: Path, tmp_path: Path) -> Path:
    """A fresh copy per test (tests write documents into it)."""
    path = tmp_path / "data" / "ledger.sqlite"
    path.parent.mkdir()
    path.write_bytes(template.read_bytes())
    return path


def sql(path: Path, *statements: tuple[str, tuple[Any, ...]] | str) -> None:
    conn = sqlite3.connect(path)
    try:
        for statement in statements:
            if isinstance(statement, str):
                conn.executescript(statement)
            else:
                conn.execute(*statement)
        conn.commit()
    finally:
        conn.close()


def add(path: Path, *rows: tuple[Any, ...]) -> None:
    """Rows (client_id, journal_no, file_name, media_type, content, path) into documents."""
    conn = sqlite3.connect(path)
    try:
        conn.executemany("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.commit()
    finally:
        conn.close()


def bookings_of(path: Path, client: int, limit: int = 5) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [
            r[0]
            for r in conn.execute(
                "SELECT journal_no FROM bookings WHERE client_id = ? ORDER BY journal_no LIMIT ?",
                (client, limit),
            )
        ]
    finally:
        conn.close()


def documents_dump(path: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'documents'").fetchone():
            return [("no table",)]
        return conn.execute("SELECT rowid, * FROM documents ORDER BY rowid").fetchall()
    finally:
        conn.close()


def read_all(ledger: Ledger, ref: DocumentRef) -> tuple[bytes, list[int]]:
    with ledger.open_document(ref) as chunks:
        parts = list(chunks)
    return b"".join(parts), [len(p) for p in parts]


def payload(size: int, seed: int = 7) -> bytes:
    block = bytes((seed * 31 + i * 7) % 256 for i in range(4096))
    return (block * (size // len(block) + 1))[:size]


# --------------------------------------------------------------------------- the table is optional


def test_old_ledger_without_table_has_no_documents(ledger_file: Path) -> None:
    sql(ledger_file, "DROP TABLE documents")
    with Ledger(f"sqlite:///{ledger_file}") as ledger:
        assert ledger.has_documents() is False
        assert list(ledger.documents("1", range(1, 10_000))) == []
        assert len(list(ledger.bookings("1"))) > 10  # the rest reads as before


def test_new_ledger_has_an_empty_documents_table(ledger_file: Path) -> None:
    with Ledger(f"sqlite:///{ledger_file}") as ledger:
        assert ledger.has_documents() is True
        assert list(ledger.documents("1", range(1, 10_000))) == []


def test_schema_refuses_both_or_neither_and_folders(ledger_file: Path) -> None:
    jn = bookings_of(ledger_file, 1, 1)[0]
    bad = [
        (1, jn, "a.pdf", "application/pdf", b"x", "/tmp/a.pdf"),  # both
        (1, jn, "a.pdf", "application/pdf", None, None),  # neither
        (1, jn, "belege/a.pdf", "application/pdf", b"x", None),  # a folder
        (1, jn, "a.pdf", "pdf", b"x", None),  # no media type
        (1, 999_999, "a.pdf", "application/pdf", b"x", None),  # no such booking
    ]
    conn = sqlite3.connect(ledger_file)
    conn.execute("PRAGMA foreign_keys = ON")
    try:
        for row in bad:
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)", row)
    finally:
        conn.close()


# --------------------------------------------------------------------------- BLOB and path rows


def test_blob_and_path_rows(ledger_file: Path, tmp_path: Path) -> None:
    a, b, c, d = bookings_of(ledger_file, 1, 4)
    folder = ledger_file.parent
    (folder / "belege").mkdir()
    (folder / "belege" / "scan.jpg").write_bytes(b"\xff\xd8\xffjpeg")
    absolute = tmp_path / "elsewhere.pdf"
    absolute.write_bytes(b"%PDF-1.4 absolute")
    pdf = "application/pdf"
    add(
        ledger_file,
        (1, a, "b.pdf", pdf, b"BB", None),
        (1, a, "a.pdf", "Application/PDF", b"A", None),
        (1, b, "scan.jpg", "image/jpeg", None, "belege/scan.jpg"),
        (1, c, "x.pdf", pdf, None, str(absolute)),
        (1, d, "weg.pdf", pdf, None, "fehlt.pdf"),
    )
    with Ledger(f"sqlite:///{ledger_file}") as ledger:
        refs = list(ledger.documents("1", [d, c, b, a, a]))
        assert [(r.journal_no, r.file_name) for r in refs] == [
            (a, "a.pdf"),
            (a, "b.pdf"),
            (b, "scan.jpg"),
            (c, "x.pdf"),
            (d, "weg.pdf"),
        ]
        first, second, scan, other, missing = refs
        assert (first.size, first.media_type, first.path, first.problem) == (
            1,
            "application/pdf",
            None,
            None,
        )
        assert second.size == 2 and second.rowid is not None
        assert first.key == ("1", a, "a.pdf") and first.client_id == "1"
        # a relative path: relative to the folder of ledger.sqlite
        assert scan.path == folder.absolute() / "belege" / "scan.jpg"
        assert (scan.size, scan.problem) == (7, None)
        assert (other.path, other.size) == (absolute, len(b"%PDF-1.4 absolute"))
        assert missing.size is None and missing.problem is not None
        assert "Datei nicht gefunden" in missing.problem and "fehlt.pdf" in missing.problem
        assert read_all(ledger, first)[0] == b"A"
        assert read_all(ledger, second)[0] == b"BB"
        assert read_all(ledger, scan)[0] == b"\xff\xd8\xffjpeg"
        assert read_all(ledger, other)[0] == b"%PDF-1.4 absolute"
        with pytest.raises(LedgerError, match=f"Journalnummer {d}, Beleg „weg.pdf“"):
            read_all(ledger, missing)
        # other clients' documents are not listed
        assert list(ledger.documents("2", [a, b, c, d])) == []
        with pytest.raises(LedgerError, match="Mandant 9 existiert nicht"):
            list(ledger.documents("9", [a]))


def test_streaming_chunks_blob_and_file(ledger_file: Path) -> None:
    jn = bookings_of(ledger_file, 2, 1)[0]
    data = payload(2 * MIB + 12345)
    (ledger_file.parent / "gross.tif").write_bytes(data)
    add(
        ledger_file,
        (2, jn, "gross.pdf", "application/pdf", data, None),
        (2, jn, "gross.tif", "image/tiff", None, "gross.tif"),
    )
    with Ledger(f"sqlite:///{ledger_file}") as ledger:
        blob, file = ledger.documents("2", range(jn, jn + 1))
        assert blob.size == file.size == len(data)
        for ref in (blob, file):
            content, sizes = read_all(ledger, ref)
            assert content == data
            assert sizes == [DOCUMENT_CHUNK, DOCUMENT_CHUNK, 12345]


def test_blob_streamed_with_blobopen(ledger_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded BLOB is never selected as a value: reading it goes through blobopen."""
    jn = bookings_of(ledger_file, 1, 1)[0]
    add(ledger_file, (1, jn, "a.pdf", "application/pdf", b"abc", None))
    statements: list[str] = []
    with Ledger(f"sqlite:///{ledger_file}") as ledger:
        connect = ledger._sqlite
        assert connect is not None

        def traced() -> sqlite3.Connection:
            conn = connect()
            conn.set_trace_callback(statements.append)
            return conn

        monkeypatch.setattr(ledger, "_sqlite", traced)
        (ref,) = ledger.documents("1", [jn])
        assert read_all(ledger, ref)[0] == b"abc"
    selects = [s for s in statements if "SELECT" in s.upper()]
    assert selects and not any(re.search(r"SELECT\s+content\b", s) for s in selects)


def test_row_changed_after_listing_is_a_ledger_error(ledger_file: Path) -> None:
    jn = bookings_of(ledger_file, 1, 1)[0]
    add(ledger_file, (1, jn, "a.pdf", "application/pdf", b"1", None))
    with Ledger(f"sqlite:///{ledger_file}") as ledger:
        (ref,) = ledger.documents("1", [jn])
        sql(ledger_file, "DELETE FROM documents")
        with pytest.raises(LedgerError, match="nicht mehr in der Buchhaltung"):
            read_all(ledger, ref)


def test_pages_ranges_and_lists(ledger_file: Path) -> None:
    """Many documents over windows and IN chunks: every one exactly once, in order."""
    conn = sqlite3.connect(ledger_file)
    numbers = [r[0] for r in conn.execute("SELECT journal_no FROM bookings WHERE client_id = 1")]
    conn.executemany(
        "INSERT INTO documents VALUES (1, ?, ?, 'application/pdf', ?, NULL)",
        [(n, f"d{k}.pdf", b"x") for n in numbers for k in range(2)],
    )
    conn.commit()
    conn.close()
    with Ledger(f"sqlite:///{ledger_file}") as ledger:
        expected = [(n, f"d{k}.pdf") for n in sorted(numbers) for k in range(2)]
        got = [(r.journal_no, r.file_name) for r in ledger.documents("1", range(0, 20_000))]
        assert got == expected
        # every second number: IN lists of at most 500 (here fewer, but not contiguous)
        some = sorted(numbers)[::2]
        got = [(r.journal_no, r.file_name) for r in ledger.documents("1", iter(some))]
        assert got == [(n, f"d{k}.pdf") for n in some for k in range(2)]
        assert list(ledger.documents("1", [])) == []


def test_problems_in_an_unconstrained_table(ledger_file: Path) -> None:
    """A documents table without the embedded CHECKs (a user's own): each bad row is listed
    with its reason, never dropped; a repeated name for one booking too."""
    a, b = bookings_of(ledger_file, 1, 2)
    sql(
        ledger_file,
        "DROP TABLE documents; CREATE TABLE documents (client_id, journal_no, file_name,"
        " media_type, content, path)",
        ("INSERT INTO documents VALUES (1, ?, 'both.pdf', 'application/pdf', x'01', '/x')", (a,)),
        ("INSERT INTO documents VALUES (1, ?, 'none.pdf', 'application/pdf', NULL, NULL)", (a,)),
        ("INSERT INTO documents VALUES (1, ?, 'leer.pdf', 'application/pdf', x'', NULL)", (a,)),
        ("INSERT INTO documents VALUES (1, ?, 'ordner/x.pdf', NULL, x'01', NULL)", (a,)),
        ("INSERT INTO documents VALUES (1, ?, NULL, 'application/pdf', x'01', NULL)", (a,)),
        ("INSERT INTO documents VALUES (1, ?, 'zwei.pdf', NULL, x'01', NULL)", (b,)),
        ("INSERT INTO documents VALUES (1, ?, 'zwei.pdf', NULL, x'0202', NULL)", (b,)),
        ("INSERT INTO documents VALUES (1, 'keine Zahl', 'x.pdf', NULL, x'01', NULL)", ()),
    )
    with Ledger(f"sqlite:///{ledger_file}") as ledger:
        problems = {(r.journal_no, r.file_name): r.problem for r in ledger.documents("1", [a, b])}
    assert problems == {
        (a, ""): "Dateiname (file_name) fehlt",
        (a, "both.pdf"): (
            "Inhalt (content) und Pfad (path) sind beide angegeben; erlaubt ist eines"
        ),
        (a, "leer.pdf"): "Inhalt (content) ist leer (0 Bytes)",
        (a, "none.pdf"): "weder Inhalt (content) noch Pfad (path) angegeben",
        (a, "ordner/x.pdf"): ("Dateiname (file_name) „ordner/x.pdf“ darf keinen Ordner enthalten"),
        (b, "zwei.pdf"): (
            "Dateiname kommt bei dieser Buchung mehrfach vor (nur der erste wird geliefert)"
        ),
    }
    with Ledger(f"sqlite:///{ledger_file}") as ledger:
        zwei = [r for r in ledger.documents("1", [b])]
        assert [r.problem is None for r in zwei] == [True, False]


def test_a_view_is_read_by_value(ledger_file: Path) -> None:
    jn = bookings_of(ledger_file, 1, 1)[0]
    data = payload(MIB + 5)
    sql(
        ledger_file,
        "DROP TABLE documents; CREATE TABLE belege (mandant, journal, name, inhalt);"
        " CREATE VIEW documents AS SELECT mandant AS client_id, journal AS journal_no,"
        " name AS file_name, NULL AS media_type, inhalt AS content FROM belege",
        ("INSERT INTO belege VALUES (1, ?, 'scan.png', ?)", (jn, data)),
    )
    with Ledger(f"sqlite:///{ledger_file}") as ledger:
        (ref,) = ledger.documents("1", [jn])
        assert (ref.media_type, ref.size, ref.rowid, ref.path) == (
            "image/png",
            len(data),
            None,
            None,
        )
        content, sizes = read_all(ledger, ref)
        assert content == data and sizes == [MIB, 5]


def test_missing_columns_are_named(ledger_file: Path) -> None:
    sql(
        ledger_file,
        "DROP TABLE documents; CREATE TABLE documents (client_id, journal_no, file_name, path)",
    )
    with (
        Ledger(f"sqlite:///{ledger_file}") as ledger,
        pytest.raises(LedgerError, match="Spalte media_type fehlt in Tabelle documents"),
    ):
        ledger.has_documents()
    sql(
        ledger_file,
        "DROP TABLE documents; CREATE TABLE documents (client_id, journal_no, file_name,"
        " media_type)",
    )
    with (
        Ledger(f"sqlite:///{ledger_file}") as ledger,
        pytest.raises(LedgerError, match="Spalten content und path fehlen in Tabelle documents"),
    ):
        list(ledger.documents("1", [1]))


# --------------------------------------------------------------------------- the demo ledger


def pdf_pages(data: bytes) -> int:
    """A light check of a PDF: header, trailer, and its page count (page objects)."""
    assert data.startswith(b"%PDF-1.")
    assert data.rstrip().endswith(b"%%EOF") and b"startxref" in data[-64:]
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def pdf_text(data: bytes) -> bytes:
    """The decompressed content streams (fpdf2 deflates them)."""
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            out.append(zlib.decompress(match.group(1)))
        except zlib.error:
            out.append(match.group(1))
    return b"\n".join(out)


@pytest.fixture(scope="module")
def demo_with_documents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("docs-demo") / "ledger.sqlite"
    summary = generate(path, months=1, per_day=20, seed=2, end=END, documents_per_day=3)
    assert summary.documents > 40
    return path


def test_demo_documents_are_valid_pdfs(demo_with_documents: Path) -> None:
    conn = sqlite3.connect(demo_with_documents)
    rows = conn.execute(
        "SELECT d.client_id, d.journal_no, d.file_name, d.media_type, d.content, b.client_id,"
        " b.document_type, b.document_date, b.amount_cents FROM documents d"
        " JOIN bookings b USING (journal_no) ORDER BY d.journal_no"
    ).fetchall()
    per_day = conn.execute(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM documents d"
        " JOIN bookings b USING (journal_no) GROUP BY b.document_date)"
    ).fetchone()[0]
    conn.close()
    assert per_day == 3
    kinds = set()
    for client, jn, name, media, content, booking_client, kind, day, cents in rows:
        assert client == booking_client and media == "application/pdf"
        assert name.endswith(".pdf") and "/" not in name
        assert pdf_pages(content) == 1
        text = pdf_text(content)
        assert f"Journalnummer {jn}".encode() in text
        euros, rest = divmod(cents, 100)
        assert f"{euros:,}".replace(",", ".").encode() + f",{rest:02d}".encode() in text
        assert (
            day.encode() in content
            or date.fromisoformat(day).strftime("%Y%m%d").encode() in content
        )
        kinds.add(kind)
    assert kinds == {"ER", "BV"}
    with Ledger(f"sqlite:///{demo_with_documents}") as ledger:
        refs = list(ledger.documents("1", range(1, 100_000)))
        assert refs and all(r.problem is None and r.size for r in refs)
        data, _ = read_all(ledger, refs[0])
        assert pdf_pages(data) == 1


def test_demo_documents_are_deterministic(demo_with_documents: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.sqlite"
    generate(again, months=1, per_day=20, seed=2, end=END, documents_per_day=3)
    assert documents_dump(again) == documents_dump(demo_with_documents)
    # the bookings are the same as without documents (the benchmarks' ledgers are unchanged)
    plain = tmp_path / "plain.sqlite"
    generate(plain, months=1, per_day=20, seed=2, end=END)
    assert documents_dump(plain) == []

    def bookings(path: Path) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(path)
        try:
            return conn.execute("SELECT * FROM bookings ORDER BY journal_no").fetchall()
        finally:
            conn.close()

    assert bookings(plain) == bookings(again)


# --------------------------------------------------------------------------- import-documents


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_import_documents(ledger_file: Path, tmp_path: Path) -> None:
    a, b = bookings_of(ledger_file, 1, 2)
    (c,) = bookings_of(ledger_file, 2, 1)
    big = payload(2 * MIB + 3)
    folder = tmp_path / "import"
    (folder / "belege").mkdir(parents=True)
    (folder / "belege" / "RE-1.pdf").write_bytes(b"%PDF-1.4 eins")
    (folder / "belege" / "bon.JPG").write_bytes(b"\xff\xd8\xff")
    (folder / "scan.bin").write_bytes(big)
    csv_file = write(
        folder / "belege.csv",
        "client_id;journal_no;file;file_name;media_type\n"
        f"1;{a};belege/RE-1.pdf;;\n"
        f"1;{a};belege/bon.JPG;Kassenbon.jpg;\n"
        f"2;{c};{folder / 'scan.bin'};Scan.tif;image/tiff\n"
        "\n"
        f"1;{b};belege/RE-1.pdf;;\n",
    )
    result = import_documents(ledger_file, csv_file)
    assert result.ok, result.problems
    assert (result.imported, result.bytes) == (4, 13 + 3 + len(big) + 13)
    with Ledger(f"sqlite:///{ledger_file}") as ledger:
        refs = list(ledger.documents("1", [a, b]))
        assert [(r.journal_no, r.file_name, r.media_type, r.size) for r in refs] == [
            (a, "Kassenbon.jpg", "image/jpeg", 3),
            (a, "RE-1.pdf", "application/pdf", 13),
            (b, "RE-1.pdf", "application/pdf", 13),
        ]
        (scan,) = ledger.documents("2", [c])
        assert scan.media_type == "image/tiff" and read_all(ledger, scan)[0] == big
    # the same file again: every line refused, nothing changes
    before = documents_dump(ledger_file)
    again = import_documents(ledger_file, csv_file)
    assert [(p.line, p.column) for p in again.problems] == [
        (2, "file_name"),
        (3, "file_name"),
        (4, "file_name"),
        (6, "file_name"),
    ]
    assert "schon gespeichert" in again.problems[0].reason
    assert documents_dump(ledger_file) == before


REFUSALS = [
    ("client_id;journal_no;file\n9;{a};ok.pdf\n", 2, "client_id", "Mandant 9 existiert nicht"),
    ("client_id;journal_no;file\n1;999999;ok.pdf\n", 2, "journal_no", "existiert nicht"),
    ("client_id;journal_no;file\n1;{c};ok.pdf\n", 2, "journal_no", "gehört zu Mandant 2"),
    ("client_id;journal_no;file\n1;x;ok.pdf\n", 2, "journal_no", "ganze Zahl"),
    ("client_id;journal_no;file\n1;{a};fehlt.pdf\n", 2, "file", "Datei nicht gefunden"),
    ("client_id;journal_no;file\n1;{a};leer.pdf\n", 2, "file", "leer"),
    ("client_id;journal_no;file\n1;{a};.\n", 2, "file", "keine Datei"),
    ("client_id;journal_no;file\n1;{a};\n", 2, "file", "Pflichtfeld ist leer"),
    ("client_id;journal_no;file\n1;{a};daten.qqq9\n", 2, "media_type", "nicht erkennbar"),
    ("client_id;journal_no;file;media_type\n1;{a};ok.pdf;pdf\n", 2, "media_type", "kein Medientyp"),
    ("client_id;journal_no;file;file_name\n1;{a};ok.pdf;a/b.pdf\n", 2, "file_name", "Ordner"),
    ("client_id;journal_no;file\n1;{a};ok.pdf\n1;{a};ok.pdf\n", 3, "file_name", "Zeile 2"),
    ("client_id;journal_no\n1;{a}\n", 1, "file", "Pflichtspalte fehlt"),
    ("client_id;journal_no;file;farbe\n1;{a};ok.pdf;rot\n", 1, "farbe", "unbekannte Spalte"),
    ("client_id;journal_no;file\n1;{a};ok.pdf;zu viel\n", 2, "", "4 Felder statt 3"),
    # a good row first: it is copied, then rolled back with the bad one
    ("client_id;journal_no;file\n1;{a};ok.pdf\n1;{b};fehlt.pdf\n", 3, "file", "nicht gefunden"),
]


@pytest.mark.parametrize(("text", "line", "column", "reason"), REFUSALS)
def test_each_refusal_changes_nothing(
    ledger_file: Path, tmp_path: Path, text: str, line: int, column: str, reason: str
) -> None:
    a, b = bookings_of(ledger_file, 1, 2)
    (c,) = bookings_of(ledger_file, 2, 1)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.pdf").write_bytes(b"%PDF-1.4")
    (folder / "leer.pdf").write_bytes(b"")
    (folder / "daten.qqq9").write_bytes(b"x")
    csv_file = write(folder / "in.csv", text.format(a=a, b=b, c=c))
    before = documents_dump(ledger_file)
    result = import_documents(ledger_file, csv_file)
    assert not result.ok and result.imported == 0
    problem = result.problems[0]
    assert (problem.line, problem.column) == (line, column), result.problems
    assert reason in problem.reason
    assert str(problem).startswith(f"Zeile {line}")
    assert documents_dump(ledger_file) == before


def test_import_into_an_old_ledger_creates_the_table(ledger_file: Path, tmp_path: Path) -> None:
    sql(ledger_file, "DROP TABLE documents")
    (a,) = bookings_of(ledger_file, 1, 1)
    (tmp_path / "ok.pdf").write_bytes(b"%PDF-1.4")
    bad = write(tmp_path / "bad.csv", f"client_id;journal_no;file\n1;{a};fehlt.pdf\n")
    assert not import_documents(ledger_file, bad).ok
    assert documents_dump(ledger_file) == [("no table",)]  # the refusal created nothing
    good = write(tmp_path / "good.csv", f"client_id,journal_no,file\n1,{a},ok.pdf\n")
    assert import_documents(ledger_file, good).imported == 1
    with Ledger(f"sqlite:///{ledger_file}") as ledger:
        assert ledger.has_documents()
        assert [r.file_name for r in ledger.documents("1", [a])] == ["ok.pdf"]


def test_import_documents_cli(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    generate(home / "ledger.sqlite", months=1, per_day=4, seed=3, end=END)
    (a,) = bookings_of(home / "ledger.sqlite", 1, 1)
    (tmp_path / "RE-1.pdf").write_bytes(b"%PDF-1.4 eins")
    good = write(tmp_path / "ok.csv", f"client_id;journal_no;file\n1;{a};RE-1.pdf\n")
    bad = write(tmp_path / "bad.csv", "client_id;journal_no;file\n7;1;RE-1.pdf\n")
    result = run_cli(home, "ledger", "import-documents", str(good))
    assert result.returncode == 0, result.stderr
    assert "1 Belegbilder importiert (13 Bytes)." in result.stdout
    result = run_cli(home, "ledger", "import-documents", str(bad))
    assert result.returncode == 2
    assert "Zeile 2, Spalte client_id: Mandant 7 existiert nicht" in result.stderr
    assert "Nichts importiert" in result.stderr
    help_text = run_cli(home, "ledger", "import-documents", "--help").stdout
    assert "Belegbilder" in help_text and "journal_no" in help_text


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg_documents(postgres_server: Any, template: Path, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """The demo books in PostgreSQL plus a documents table (bytea and paths), read by a
    read-only role: (its URL, facts for the asserts)."""
    from tests.pg_server import CONTRACT_TABLES, create_ledger_database, create_readonly_role

    name, _url = create_ledger_database(postgres_server, template)
    a, b, c = bookings_of(template, 1, 3)
    big = payload(MIB + 17)
    on_disk = tmp_path / "scan.pdf"
    on_disk.write_bytes(b"%PDF-1.4 auf der Platte")
    with postgres_server.connect(name) as conn:
        conn.execute(
            "CREATE TABLE documents (client_id INTEGER, journal_no BIGINT, file_name TEXT,"
            " media_type TEXT, content BYTEA, path TEXT)"
        )
        conn.execute(
            "INSERT INTO documents VALUES (1, %s, 'b.pdf', 'application/pdf', %s, NULL),"
            " (1, %s, 'a.pdf', NULL, %s, NULL), (1, %s, 'scan.pdf', 'application/pdf', NULL, %s),"
            " (1, %s, 'rel.pdf', 'application/pdf', NULL, 'belege/rel.pdf'),"
            " (1, %s, 'weg.pdf', 'application/pdf', NULL, '/nirgendwo/weg.pdf')",
            (a, big, a, b"A", b, str(on_disk), c, c),
        )
        conn.commit()
    url = create_readonly_role(
        postgres_server, name, user="buchex_belege", objects=(*CONTRACT_TABLES, "documents")
    )
    yield url, {"a": a, "b": b, "c": c, "big": big, "on_disk": on_disk}
    postgres_server.drop_database(name)


def test_postgres_documents(pg_documents: tuple[str, Any]) -> None:
    url, facts = pg_documents
    a, b, c = facts["a"], facts["b"], facts["c"]
    with Ledger(url) as ledger:
        assert ledger.has_documents()
        refs = list(ledger.documents("1", range(a, c + 1)))
        assert [(r.journal_no, r.file_name) for r in refs] == [
            (a, "a.pdf"),
            (a, "b.pdf"),
            (b, "scan.pdf"),
            (c, "rel.pdf"),
            (c, "weg.pdf"),
        ]
        small, large, scan, relative, missing = refs
        assert (small.size, small.media_type, small.problem) == (1, "application/pdf", None)
        assert large.size == len(facts["big"])
        content, sizes = read_all(ledger, large)
        assert content == facts["big"] and sizes == [MIB, 17]
        assert read_all(ledger, small)[0] == b"A"
        assert scan.path == facts["on_disk"] and read_all(ledger, scan)[0].startswith(b"%PDF")
        assert relative.problem is not None and "absolute Pfade" in relative.problem
        assert missing.problem is not None and "Datei nicht gefunden" in missing.problem
        assert list(ledger.documents("1", [a + 100_000])) == []


def test_postgres_without_documents_or_with_a_column_missing(
    postgres_server: Any, template: Path
) -> None:
    from tests.pg_server import create_ledger_database

    name, url = create_ledger_database(postgres_server, template)
    try:
        with Ledger(url) as ledger:
            assert ledger.has_documents() is False
            assert list(ledger.documents("1", range(1, 1000))) == []
        with postgres_server.connect(name) as conn:
            conn.execute("CREATE VIEW documents AS SELECT client_id, journal_no FROM bookings")
            conn.execute("GRANT SELECT ON documents TO buchex_reader")
            conn.commit()
        with (
            Ledger(url) as ledger,
            pytest.raises(LedgerError, match="Spalten file_name, media_type fehlen in Tabelle"),
        ):
            ledger.has_documents()
    finally:
        postgres_server.drop_database(name)
