"""The DATEV-Format column table (engine/formats/datev_spec.py) against what DATEV publishes."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.formats import datev_spec as d
from engine.formats.datev_spec import (
    BELEGFELD_CHARSET,
    BUCHUNGSSTAPEL_COLUMNS,
    DEBITOREN_KREDITOREN_COLUMNS,
    HEADER_FIELDS,
    Column,
    column_index,
    field_ok,
    render_field,
    shorten,
    transliterate,
)

BS = BUCHUNGSSTAPEL_COLUMNS
DK = DEBITOREN_KREDITOREN_COLUMNS


def col(columns: tuple[Column, ...], name: str) -> Column:
    return columns[column_index(columns, name)]


def names(columns: tuple[Column, ...]) -> list[str]:
    return [c.name for c in columns]


# --- counts, constants ------------------------------------------------------------------


def test_counts() -> None:
    assert len(HEADER_FIELDS) == 31
    assert len(BS) == 125
    assert len(DK) == 254


def test_file_constants() -> None:
    assert d.VERSION == 700
    assert d.FORMAT_CATEGORY == {"Buchungsstapel": 21, "Debitoren/Kreditoren": 16}
    assert d.FORMAT_VERSION == {"Buchungsstapel": 13, "Debitoren/Kreditoren": 5}
    assert d.MAX_ROWS_PER_FILE == 99_999
    assert d.ENCODING == "cp1252"
    assert d.SEPARATOR == ";"
    assert d.LINE_END == "\r\n"
    assert d.COLUMNS["Buchungsstapel"] is BS
    assert d.COLUMNS["Debitoren/Kreditoren"] is DK


# --- headings: duplicates only where DATEV repeats them ----------------------------------


def test_buchungsstapel_headings_are_unique() -> None:
    # Beleginfo and Zusatzinformation are numbered 1..8 / 1..20, so nothing repeats.
    assert [n for n, k in Counter(names(BS)).items() if k > 1] == []


def test_header_repeats_only_reserviert() -> None:
    # DATEV's header description names five fields "reserviert" (positions 23, 25, 26, 29, 30).
    repeated = {n: k for n, k in Counter(names(HEADER_FIELDS)).items() if k > 1}
    assert repeated == {"reserviert": 5}
    positions = [i + 1 for i, c in enumerate(HEADER_FIELDS) if c.name == "reserviert"]
    assert positions == [23, 25, 26, 29, 30]


def test_debitoren_kreditoren_repeat_only_leerfeld() -> None:
    # DATEV's Musterdatei EXTF_DebKred_Stamm.csv heads twelve columns plainly "Leerfeld":
    # the sixth column of each of the ten bank blocks, position 96, and position 134
    # (formerly "Verfahren").
    repeated = {n: k for n, k in Counter(names(DK)).items() if k > 1}
    assert repeated == {"Leerfeld": 12}
    positions = [i + 1 for i, c in enumerate(DK) if c.name == "Leerfeld"]
    assert positions == [46, 57, 68, 79, 90, 96, 134, 170, 181, 192, 203, 214]


def test_column_index_refuses_repeated_headings() -> None:
    with pytest.raises(ValueError):
        column_index(DK, "Leerfeld")
    with pytest.raises(ValueError):
        column_index(HEADER_FIELDS, "reserviert")
    with pytest.raises(KeyError):
        column_index(BS, "Umsatz")


# --- the header line --------------------------------------------------------------------

SPEC_HEADER = (
    '"EXTF";700;21;"Buchungsstapel";13;20240130140440439;;"RE";"";"";29098;55003;20240101;'
    '4;20240101;20240831;"Buchungsstapel";"WD";1;0;0;"EUR";;"";;;"03";;;"";""'
)
# DATEV's example for master data (developer portal, "Header"): Datum vom/bis stay empty.
DEBKRED_HEADER = (
    '"EXTF";700;16;"Debitoren/Kreditoren";5;20240130140659583;;"RE";"";"";29098;55003;'
    '20240101;4;;;"";"";;;;"";;"";;;"03";;;"";""'
)


def _header_values(line: str) -> list[str]:
    """Raw values of a header line (no field in these examples holds ; or an inner quote)."""
    return [v[1:-1] if v.startswith('"') else v for v in line.split(";")]


@pytest.mark.parametrize("line", [SPEC_HEADER, DEBKRED_HEADER])
def test_header_line_reproduced_field_by_field(line: str) -> None:
    values = _header_values(line)
    assert len(values) == 31
    rendered = [render_field(c, v) for c, v in zip(HEADER_FIELDS, values, strict=True)]
    assert d.SEPARATOR.join(rendered) == line
    for c, v in zip(HEADER_FIELDS, values, strict=True):
        assert field_ok(c, v), (c.name, v)


def test_header_field_names_and_quoting() -> None:
    assert names(HEADER_FIELDS)[:6] == [
        "Kennzeichen",
        "Versionsnummer",
        "Formatkategorie",
        "Formatname",
        "Formatversion",
        "Erzeugt am",
    ]
    quoted = [i + 1 for i, c in enumerate(HEADER_FIELDS) if c.quoted]
    assert quoted == [1, 4, 8, 9, 10, 17, 18, 22, 24, 27, 30, 31]
    assert HEADER_FIELDS[14].name == "Datum vom"
    assert HEADER_FIELDS[26].name == "Sachkontenrahmen"
    assert HEADER_FIELDS[30].name == "Anwendungsinformation"


def test_header_value_rules() -> None:
    berater = col(HEADER_FIELDS, "Beraternummer")
    assert [field_ok(berater, v) for v in ("1001", "29098", "9999999")] == [True] * 3
    assert [field_ok(berater, v) for v in ("1000", "999", "10000000", "")] == [False] * 4
    mandant = col(HEADER_FIELDS, "Mandantennummer")
    assert field_ok(mandant, "1") and field_ok(mandant, "99999")
    assert not field_ok(mandant, "0") and not field_ok(mandant, "100000")
    laenge = col(HEADER_FIELDS, "Sachkontenlänge")
    assert [field_ok(laenge, str(n)) for n in range(3, 10)] == [False] + [True] * 5 + [False]
    bezeichnung = col(HEADER_FIELDS, "Bezeichnung")
    assert field_ok(bezeichnung, "Buchungen 01/2024")
    assert not field_ok(bezeichnung, "x" * 31)
    erzeugt = col(HEADER_FIELDS, "Erzeugt am")
    assert field_ok(erzeugt, "20240130140440439")
    assert not field_ok(erzeugt, "2024013014044043")


# --- Buchungsstapel ---------------------------------------------------------------------

BS_POSITIONS = {
    1: "Umsatz (ohne Soll/Haben-Kz)",
    2: "Soll/Haben-Kennzeichen",
    3: "WKZ Umsatz",
    7: "Konto",
    8: "Gegenkonto (ohne BU-Schlüssel)",
    9: "BU-Schlüssel",
    10: "Belegdatum",
    11: "Belegfeld 1",
    12: "Belegfeld 2",
    14: "Buchungstext",
    20: "Beleglink",
    21: "Beleginfo - Art 1",
    36: "Beleginfo - Inhalt 8",
    37: "KOST1 - Kostenstelle",
    38: "KOST2 - Kostenstelle",
    39: "Kost-Menge",
    40: "EU-Land u. UStID (Bestimmung)",
    42: "Abw. Versteuerungsart",
    48: "Zusatzinformation - Art 1",
    49: "Zusatzinformation- Inhalt 1",  # sic: DATEV's Musterdatei has no blank before "-"
    87: "Zusatzinformation- Inhalt 20",
    96: "Buchungstyp",
    102: "Herkunft-Kz",
    103: "Buchungs GUID",
    114: "Festschreibung",
    115: "Leistungsdatum",
    117: "Fälligkeit",
    118: "Generalumkehr (GU)",
    120: "Land",
    121: "Abrechnungsreferenz",
    122: "BVV-Position",
    123: "EU-Land u. UStID (Ursprung)",
    124: "EU-Steuersatz (Ursprung)",
    125: "Abw. Skontokonto",
}


@pytest.mark.parametrize(("position", "name"), sorted(BS_POSITIONS.items()))
def test_buchungsstapel_positions(position: int, name: str) -> None:
    assert BS[position - 1].name == name
    if names(BS).count(name) == 1:
        assert column_index(BS, name) == position - 1


def test_buchungsstapel_quoting_matches_datev_sample() -> None:
    # Positions written in quotes in DATEV's Musterdatei EXTF_Buchungsstapel.csv (Formatversion
    # 13). The sample quotes Zinssperre (19) and Funktionsergänzung L+L (44) in one row and
    # not in the other; DATEV's expressions for both are unquoted, so they are left out here.
    expected = {2, 3, 6, 9, 11, 12, 14, 16, 20, *range(21, 39), 40, 42, *range(48, 88)}
    expected |= {91, 95, 96, 98, 102, 103, 105, 107, 109, 110, 112, 118, 120, 121, 123}
    assert {i + 1 for i, c in enumerate(BS) if c.quoted} == expected


def test_buchungsstapel_required_columns() -> None:
    required = [c.name for c in BS if c.required]
    assert required == [
        "Umsatz (ohne Soll/Haben-Kz)",
        "Soll/Haben-Kennzeichen",
        "Konto",
        "Gegenkonto (ohne BU-Schlüssel)",
        "Belegdatum",
    ]


def _check(column: Column, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert field_ok(column, value), (column.name, value)
    for value in bad:
        assert not field_ok(column, value), (column.name, value)


def test_umsatz() -> None:
    umsatz = col(BS, "Umsatz (ohne Soll/Haben-Kz)")
    assert umsatz.kind == "amount" and umsatz.decimals == 2 and not umsatz.quoted
    _check(
        umsatz,
        ["0,01", "100,00", "1234567890,12"],
        ["", "0,00", "00,00", "-5,00", "1.234,00", "1234.00", "5", "5,5", "12345678901,00"],
    )


def test_soll_haben() -> None:
    _check(col(BS, "Soll/Haben-Kennzeichen"), ["S", "H"], ["", "s", "X", "SH"])


def test_konto_and_gegenkonto() -> None:
    for name in ("Konto", "Gegenkonto (ohne BU-Schlüssel)"):
        _check(
            col(BS, name),
            ["1200", "8400", "10000", "123456789"],
            ["", "0", "0000", "1234567890", "12a4"],
        )


def test_bu_schluessel() -> None:
    bu = col(BS, "BU-Schlüssel")
    assert bu.quoted
    _check(bu, ["", "9", "40", "0009", "1234"], ["12345", "A1", "4 0"])


def test_belegdatum_is_ttmm() -> None:
    _check(
        col(BS, "Belegdatum"),
        ["0101", "3112", "2902", "3101"],
        ["", "0001", "3201", "0013", "101", "01012024", "1.01"],
    )


def test_belegfeld_1() -> None:
    feld = col(BS, "Belegfeld 1")
    assert feld.quoted and not feld.truncatable and feld.charset is BELEGFELD_CHARSET
    _check(
        feld,
        ["", "RE2024-001", "A$%&*+-/9", "x" * 36],
        ["RE 2024", "Rechnung-ä", "RE_1", "RE.1", "x" * 37, 'RE"1'],
    )


def test_belegfeld_2_and_text_fields() -> None:
    _check(col(BS, "Belegfeld 2"), ["", "310124", "x" * 12], ["x" * 13, "a b"])
    text = col(BS, "Buchungstext")
    assert text.truncatable
    _check(text, ["", "Miete Januar, Filiale Süd", "ä" * 60], ["x" * 61, "a\nb", "a\tb", "中"])
    for name in ("KOST1 - Kostenstelle", "KOST2 - Kostenstelle"):
        _check(col(BS, name), ["", "100", "Filiale 7", "x" * 36], ["x" * 37, "10;0"])


def test_flags_and_dates() -> None:
    _check(col(BS, "Festschreibung"), ["", "0", "1"], ["2", "01", "x"])
    _check(col(BS, "Leistungsdatum"), ["01012024", "31122099"], ["0101", "32012024", "01011999"])
    _check(col(BS, "Steuersatz"), ["19,00", "7,00"], ["19", "19.00"])


def test_buchungsstapel_kinds() -> None:
    for c in BS:
        assert c.pattern is not None, c.name
        if c.kind == "text":
            assert c.quoted and c.max_len is not None, c.name
        if c.kind in ("amount", "account", "date"):
            assert not c.quoted, c.name


# --- Debitoren/Kreditoren ---------------------------------------------------------------

DK_POSITIONS = {
    1: "Konto",
    2: "Name (Adressattyp Unternehmen)",
    3: "Unternehmensgegenstand",
    4: "Name (Adressattyp natürl. Person)",
    5: "Vorname (Adressattyp natürl. Person)",
    6: "Name (Adressattyp keine Angabe)",
    7: "Adressattyp",
    8: "Kurzbezeichnung",
    9: "EU-Land",
    10: "EU-UStID",
    11: "Anrede",
    15: "Adressart",
    16: "Straße",
    17: "Postfach",
    18: "Postleitzahl",
    19: "Ort",
    20: "Land",
    41: "Bankleitzahl 1",
    45: "IBAN-Nr. 1",
    47: "SWIFT-Code 1",
    99: "Kunden-/Lief.-Nr.",
    133: "Lastschrift",
    135: "Mandantenbank",
    137: "Indiv. Feld 1",
    152: "Abweichende Anrede (Rechnungsadresse)",
    165: "Bankleitzahl 6",
    219: "Bankverb 10 Gültig bis",
    220: "Nummer Fremdsystem",
    222: "SEPA-Mandatsreferenz 1",
    231: "SEPA-Mandatsreferenz 10",
    244: "Alternativer Suchname",
    254: "Letzte Frist",
}


@pytest.mark.parametrize(("position", "name"), sorted(DK_POSITIONS.items()))
def test_debitoren_kreditoren_positions(position: int, name: str) -> None:
    assert DK[position - 1].name == name


def test_debitoren_kreditoren_bank_blocks_are_uniform() -> None:
    for i in range(1, 11):
        start = column_index(DK, f"Bankleitzahl {i}")
        block = names(DK[start : start + 11])
        assert block == [
            f"Bankleitzahl {i}",
            f"Bankbezeichnung {i}",
            f"Bank-Kontonummer {i}",
            f"Länderkennzeichen {i}",
            f"IBAN-Nr. {i}",
            "Leerfeld",
            f"SWIFT-Code {i}",
            f"Abw. Kontoinhaber {i}",
            f"Kennz. Hauptbankverb. {i}",
            f"Bankverb {i} Gültig von",
            f"Bankverb {i} Gültig bis",
        ]


def test_debitoren_kreditoren_rules() -> None:
    konto = col(DK, "Konto")
    assert konto.required and "Sachkontenlänge + 1" in konto.note
    _check(konto, ["10000", "70001", "123456789"], ["", "1000", "1234567890", "1O000"])
    _check(col(DK, "Name (Adressattyp Unternehmen)"), ["Möbel Müller GmbH", "x" * 50], ["x" * 51])
    _check(col(DK, "Kurzbezeichnung"), ["x" * 15], ["x" * 16])
    _check(col(DK, "Straße"), ["Hauptstraße 1", "x" * 36], ["x" * 37])
    _check(col(DK, "Ort"), ["Nürnberg", "x" * 30], ["x" * 31])
    _check(col(DK, "EU-UStID"), ["", "133546770", "X" * 13], ["X" * 14, "DE 1"])
    _check(col(DK, "IBAN-Nr. 1"), ["", "DE02120300000000202051"], ["DE0212030000000020205 1"])
    _check(col(DK, "SWIFT-Code 1"), ["", "GENODEF1S12", "BYLADEMM"], ["BYLADEM", "GENODEF1S1"])
    _check(col(DK, "Adressattyp"), ["0", "1", "2"], ["3", "U"])


def test_account_pattern() -> None:
    personal = d.account_pattern(4, personal=True)
    assert personal.fullmatch("10000") and not personal.fullmatch("1000")
    assert not personal.fullmatch("100000") and not personal.fullmatch("01000")
    general = d.account_pattern(4, personal=False)
    assert general.fullmatch("8400") and general.fullmatch("85")
    assert not general.fullmatch("84000") and not general.fullmatch("0")
    with pytest.raises(ValueError):
        d.account_pattern(9, personal=True)


# --- rendering --------------------------------------------------------------------------


def test_render_field() -> None:
    text = col(BS, "Buchungstext")
    assert render_field(text, "") == '""'
    assert render_field(text, 'Kasse "Süd"; Tresor') == '"Kasse ""Süd""; Tresor"'
    umsatz = col(BS, "Umsatz (ohne Soll/Haben-Kz)")
    assert render_field(umsatz, "12,50") == "12,50"
    assert render_field(umsatz, "") == ""
    with pytest.raises(ValueError):
        render_field(umsatz, "1;2")


# --- transliteration and shortening -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RE-2024/001", "RE-2024/001"),
        ("Müller & Söhne", "Mueller-&-Soehne"),
        ("ÄÖÜ äöü ß", "AeOeUe-aeoeue-ss"),
        ("RE 2024.001_a", "RE-2024-001-a"),
        ("Łódź", "Lodz"),
        ("Ősz-č", "Osz-c"),
        ("€ 5", "--5"),
        ("ﬁle", "file"),
    ],
)
def test_transliterate_belegfeld(text: str, expected: str) -> None:
    mended, changed = transliterate(text, BELEGFELD_CHARSET)
    assert mended == expected
    assert changed is (text != expected)
    assert field_ok(col(BS, "Belegfeld 1"), mended)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Straße, Müller & Söhne", "Straße, Müller & Söhne"),  # all in Windows-1252
        ("‚Zitat‘ – „Text“ …", "‚Zitat‘ – „Text“ …"),  # typographic, in Windows-1252
        ("Łódź", "Lódz"),  # ó is in Windows-1252, Ł and ź are not
        ("Dvořák", "Dvorák"),
        ("čšž", "cšž"),  # š and ž are in Windows-1252, č is not
        ("Győr", "Gyor"),
        ("ẞ", "SS"),
        ("2−1 ′x″", "2-1 'x\""),
        ("Zeile 1\r\nZeile 2\tEnde", "Zeile 1  Zeile 2 Ende"),
    ],
)
def test_transliterate_free_text(text: str, expected: str) -> None:
    mended, changed = transliterate(text, None)
    assert mended == expected
    assert changed is (text != expected)
    assert d.encodable(mended)


def test_transliterate_composes_first() -> None:
    # A decomposed ü (u + combining diaeresis) is only composed: no change to report.
    assert transliterate("Mu\u0308ller", None) == ("Müller", False)
    assert transliterate("Mu\u0308ller", BELEGFELD_CHARSET) == ("Mueller", True)
    # A combining mark with no precomposed letter is dropped, the base letter stays.
    assert transliterate("x\u0308", None) == ("x", True)


@pytest.mark.parametrize("allowed", [None, BELEGFELD_CHARSET])
@pytest.mark.parametrize("text", ["中文", "RE-😀", "Ω-1"])
def test_transliterate_never_guesses(text: str, allowed: re.Pattern[str] | None) -> None:
    with pytest.raises(d.UnencodableCharacterError) as raised:
        transliterate(text, allowed)
    assert raised.value.char in text
    assert text[raised.value.position] == raised.value.char


def test_transliterate_refuses_control_characters_in_free_text() -> None:
    with pytest.raises(d.UnencodableCharacterError):
        transliterate("a\x01b", None)


def test_transliteration_table_is_encodable() -> None:
    for source, target in d.TRANSLITERATION.items():
        assert len(source) == 1
        assert target.encode(d.ENCODING)


def test_shorten() -> None:
    text = col(BS, "Buchungstext")
    assert shorten(text, "x" * 60) == ("x" * 60, False)
    assert shorten(text, "y" * 61) == ("y" * 60, True)
    with pytest.raises(ValueError):
        shorten(col(BS, "Belegfeld 1"), "x" * 37)
    with pytest.raises(ValueError):
        shorten(col(BS, "KOST1 - Kostenstelle"), "x" * 37)
    # Transliterate first, then shorten: "ä" -> "ae" can push a text over the limit.
    mended, _ = transliterate("ä" * 60, BELEGFELD_CHARSET)
    assert len(mended) == 120


# --- the writer's bindings: what goes into each Buchungsstapel column --------------------


def test_the_bindings_bind_every_buchungsstapel_column_exactly_once() -> None:
    bindings = d.BUCHUNGSSTAPEL_BINDINGS
    assert len(bindings) == len(BS) == 125
    assert [b.column for b in bindings] == names(BS)  # column order, one each
    assert set(Counter(b.column for b in bindings).values()) == {1}
    # The filled ones are declared once each (in the order the writer fills them); all
    # others stay empty.
    filled = d.BUCHUNGSSTAPEL_FILL_ORDER
    assert len({b.column for b in filled}) == len(filled) == 18
    assert [b for b in bindings if b.value != "empty"] == sorted(
        filled, key=lambda b: column_index(BS, b.column)
    )
    assert all(b.mend == "fits" and not b.fields for b in bindings if b.value == "empty")


def test_the_bindings_name_booking_fields_and_known_rules() -> None:
    from typing import get_args

    from engine.ledger import Booking

    for binding in d.BUCHUNGSSTAPEL_BINDINGS:
        assert set(binding.fields) <= set(Booking._fields), binding.column
        assert binding.value in get_args(d.Value) and binding.mend in get_args(d.Mend)
        assert bool(binding.constant) == (binding.value == "constant"), binding.column
        assert bool(binding.refused) == (binding.mend == "refuse"), binding.column
    # What buchex writes from the booking itself, by column.
    source = {b.column: b.fields[:1] for b in d.BUCHUNGSSTAPEL_BINDINGS if b.fields}
    assert source["Umsatz (ohne Soll/Haben-Kz)"] == ("amount_cents",)
    assert source["Konto"] == ("account",)
    assert source["Gegenkonto (ohne BU-Schlüssel)"] == ("contra_account",)
    assert source["Belegfeld 1"] == ("document_no",)
    assert source["Beleginfo - Inhalt 1"] == ("journal_no",)


def test_a_column_cannot_be_bound_twice_or_unknown() -> None:
    konto = d.Binding("Konto", "as_is", ("account",), "account")
    with pytest.raises(ValueError, match="bound twice"):
        d._bind(BS, (konto, konto))
    with pytest.raises(ValueError, match="no such column"):
        d._bind(BS, (d.Binding("Konto 2", "as_is", ("account",), "account"),))


@pytest.mark.parametrize("column", [*BS, *DK, *HEADER_FIELDS], ids=lambda c: c.name)
def test_acceptor_is_field_ok(column: Column) -> None:
    accept = d.acceptor(column)
    samples = [
        "", "S", "H", "X", "0", "1", "12", "0,00", "119,00", "1000", "10001", "0703", "3112",
        "RE-2025-0001", "RE 2025", "Müller", "Brille 👓", "a\x00b", "a\nb", "€", "x" * 61,
        "x" * 400, "DE123456789", "EUR", "20250101", "Zeile\r", "1" * 14, "S\n",
    ]  # fmt: skip
    for value in samples:
        assert (accept(value) is not None) == field_ok(column, value), repr(value)


@given(
    column=st.sampled_from([*BS, *DK, *HEADER_FIELDS]),
    value=st.one_of(
        st.text(alphabet="aZ09 ,.-/$%&*+_;\"'äßé€\x00\n\t👓中SHDE", max_size=70),
        st.from_regex(r"[0-9]{1,14}(,[0-9]{2})?", fullmatch=True),
        st.text(max_size=20),
    ),
)
def test_acceptor_is_field_ok_for_any_text(column: Column, value: str) -> None:
    assert (d.acceptor(column)(value) is not None) == field_ok(column, value)
