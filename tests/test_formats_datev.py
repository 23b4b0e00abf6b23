"""The DATEV writer and validator (engine/formats/datev.py) against SPEC §4 and the table.

Golden files: tests/golden/datev/. After a deliberate change of the output, regenerate with
`BUCHEX_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/test_formats_datev.py` and review
the diff.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.formats import FORMAT_CHOICES, format_factories, format_spec
from engine.formats.automatic_accounts import STANDARD, automatic_accounts
from engine.formats.csv_format import CsvFormat
from engine.formats.csv_rfc4180 import CsvRfc4180Format
from engine.formats.datev import (
    AUTOMATIC_ACCOUNTS,
    BS,
    DK,
    Bare,
    DatevFormat,
    bezeichnung,
    fiscal_year_start,
    render_line,
    validate_file,
)
from engine.formats.datev_spec import HEADER_FIELDS, account_pattern, column_index, field_ok
from engine.formats.lexware import LexwareFormat
from engine.formats.periods import fiscal_and_calendar_year
from engine.ledger import Booking, Branch, Catalog, Client, DocumentType, Partner, PaymentMethod
from tests import datev_reader
from tests.test_export import NOW, build_small_ledger, config, run

GOLDEN = Path(__file__).parent / "golden" / "datev"
REGEN = os.environ.get("BUCHEX_REGEN_GOLDEN") == "1"

SPEC_HEADER = (
    '"EXTF";700;21;"Buchungsstapel";13;20240130140440439;;"RE";"";"";29098;55003;20240101;'
    '4;20240101;20240831;"Buchungsstapel";"WD";1;0;0;"EUR";;"";;;"03";;;"";""'
)

CLIENT = Client("1", "Optik Müller GmbH", 29098, 55003, "01-01", 4, "SKR03", False)
CATALOG = Catalog(
    clients={"1": CLIENT},
    branches={"10": Branch("10", "1", "Würzburg", "100")},
    document_types={
        "KR": DocumentType("KR", "Kundenrechnung", False),
        "ER": DocumentType("ER", "Eingangsrechnung", True),
    },
    payment_methods={"UE": PaymentMethod("UE", "Überweisung")},
)


@dataclass
class Recorder:
    warnings: list[tuple[int | None, str, str]] = field(default_factory=list)
    refusals: list[tuple[int | None, str, str]] = field(default_factory=list)

    def warn(self, journal_no: int | None, field: str, message: str) -> None:
        self.warnings.append((journal_no, field, message))

    def refuse(self, journal_no: int | None, field: str, message: str) -> None:
        self.refusals.append((journal_no, field, message))


def writer(
    client: Client = CLIENT,
    now: dt.datetime = NOW,
    own: dict[str, int | None] | None = None,
) -> DatevFormat:
    return DatevFormat(
        client=client,
        catalog=CATALOG,
        config_name="Test",
        now=now,
        mandant=str(client.client_no),
        own_automatic_accounts=own,
    )


def booking(**changes: Any) -> Booking:
    values: dict[str, Any] = {
        "journal_no": 42,
        "client_id": "1",
        "branch_id": "10",
        "document_type": "KR",
        "document_no": "RE-2025-0001",
        "document_date": dt.date(2025, 3, 7),
        "amount_cents": 11900,
        "debit_credit": "S",
        "account": "10001",
        "contra_account": "8400",
        "tax_key": None,
        "text": "Gleitsichtbrille Müller, Jürgen",
        "payment_method": "UE",
        "partner_account": "10001",
        "cost_center": None,
    }
    values.update(changes)
    return Booking(**values)


def fields(row: list[Any]) -> dict[str, Any]:
    """Row values by heading (first occurrence)."""
    out: dict[str, Any] = {}
    for column, value in zip(BS, row, strict=True):
        out.setdefault(column.name, value)
    return out


# --------------------------------------------------------------------------- registry


def test_registry_matches_the_config_choices() -> None:
    assert FORMAT_CHOICES == (
        ("datev", "DATEV-Format"),
        ("csv", "CSV (Tabellenkalkulation)"),
        ("csv-rfc4180", "CSV (UTF-8, RFC 4180, maschinenlesbar)"),
        ("lexware", "Lexware buchhalter (ASCII-Import)"),
    )
    assert format_factories() == {
        "datev": DatevFormat,
        "csv": CsvFormat,
        "csv-rfc4180": CsvRfc4180Format,
        "lexware": LexwareFormat,
    }
    assert set(format_factories()) == {name for name, _ in FORMAT_CHOICES}
    # document images (issue 17): DATEV's Belegbilder package
    assert format_spec("datev").kinds == {
        "bookings",
        "incoming",
        "debtors",
        "creditors",
        "documents",
    }
    assert format_spec("lexware").kinds == {"bookings", "incoming"}


# --------------------------------------------------------------------------- header


def test_header_quoting_reproduces_the_spec_example_exactly() -> None:
    values = [v[1:-1] if v.startswith('"') else v for v in SPEC_HEADER.split(";")]
    assert render_line(HEADER_FIELDS, values) == SPEC_HEADER + "\r\n"


def test_writer_header_matches_the_example_but_for_our_values() -> None:
    fmt = writer(now=dt.datetime(2024, 1, 30, 14, 4, 40, 439_123))
    info = _info(dt.date(2024, 1, 1), dt.date(2024, 8, 31))
    header, headings = fmt.file_head(info).decode("cp1252").split("\r\n")[:2]
    expected = SPEC_HEADER.replace('"RE";"";""', '"RE";"buchex";""').replace(
        '"Buchungsstapel";"WD"', '"buchex Test";""'
    )
    assert header == expected
    assert headings == ";".join(c.name for c in BS)
    assert len(headings.split(";")) == 125


def test_debtor_header_leaves_the_period_empty() -> None:
    from engine.formats import FileInfo

    head = writer().file_head(FileInfo("debtors", None, None, None, None, 1)).decode("cp1252")
    header, headings = head.split("\r\n")[:2]
    assert header == (
        '"EXTF";700;16;"Debitoren/Kreditoren";5;20260401063015250;;"RE";"buchex";"";29098;55003;'
        '20260101;4;;;"";"";;;;"";;"";;;"03";;;"";""'
    )
    assert len(headings.split(";")) == 254


def _info(date_from: dt.date, date_to: dt.date, part: int | None = None) -> Any:
    from engine.formats import FileInfo

    period = fiscal_and_calendar_year(CLIENT)(date_from)
    return FileInfo("bookings", period, date_from, date_to, part, 1)


def test_bezeichnung_is_short_and_plain() -> None:
    assert bezeichnung("buchex Steuerbüro Schröder & Partner täglich") == (
        "buchex Steuerbüro Schröder Par"
    )
    assert bezeichnung("buchex Łódź 👓 «Kanzlei»") == "buchex Lódz Kanzlei"
    assert field_ok(HEADER_FIELDS[16], bezeichnung("x" * 80 + "€"))


def test_fiscal_year_start() -> None:
    assert fiscal_year_start(dt.date(2026, 1, 2), "07-01") == dt.date(2025, 7, 1)
    assert fiscal_year_start(dt.date(2025, 7, 1), "07-01") == dt.date(2025, 7, 1)
    assert fiscal_year_start(dt.date(2025, 6, 30), "01-01") == dt.date(2025, 1, 1)
    assert fiscal_year_start(dt.date(2025, 3, 1), "02-29") == dt.date(2025, 2, 28)


def test_file_names() -> None:
    fmt = writer()
    assert fmt.file_name(_info(dt.date(2025, 1, 2), dt.date(2025, 3, 4))) == (
        "EXTF_Buchungsstapel_55003_20250102_20250304_20260401-063015.csv"
    )
    assert fmt.file_name(_info(dt.date(2025, 1, 2), dt.date(2025, 3, 4), part=2)) == (
        "EXTF_Buchungsstapel_55003_20250102_20250304_2_20260401-063015.csv"
    )


def test_master_data_that_makes_no_header_is_refused() -> None:
    with pytest.raises(ValueError, match="Beraternummer"):
        writer(Client("1", "x", 999, 55003, "01-01", 4, "SKR03", False))
    with pytest.raises(ValueError, match="Kontenrahmen"):
        writer(Client("1", "x", 29098, 55003, "01-01", 4, "SKR99", False))
    with pytest.raises(ValueError, match="Sachkontenlänge"):
        writer(Client("1", "x", 29098, 55003, "01-01", 9, "SKR03", False))


# --------------------------------------------------------------------------- rows


def test_plain_booking() -> None:
    report = Recorder()
    row = writer().booking_row(booking(), report)
    assert row is not None and report == Recorder()
    got = fields(row)
    assert got["Umsatz (ohne Soll/Haben-Kz)"] == "119,00"
    assert isinstance(got["Umsatz (ohne Soll/Haben-Kz)"], Bare)
    assert (got["Soll/Haben-Kennzeichen"], got["Konto"], got["Gegenkonto (ohne BU-Schlüssel)"]) == (
        "S",
        "10001",
        "8400",
    )
    assert got["Belegdatum"] == "0703"
    assert got["Buchungstext"] == "Gleitsichtbrille Müller, Jürgen"  # umlauts stay
    assert got["KOST1 - Kostenstelle"] == "100"  # the branch's cost centre
    assert (got["Beleginfo - Art 1"], got["Beleginfo - Inhalt 1"]) == ("Journalnummer", "42")
    assert got["Beleginfo - Inhalt 2"] == "Kundenrechnung"
    assert got["Beleginfo - Inhalt 4"] == "Überweisung"


def test_the_row_is_made_from_the_bindings() -> None:
    """Every column the table binds gets a value, every other one stays empty."""
    from engine.formats.datev_spec import BUCHUNGSSTAPEL_BINDINGS

    row = writer().booking_row(booking(tax_key="9", contra_account="8200", cost_center="7"),
                               Recorder())  # fmt: skip
    assert row is not None
    filled = {c.name for c, value in zip(BS, row, strict=True) if value != ""}
    assert filled == {b.column for b in BUCHUNGSSTAPEL_BINDINGS if b.value != "empty"}
    # Beleginfo - Art 4 is bound to the payment method: without one, both stay empty.
    bare = writer().booking_row(booking(payment_method=None), Recorder())
    assert bare is not None
    assert fields(bare)["Beleginfo - Art 4"] == fields(bare)["Beleginfo - Inhalt 4"] == ""


def test_the_row_builder_refuses_a_binding_it_cannot_write() -> None:
    from engine.formats.datev import _row_source
    from engine.formats.datev_spec import Binding

    names = Booking._fields
    with pytest.raises(ValueError, match="no rule writes ttmm with mend"):
        _row_source([Binding("Konto", "ttmm", ("account",), "mend")], names, frozenset())
    with pytest.raises(ValueError, match="has no field"):
        _row_source([Binding("Konto", "as_is", ("konto",), "account")], names, frozenset())


def test_quoting_via_csv_writer() -> None:
    row = writer().booking_row(booking(text='Kulanz "Modell Ö"; Rückgabe'), Recorder())
    assert row is not None
    buf = io.StringIO()
    writer().row_writer(buf).writerow(row)
    line = buf.getvalue()
    assert line.startswith('119,00;"S";"";;;"";10001;8400;"";0703;"RE-2025-0001";"";;')
    assert '"Kulanz ""Modell Ö""; Rückgabe"' in line
    assert line.endswith(";\r\n")
    assert len(next(csv.reader([line], delimiter=";"))) == 125


@pytest.mark.parametrize("lock", [False, True])
def test_compact_rows_write_the_same_lines(lock: bool) -> None:
    """The export's fast pair (37 fields + the constant rest as the line end, buffered)
    writes byte for byte what `row_writer` makes of `booking_row`'s 125 fields."""
    client = Client("1", "x", 29098, 55003, "01-01", 4, "SKR03", lock)
    bookings = [
        booking(),
        booking(text='Kulanz "Modell Ö"; Rückgabe', payment_method=None),
        booking(text="Hörsystem " * 9, cost_center="7", tax_key="9", contra_account="8200"),
        booking(text=None, document_no="RE 2025.01"),
    ]
    full, compact = io.StringIO(), io.StringIO()
    w = writer(client)
    plain = w.row_writer(full)
    fast = w.compact_row_writer(compact)
    for b in bookings:
        row, short = w.booking_row(b, Recorder()), w.compact_booking_row(b, Recorder())
        assert row is not None and short is not None and len(short) < len(row) == 125
        plain.writerow(row)
        fast.writerow(short)
    assert compact.getvalue() == ""  # buffered until flushed
    fast.flush()
    assert compact.getvalue() == full.getvalue()


