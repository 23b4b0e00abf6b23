"""CSV import of bookings into the embedded ledger: all or nothing, every problem reported."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import LedgerError
from engine.ledger import Ledger
from engine.ledger_demo import generate
from engine.ledger_import import ImportProblem, format_problems, import_bookings

END = date(2025, 9, 30)

HEADER = (
    "client_id;branch_id;document_type;document_no;document_date;amount_cents;debit_credit;"
    "account;contra_account;tax_key;text;payment_method;partner_account;cost_center"
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "ledger.sqlite"
    generate(path, months=1, per_day=4, seed=3, end=END)
    return path


@pytest.fixture
def ledger_file(template: Path, tmp_path: Path) -> Path:
    """A fresh copy per test: imports change the file."""
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(template.read_bytes())
    return path


def write(tmp_path: Path, text: str, name: str = "in.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def state(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        n, top = conn.execute("SELECT count(*), max(journal_no) FROM bookings").fetchone()
    finally:
        conn.close()
    return int(n), int(top)


def test_good_file_loads_and_journal_numbers_continue(ledger_file: Path, tmp_path: Path) -> None:
    count, top = state(ledger_file)
    csv_file = write(
        tmp_path,
        "\ufeff"  # Excel's byte order mark is fine
        + HEADER
        + "\n"
        + "1;1;KR;RE-2025-900001;2025-10-01;119000;S;10001;8400;;"
        "Gleitsichtbrille Müller, Jürgen;UE;10001;100\n"
        "\n"  # blank lines are skipped
        + '2;4;ER;R25/00001;2025-10-02;5950;H;70001;5200;9;"Brillenglaswerk; Lieferung";;70001;\n'
        + "1;3;BV;BV-2025-900001;2025-10-02;1299;S;1000;8400;;;BAR;;300\n",
    )
    result = import_bookings(ledger_file, csv_file)
    assert result.ok and result.problems == ()
    assert result.imported == 3
    assert (result.first_journal_no, result.last_journal_no) == (top + 1, top + 3)
    assert state(ledger_file) == (count + 3, top + 3)
    conn = sqlite3.connect(ledger_file)
    rows = conn.execute(
        "SELECT * FROM bookings WHERE journal_no > ? ORDER BY journal_no", (top,)
    ).fetchall()
    conn.close()
    assert rows[0] == (
        top + 1, 1, 1, "KR", "RE-2025-900001", "2025-10-01", 119000, "S", "10001", "8400",
        None, "Gleitsichtbrille Müller, Jürgen", "UE", "10001", "100",
    )  # fmt: skip
    assert rows[1][10:14] == ("9", "Brillenglaswerk; Lieferung", None, "70001")
    assert rows[1][14] is None
    # the read side sees them
    with Ledger(f"sqlite:///{ledger_file}") as led:
        assert led.max_journal_no() == top + 3


def test_comma_delimiter_amount_column_and_own_journal_numbers(
    ledger_file: Path, tmp_path: Path
) -> None:
    _, top = state(ledger_file)
    csv_file = write(
        tmp_path,
        "journal_no,client_id,branch_id,document_type,document_no,document_date,amount,"
        "debit_credit,account,contra_account\n"
        f'{top + 10},2,5,GS,GS-1,2025-10-01,"12,5",h,10001,4400\n'
        f"{top + 20},2,5,KR,RE-1,2025-10-01,1234.56,S,10001,4400\n"
        f"{top + 21},2,5,KR,RE-2,2025-10-01,7,S,10001,4400\n",
    )
    result = import_bookings(ledger_file, csv_file)
    assert result.ok, format_problems(result.problems)
    assert (result.imported, result.first_journal_no, result.last_journal_no) == (
        3,
        top + 10,
        top + 21,
    )
    conn = sqlite3.connect(ledger_file)
    got = conn.execute(
        "SELECT journal_no, amount_cents, debit_credit FROM bookings WHERE journal_no > ?",
        (top,),
    ).fetchall()
    conn.close()
    assert got == [(top + 10, 1250, "H"), (top + 20, 123456, "S"), (top + 21, 700, "S")]


def test_every_bad_row_is_reported_and_nothing_loaded(ledger_file: Path, tmp_path: Path) -> None:
    before = state(ledger_file)
    good = "1;1;KR;RE-1;2025-10-01;100;S;10001;8400;;Text;UE;10001;100"
    csv_file = write(
        tmp_path,
        "\n".join(
            [
                HEADER,
                good,  # line 2: fine, but must not be loaded either
                "1;1;KR;RE-2;2025-10-01;0;S;10001;8400;;;;;",  # 3: amount 0
                "1;1;KR;RE-3;2025-10-01;12,50;X;10001;8400;;;;;",  # 4: amount, S/H
                "1;1;KR;RE-4;2025-02-30;100;S;10001;8400;;;;;",  # 5: date
                "9;1;KR;RE-5;2025-10-01;100;S;10001;8400;;;;;",  # 6: client
                "1;4;KR;RE-6;2025-10-01;100;S;10001;8400;;;;;",  # 7: branch of client 2
                "1;77;XX;;2025-10-01;100;S;10001;8400;;;ZZ;;",  # 8: branch, type, no, method
                "1;1;KR;RE-8;2025-10-01;100;S;1000A;;12345;;;x;",  # 9: accounts, tax key
                "1;1;KR;RE-9;2025-10-01;100;S",  # 10: too few fields
                "1;1;KR;RE-10;01.10.2025;-5;S;10001;8400;;;;;",  # 11: date, amount
                good,  # 12: fine
            ]
        )
        + "\n",
    )
    result = import_bookings(ledger_file, csv_file)
    assert not result.ok and result.imported == 0
    assert {(p.line, p.column) for p in result.problems} == {
        (3, "amount_cents"),
        (4, "amount_cents"),
        (4, "debit_credit"),
        (5, "document_date"),
        (6, "client_id"),
        (7, "branch_id"),
        (8, "branch_id"),
        (8, "document_type"),
        (8, "document_no"),
        (8, "payment_method"),
        (9, "account"),
        (9, "contra_account"),
        (9, "tax_key"),
        (9, "partner_account"),
        (10, ""),
        (11, "document_date"),
        (11, "amount_cents"),
    }
    assert len(result.problems) == 17
    reasons = {(p.line, p.column): p.reason for p in result.problems}
    assert reasons[(3, "amount_cents")] == "muss eine ganze Zahl größer 0 sein"
    assert (
        str(result.problems[0])
        == "Zeile 3, Spalte amount_cents: muss eine ganze Zahl größer 0 sein"
    )
    assert reasons[(6, "client_id")] == "Mandant 9 existiert nicht"
    assert reasons[(7, "branch_id")] == "Filiale 4 gehört nicht zu Mandant 1"
    assert reasons[(8, "branch_id")] == "Filiale 77 existiert nicht"
    assert reasons[(8, "document_type")] == "Belegart XX existiert nicht"
    assert reasons[(8, "payment_method")] == "Zahlungsart ZZ existiert nicht"
    assert reasons[(5, "document_date")] == "muss ein gültiges Datum im Format JJJJ-MM-TT sein"
    assert reasons[(4, "debit_credit")] == "muss S oder H sein"
    assert str(result.problems[[p.line for p in result.problems].index(10)]).startswith(
        "Zeile 10: 7 Felder statt 14"
    )
    assert state(ledger_file) == before


def test_problem_lines_count_physical_lines(ledger_file: Path, tmp_path: Path) -> None:
    csv_file = write(
        tmp_path,
        HEADER + "\n"
        '1;1;KR;RE-1;2025-10-01;100;S;10001;8400;;"zwei\nZeilen";;;\n'
        "1;1;KR;RE-2;2025-10-01;100;Q;10001;8400;;;;;\n",
    )
    result = import_bookings(ledger_file, csv_file)
    assert result.problems == (ImportProblem(4, "debit_credit", "muss S oder H sein"),)


def test_header_problems_are_reported_once(ledger_file: Path, tmp_path: Path) -> None:
    before = state(ledger_file)
    rows = "\n1;1;KR;RE-1;2025-10-01;100;S;10001\n" * 50
    missing = write(
        tmp_path,
        "client_id;branch_id;document_type;document_no;document_date;amount_cents;"
        "debit_credit;account" + rows,
    )
    result = import_bookings(ledger_file, missing)
    assert result.problems == (ImportProblem(1, "contra_account", "Pflichtspalte fehlt"),)
    odd = write(tmp_path, HEADER.replace("text", "txet") + ";amount;account\n", "odd.csv")
    problems = {(p.line, p.column, p.reason) for p in import_bookings(ledger_file, odd).problems}
    assert problems == {
        (1, "txet", "unbekannte Spalte"),
        (1, "account", "Spalte kommt doppelt vor"),
        (1, "amount", "nur eine der Spalten amount_cents oder amount angeben"),
    }
    empty = write(tmp_path, "", "empty.csv")
    assert import_bookings(ledger_file, empty).problems[0].line == 1
    assert state(ledger_file) == before


def test_journal_numbers_must_increase_above_existing(ledger_file: Path, tmp_path: Path) -> None:
    before = state(ledger_file)
    top = before[1]
    row = "1;1;KR;RE-1;2025-10-01;100;S;10001;8400"
    csv_file = write(
        tmp_path,
        "journal_no;client_id;branch_id;document_type;document_no;document_date;amount_cents;"
        "debit_credit;account;contra_account\n"
        f"{top};{row}\n"  # 2: not above the existing ones
        f"{top + 5};{row}\n"  # 3: fine
        f"{top + 5};{row}\n"  # 4: not increasing
        f";{row}\n",  # 5: missing
    )
    result = import_bookings(ledger_file, csv_file)
    assert [(p.line, p.column) for p in result.problems] == [
        (2, "journal_no"),
        (4, "journal_no"),
        (5, "journal_no"),
    ]
    assert f"größer als {top}" in result.problems[0].reason
    assert state(ledger_file) == before


def test_not_utf8_and_missing_files(ledger_file: Path, tmp_path: Path) -> None:
    latin = write(
        tmp_path,
        HEADER + "\n1;1;KR;RE-1;2025-10-01;100;S;10001;8400;;Müller;;;\n",
        encoding="cp1252",
    )
    result = import_bookings(ledger_file, latin)
    assert [p.reason for p in result.problems] == ["Datei ist nicht UTF-8-kodiert"]
    with pytest.raises(LedgerError, match="Importdatei nicht lesbar"):
        import_bookings(ledger_file, tmp_path / "nope.csv")
    with pytest.raises(LedgerError, match="nicht gefunden"):
        import_bookings(tmp_path / "no-ledger.sqlite", latin)
    assert not (tmp_path / "no-ledger.sqlite").exists()


def test_many_rows_load_in_batches(ledger_file: Path, tmp_path: Path) -> None:
    count, top = state(ledger_file)
    lines = [HEADER] + [
        f"2;5;BV;BV-9-{i:06d};2025-10-01;{100 + i};S;1600;4400;;;EC;;500" for i in range(2500)
    ]
    csv_file = write(tmp_path, "\n".join(lines) + "\n")
    result = import_bookings(ledger_file, csv_file, batch_size=300)
    assert result.ok and result.imported == 2500
    assert state(ledger_file) == (count + 2500, top + 2500)
    # one bad row at the very end: nothing of the already inserted batches stays
    bad = write(tmp_path, "\n".join([*lines, lines[1].replace(";S;", ";?;")]) + "\n", "bad.csv")
    result = import_bookings(ledger_file, bad, batch_size=300)
    assert [(p.line, p.column) for p in result.problems] == [(2502, "debit_credit")]
    assert state(ledger_file) == (count + 2500, top + 2500)


def test_problem_listing() -> None:
    problems = [ImportProblem(i, "amount", "x") for i in range(2, 60)]
    text = format_problems(problems, limit=3)
    assert text.splitlines() == [
        "Zeile 2, Spalte amount: x",
        "Zeile 3, Spalte amount: x",
        "Zeile 4, Spalte amount: x",
        "… und 55 weitere Fehler",
    ]
    assert str(ImportProblem(5, "", "zu kurz")) == "Zeile 5: zu kurz"


@given(cents=st.integers(min_value=1, max_value=10**10), style=st.sampled_from(["c", ",", "."]))
def test_amount_spellings(
    tmp_path_factory: pytest.TempPathFactory, template: Path, cents: int, style: str
) -> None:
    tmp = tmp_path_factory.mktemp("amount")
    path = tmp / "ledger.sqlite"
    path.write_bytes(template.read_bytes())
    euros, rest = divmod(cents, 100)
    if style == "c":
        column, value = "amount_cents", str(cents)
    else:
        column = "amount"
        value = f"{euros}{style}{rest:02d}" if rest % 10 else f"{euros}{style}{rest // 10}"
        if rest == 0:
            value = str(euros)
    csv_file = write(
        tmp,
        f"client_id;branch_id;document_type;document_no;document_date;{column};debit_credit;"
        f"account;contra_account\n1;2;KR;RE-1;2025-10-01;{value};S;10001;8400\n",
    )
    result = import_bookings(path, csv_file)
    assert result.ok, format_problems(result.problems)
    conn = sqlite3.connect(path)
    stored = conn.execute("SELECT amount_cents FROM bookings ORDER BY journal_no DESC").fetchone()
    conn.close()
    assert stored == (cents,)