def test_transliteration_and_shortening_warn() -> None:
    report = Recorder()
    long = "Im-Ohr-Hörsystem mit Akku-Ladestation, Bluetooth und Tinnitus-Noiser Yılmaz, Lena"
    row = writer().booking_row(booking(text=long, document_no="RE 2025.01"), report)
    assert row is not None
    got = fields(row)
    assert got["Belegfeld 1"] == "RE-2025-01"
    assert got["Buchungstext"] == long.replace("ı", "i")[:60]
    assert [(j, f) for j, f, _ in report.warnings] == [
        (42, "Belegfeld 1"),
        (42, "Buchungstext"),
        (42, "Buchungstext"),
    ]
    assert report.warnings[2][2].startswith("Buchungstext gekürzt auf 60 Zeichen")
    assert "„RE 2025.01“ → „RE-2025-01“" in report.warnings[0][2]


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"text": "Brille 👓"}, "Buchungstext"),
        ({"text": "Zeile\x00"}, "Buchungstext"),
        ({"document_no": "R" * 37}, "Belegfeld 1"),
        ({"document_no": "中文"}, "Belegfeld 1"),
        ({"amount_cents": 0}, "Umsatz"),
        ({"amount_cents": 10**12}, "Umsatz"),
        ({"debit_credit": "X"}, "Soll/Haben-Kennzeichen"),
        ({"account": "123456"}, "Konto"),  # neither Sachkonto (4) nor Personenkonto (5)
        ({"account": "01234"}, "Konto"),  # a Personenkonto has no leading zero
        ({"contra_account": "1234567890"}, "Gegenkonto (ohne BU-Schlüssel)"),
        ({"contra_account": "0000"}, "Gegenkonto (ohne BU-Schlüssel)"),
        ({"tax_key": "12345"}, "BU-Schlüssel"),
        ({"tax_key": "2"}, "BU-Schlüssel"),  # 7 % on the 19 % Automatikkonto 8400
        ({"cost_center": "100-A"}, "KOST1 - Kostenstelle"),
    ],
)
def test_refused_values(changes: dict[str, Any], field_name: str) -> None:
    report = Recorder()
    assert writer().booking_row(booking(**changes), report) is None
    assert report.refusals and all(j == 42 for j, _, _ in report.refusals)
    assert report.refusals[0][1] == field_name


def test_automatic_accounts() -> None:
    report = Recorder()
    row = writer().booking_row(booking(tax_key="3"), report)  # the key 8400 implies anyway
    assert row is not None and fields(row)["BU-Schlüssel"] == ""
    assert report.warnings[0][:2] == (42, "BU-Schlüssel")
    assert "weggelassen" in report.warnings[0][2]
    ok = writer().booking_row(booking(contra_account="8200", tax_key="3"), Recorder())
    assert ok is not None and fields(ok)["BU-Schlüssel"] == "3"  # not an Automatikkonto
    skr04 = Client("2", "x", 31245, 10020, "07-01", 4, "SKR04", False)
    assert (
        writer(skr04).booking_row(booking(contra_account="4400", tax_key="9"), Recorder()) is None
    )
    assert set(AUTOMATIC_ACCOUNTS) == {"SKR03", "SKR04"}


# Finding 1 (issue 12): SKR04 with Sachkontenlänge 8; 4400 is written 44000000 there.
SKR04_8 = Client("2", "Hörgeräte Weiß KG", 31245, 10020, "01-01", 8, "SKR04", False)


@pytest.mark.parametrize(
    ("contra", "tax", "outcome"),
    [
        ("44000000", "9", "refused"),  # 9 (Vorsteuer 19 %) on Erlöse 19 %: wrong tax
        ("44000000", "2", "refused"),  # 7 % on the 19 % account
        ("44000000", "3", "dropped"),  # the key the account implies anyway
        ("43000000", "2", "dropped"),  # Erlöse 7 %
        ("41250000", "1", "refused"),  # tax-free EU delivery: no key at all
        ("4400", "3", "kept"),  # 00004400 at length 8: another account, no automatic
        ("42000000", "3", "kept"),  # Erlöse (no automatic)
    ],
)
def test_automatic_accounts_follow_chart_and_account_length(
    contra: str, tax: str, outcome: str
) -> None:
    report = Recorder()
    row = writer(SKR04_8).booking_row(
        booking(account="100000001", contra_account=contra, tax_key=tax), report
    )
    if outcome == "refused":
        assert row is None
        assert report.refusals[0][1] == "BU-Schlüssel"
        assert f"Automatikkonto {contra} (SKR04)" in report.refusals[0][2]
    else:
        assert row is not None and not report.refusals
        assert fields(row)["BU-Schlüssel"] == ("" if outcome == "dropped" else tax)
        assert bool(report.warnings) == (outcome == "dropped")


def test_automatic_table_is_complete_for_both_charts_and_mirrors_them() -> None:
    skr03 = {account: key for account, key, _ in STANDARD["SKR03"]}
    skr04 = {account: key for account, key, _ in STANDARD["SKR04"]}
    # The revenue, reduction and goods-received groups of both charts, same implied keys.
    assert len(skr03) == len(skr04) >= 26
    assert sorted(skr03.values(), key=str) == sorted(skr04.values(), key=str)
    assert {skr03["8400"], skr03["8300"], skr03["3400"], skr03["3300"]} == {3, 2, 9, 8}
    assert (skr04["4400"], skr04["4300"], skr04["5400"], skr04["5300"]) == (3, 2, 9, 8)
    # At length 6 every standard account gets two zeros; the own accounts come on top.
    table = automatic_accounts("SKR03", 6, {"840100": 3})
    assert table["840000"] == 3 and table["840100"] == 3 and "8400" not in table


def test_own_automatic_accounts_of_the_client() -> None:
    own = {"8401": 3, "8125": None}
    report = Recorder()
    assert writer(own=own).booking_row(booking(contra_account="8401", tax_key="2"), report) is None
    assert "Automatikkonto 8401" in report.refusals[0][2]
    dropped = writer(own=own).booking_row(booking(contra_account="8401", tax_key="3"), Recorder())
    assert dropped is not None and fields(dropped)["BU-Schlüssel"] == ""


# Finding 5 (issue 12): the BU-Schlüssel is written as the ledger has it, 1 to 4 digits.
@pytest.mark.parametrize("tax", ["9", "40", "109", "1234"])
def test_bu_schluessel_is_written_unpadded(tax: str) -> None:
    row = writer().booking_row(booking(contra_account="8200", tax_key=tax), Recorder())
    assert row is not None and fields(row)["BU-Schlüssel"] == tax
    bu = BS[column_index(BS, "BU-Schlüssel")]
    assert bu.max_len == 4 and field_ok(bu, tax) and bu.quoted
    report = Recorder()
    assert writer().booking_row(booking(contra_account="8200", tax_key="12345"), report) is None
    assert "(1 bis 4 Ziffern)" in report.refusals[0][2]


# Finding 2 (issue 12): Festschreibung in every row, equal to the header.
@pytest.mark.parametrize("lock", [False, True])
def test_festschreibung_in_every_row(lock: bool) -> None:
    client = Client("1", "x", 29098, 55003, "01-01", 4, "SKR03", lock)
    row = writer(client).booking_row(booking(), Recorder())
    assert row is not None
    value = fields(row)["Festschreibung"]
    assert value == ("1" if lock else "0") and isinstance(value, Bare)
    header = writer(client).file_head(_info(dt.date(2025, 1, 1), dt.date(2025, 1, 31)))
    assert header.decode("cp1252").split(";")[20] == value


def test_debtor_rows() -> None:
    partners = [
        Partner("1", "10001", "debtor", "Müller, Jürgen", "Hauptstraße 5", "97070",
                "Würzburg", "de", "DE 123 456 789", "j@example.org"),
        Partner("1", "10002", "debtor", "Seniorenresidenz Am Schloßpark gemeinnützige GmbH, "
                "Wohnbereich Süd", None, None, "Bad Königshofen im Grabfeld OT Merkershausen",
                "DE", None, None),
    ]  # fmt: skip
    report = Recorder()
    rows = writer().partner_rows("debtors", partners, {"10001": 1, "10002": 2}, report)
    assert len(rows) == 2
    first = {c.name: v for c, v in zip(DK, rows[0], strict=True)}
    assert first["Konto"] == "10001" and isinstance(first["Konto"], Bare)
    assert first["Name (Adressattyp keine Angabe)"] == "Müller, Jürgen"
    assert (first["EU-Land"], first["EU-UStID"], first["Land"]) == ("DE", "123456789", "DE")
    assert (first["Adressart"], first["Straße"], first["Ort"]) == (
        "STR",
        "Hauptstraße 5",
        "Würzburg",
    )
    second = {c.name: v for c, v in zip(DK, rows[1], strict=True)}
    assert len(second["Name (Adressattyp keine Angabe)"]) == 50
    assert len(second["Ort"]) == 30
    assert {(j, f) for j, f, _ in report.warnings} == {
        (2, "Name (Adressattyp keine Angabe)"),
        (2, "Ort"),
    }
    for row in rows:
        for column, value in zip(DK, row, strict=True):
            assert field_ok(column, value), (column.name, value)

    bad = Recorder()
    wrong = [Partner("1", "1234", "debtor", "x", None, None, None, None, "DE12?", None)]
    assert writer().partner_rows("debtors", wrong, {"1234": 7}, bad) == []
    assert {f for _, f, _ in bad.refusals} == {"Konto", "EU-UStID"}
    assert all(j == 7 for j, _, _ in bad.refusals)
    assert bad.refusals[0][2].startswith("Debitor 1234:")


def test_creditor_rows_and_file() -> None:
    creditor = Partner("1", "70001", "creditor", "Brillenglaswerk Süd GmbH", "Glasweg 3",
                       "90402", "Nürnberg", "DE", "DE987654321", None)  # fmt: skip
    rows = writer().partner_rows("creditors", [creditor], {"70001": 6}, Recorder())
    got = {c.name: v for c, v in zip(DK, rows[0], strict=True)}
    assert (got["Konto"], got["Name (Adressattyp keine Angabe)"]) == (
        "70001",
        "Brillenglaswerk Süd GmbH",
    )
    bad = Recorder()
    wrong = Partner("1", "700", "creditor", "x", None, None, None, None, None, None)
    assert writer().partner_rows("creditors", [wrong], {"700": 9}, bad) == []
    assert bad.refusals[0][2].startswith("Kreditor 700:")
    from engine.formats import FileInfo

    info = FileInfo("creditors", None, None, None, None, 1)
    assert writer().file_name(info) == "EXTF_Kreditoren_55003_20260401-063015.csv"
    header = writer().file_head(info).decode("cp1252").split("\r\n")[0].split(";")
    assert header[2:5] == ["16", '"Debitoren/Kreditoren"', "5"]
    assert header[14:16] == ["", ""]  # no Datum vom/bis in master data


# --------------------------------------------------------------------------- property


ACCOUNTS = st.one_of(
    st.sampled_from(["1000", "8400", "8300", "3400", "8200", "10001", "69001", "70001"]),
    st.from_regex(r"\d{1,11}", fullmatch=True),
)
TEXTS = st.one_of(
    st.none(),
    st.text(max_size=90),
    st.text(alphabet="aäÄöüßéşıł€„“ -,.\"';\t\n👓中", max_size=90),
    st.sampled_from(["Gleitsichtbrille Yılmaz, Gülşen", "Barverkauf Brillenetui", ""]),
)
DOCNOS = st.one_of(
    st.from_regex(r"[A-Z]{2}-20\d\d-\d{6}", fullmatch=True),
    st.text(alphabet="RE0123456789 ./_#ä-👓", max_size=45),
)


@given(
    journal_no=st.integers(1, 10**9),
    day=st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
    cents=st.integers(-5, 10**13),
    sh=st.sampled_from(["S", "H", "X"]),
    account=ACCOUNTS,
    contra=ACCOUNTS,
    tax=st.one_of(st.none(), st.sampled_from(["2", "3", "8", "9", "40", "12345", "x"])),
    text=TEXTS,
    docno=DOCNOS,
    cost_center=st.one_of(st.none(), st.sampled_from(["100", "Süd 1", "100-A"])),
    payment=st.one_of(st.none(), st.just("UE")),
    length=st.integers(4, 8),
)
def test_every_booking_becomes_a_valid_row_or_is_refused_by_journal_number(
    journal_no: int,
    day: dt.date,
    cents: int,
    sh: str,
    account: str,
    contra: str,
    tax: str | None,
    text: str | None,
    docno: str,
    cost_center: str | None,
    payment: str | None,
    length: int,
) -> None:
    client = Client("1", "x", 29098, 55003, "01-01", length, "SKR03", False)
    b = booking(
        journal_no=journal_no,
        document_date=day,
        amount_cents=cents,
        debit_credit=sh,
        account=account,
        contra_account=contra,
        tax_key=tax,
        text=text,
        document_no=docno,
        cost_center=cost_center,
        payment_method=payment,
    )
    report = Recorder()
    row = writer(client).booking_row(b, report)
    if row is None:
        assert report.refusals
        assert {j for j, _, _ in report.refusals} == {journal_no}
        return
    assert not report.refusals
    assert all(j == journal_no for j, _, _ in report.warnings)
    assert len(row) == 125
    for column, value in zip(BS, row, strict=True):
        assert field_ok(column, value), (column.name, value)
        assert isinstance(value, Bare) == (not column.quoted), column.name
    for value in (row[6], row[7]):
        assert len(value) <= length or account_pattern(length, personal=True).fullmatch(value)
    buf = io.StringIO()
    writer(client).row_writer(buf).writerow(row)
    line = buf.getvalue()
    assert line.endswith("\r\n") and "\n" not in line[:-2]
    assert next(csv.reader([line[:-2]], delimiter=";")) == [str(v) for v in row]
    line.encode("cp1252")


# --------------------------------------------------------------------------- golden files


def test_golden_files(tmp_path: Path) -> None:
    ledger = build_small_ledger(tmp_path / "ledger.sqlite")
    result = run(ledger, tmp_path / "out", config())
    produced = {f.name: f.path.read_bytes() for f in result.files}
    if REGEN:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for old in GOLDEN.glob("*.csv"):
            old.unlink()
        for name, data in produced.items():
            (GOLDEN / name).write_bytes(data)
    expected = {p.name: p.read_bytes() for p in sorted(GOLDEN.glob("*.csv"))}
    assert sorted(produced) == sorted(expected)
    for name, data in produced.items():
        assert data == expected[name], name


def test_golden_files_pass_the_validator_and_the_reader() -> None:
    files = sorted(GOLDEN.glob("*.csv"))
    assert len(files) == 7
    for path in files:
        assert validate_file(path) == [], path.name
        parsed = datev_reader.read(path)
        assert parsed.consultant_no in (29098, 31245)
        lines = datev_reader.raw_lines(path)
        assert len(lines) == 2 + len(parsed.rows)
    name = "EXTF_Buchungsstapel_55003_20250303_20250306_20260401-063015.csv"
    credit_note = datev_reader.read(GOLDEN / name)
    records = credit_note.records()
    assert [r["Soll/Haben-Kennzeichen"] for r in records] == ["S", "S", "H", "S", "S"]
    assert records[2]["Buchungstext"] == 'Gutschrift Kulanz Fassungsbruch "Modell Ö"; Rückgabe'
    assert records[3]["Belegfeld 1"] == "RE-2025/0002"
    assert len(records[3]["Buchungstext"]) == 60
    assert records[4]["Buchungstext"] == "Sonnenbrille Yilmaz, Özlem"
    assert records[4]["BU-Schlüssel"] == ""
    assert credit_note.sums() == (11900 + 1995 + 39900 + 8900, 5000)
    # Festschreibung written in every row (client 1: 0, client 2 locks its batches: 1).
    assert {r["Festschreibung"] for r in records} == {"0"}
    locked = datev_reader.read(
        GOLDEN / "EXTF_Buchungsstapel_10020_20260102_20260102_20260401-063015.csv"
    )
    assert {r["Festschreibung"] for r in locked.records()} == {"1"}
    incoming = datev_reader.read(
        GOLDEN / "EXTF_Buchungsstapel_Eingang_55003_20250307_20250307_20260401-063015.csv"
    )
    assert incoming.records()[0]["BU-Schlüssel"] == "9"  # on 3200, no Automatikkonto
    creditors = datev_reader.read(GOLDEN / "EXTF_Kreditoren_55003_20260401-063015.csv")
    assert (creditors.category, creditors.column("Konto")) == (16, ["70001"])


def test_validator_finds_broken_files(tmp_path: Path) -> None:
    source = GOLDEN / "EXTF_Buchungsstapel_55003_20250303_20250306_20260401-063015.csv"
    lines = source.read_bytes().split(b"\r\n")
    broken = tmp_path / "broken.csv"
    row = lines[2].split(b";")
    row[0] = b"119.00"  # decimal point
    row[1] = b"S"  # unquoted
    broken.write_bytes(b"\r\n".join([*lines[:2], b";".join(row), *lines[3:]]))
    problems = validate_file(broken)
    assert any("Umsatz" in p for p in problems)
    assert any("Anführungszeichen" in p for p in problems)
    lf = tmp_path / "lf.csv"
    lf.write_bytes(source.read_bytes().replace(b"\r\n", b"\n"))
    assert validate_file(lf)


def _with_field(source: Path, target: Path, index: int, value: bytes) -> Path:
    lines = source.read_bytes().split(b"\r\n")
    row = lines[2].split(b";")
    row[index] = value
    target.write_bytes(b"\r\n".join([*lines[:2], b";".join(row), *lines[3:]]))
    return target


def test_validator_requires_festschreibung_like_the_header(tmp_path: Path) -> None:
    source = GOLDEN / "EXTF_Buchungsstapel_55003_20250303_20250306_20260401-063015.csv"
    index = column_index(BS, "Festschreibung")
    empty = validate_file(_with_field(source, tmp_path / "a.csv", index, b""))
    assert empty == ["Zeile 3: Festschreibung leer, Kopfzeile sagt 0"]
    other = validate_file(_with_field(source, tmp_path / "b.csv", index, b"1"))
    assert other == ["Zeile 3: Festschreibung 1, Kopfzeile sagt 0"]


def test_validator_refuses_a_key_on_an_automatic_account(tmp_path: Path) -> None:
    source = GOLDEN / "EXTF_Buchungsstapel_55003_20250303_20250306_20260401-063015.csv"
    bad = _with_field(source, tmp_path / "bu.csv", column_index(BS, "BU-Schlüssel"), b'"9"')
    assert validate_file(bad) == ["Zeile 3: BU-Schlüssel 9 auf Automatikkonto 8400"]


def test_fast_cp1252_check_equals_encoding() -> None:
    """datev_spec.encodable uses a character set; it must agree with the codec."""
    from engine.formats.datev_spec import encodable

    for code in [*range(0x3000), 0x1F453, 0x10FFFF]:
        char = chr(code)
        try:
            char.encode("cp1252")
            expected = code >= 0x20 and code != 0x7F
        except UnicodeEncodeError:
            expected = False
        assert encodable(char) == expected, hex(code)
