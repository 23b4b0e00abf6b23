"""DATEV-Format (EXTF, header version 700): the column specification as data.

One table per record type, used by both the writer and the validator (the way kivitendo's
``SL/DATEV/CSV.pm`` keeps one list of column descriptors). Everything here is pure data plus
a few tiny helpers; no I/O.

Sources (details and every disagreement: ``docs/datev.md``):

* DATEV developer portal, "DATEV-Format" pages (Einstieg, Header, Buchungsstapel): the
  example header lines, the column-heading line of the Musterdatei ``EXTF_Buchungsstapel.csv``
  and the "Ausdruck" (regular expression) per field.
* DATEV's own sample files ``EXTF_Buchungsstapel.csv`` / ``EXTF_DebKred_Stamm.csv`` as
  reproduced in DSchuppelius/php-common-toolkit (tests/Parsers/DatevDocumentParserTest.php);
  the same heading lines in jcgruenhage/datev-rs (Buchungsstapel) and buzzn/core
  ``lib/buzzn/transactions/admin/exchange/group_member_dtvf_export.rb`` (Debitoren/
  Kreditoren). Headings and their order are taken from these sample files.
* DSchuppelius/php-common-toolkit ``src/Enums/DATEV/HeaderFields/V700/*.php``: lengths and
  expressions per field (it cites the DATEV format description).
* kivitendo/kivitendo-erp ``SL/DATEV/CSV.pm``: max lengths of the fields it writes.
* frappe/erpnext ``erpnext/regional/germany/utils/datev/datev_constants.py``: older
  heading variants (Buchungsstapel Formatversion 9, Debitoren/Kreditoren 5).

Conventions of the tables:

* ``pattern`` describes the *raw* value, before quoting; check it with ``fullmatch``
  (``field_ok`` does). An empty value is always allowed unless ``required``.
* ``quoted``: the value is written in double quotes (inner quotes doubled), also when empty
  (``""``). Unquoted fields are written bare, and empty as nothing.
* ``charset``: a pattern matching ONE character that the field accepts; ``None`` means every
  character Windows-1252 can hold, except control characters.
* ``truncatable``: an over-long value may be shortened (with a warning). Identifiers
  (account numbers, Belegfeld 1, cost centres, VAT IDs, ...) are never shortened: the run
  fails instead, because a cut identifier silently points at something else.

What buchex writes into the Buchungsstapel is data too: ``BUCHUNGSSTAPEL_BINDINGS`` binds
each of the 125 columns to its value (a booking field, a computed value, a constant or
nothing) and to the rule for a value the column does not accept. The writer
(``engine.formats.datev``) builds its rows from that table only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

# ---------------------------------------------------------------------------------------
# File-level facts
# ---------------------------------------------------------------------------------------

VERSION: Final = 700
FORMAT_CATEGORY: Final[dict[str, int]] = {"Buchungsstapel": 21, "Debitoren/Kreditoren": 16}
FORMAT_VERSION: Final[dict[str, int]] = {"Buchungsstapel": 13, "Debitoren/Kreditoren": 5}
MAX_ROWS_PER_FILE: Final = 99_999
ENCODING: Final = "cp1252"
SEPARATOR: Final = ";"
LINE_END: Final = "\r\n"
QUOTE: Final = '"'

Kind = Literal[
    "text",  # free or restricted text
    "code",  # short fixed code: S/H, currency, country, BU-Schlüssel, ...
    "amount",  # money, decimal comma, no thousands separator
    "number",  # integer or decimal that is not money (rates, days, quantities)
    "date",  # TTMM, TTMMJJJJ or JJJJMMTT; the note says which
    "account",  # account number (Sachkonto or Personenkonto)
    "flag",  # 0/1
    "reserved",  # Leerfeld / reserviert: leave empty
]


@dataclass(frozen=True, slots=True)
class Column:
    """One field of a DATEV-Format record (header line or data row)."""

    name: str
    kind: Kind
    max_len: int | None
    pattern: re.Pattern[str] | None
    required: bool = False
    quoted: bool = False
    decimals: int | None = None
    charset: re.Pattern[str] | None = None
    truncatable: bool = False
    note: str = ""


# ---------------------------------------------------------------------------------------
# Building blocks (private): keep the tables below one line per column
# ---------------------------------------------------------------------------------------

_NO_CONTROL = r"[^\x00-\x1f\x7f]"
# Belegfeld 1/2: letters, digits and $ % & * + - / (DATEV: no spaces, no umlauts).
BELEGFELD_CHARSET: Final = re.compile(r"[A-Za-z0-9$%&*+\-/]")
_BELEGFELD = "[A-Za-z0-9$%&*+\\-/]"
_TTMM = r"(0[1-9]|[12]\d|3[01])(0[1-9]|1[0-2])"
_TTMMJJJJ = _TTMM + r"20\d{2}"
_JJJJMMTT = r"20\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"
_EMPTY = re.compile(r"^$")
_BERATER = r"(100[1-9]|10[1-9]\d|1[1-9]\d{2}|[2-9]\d{3}|[1-9]\d{4,6})"  # 1001-9999999


def _re(expr: str) -> re.Pattern[str]:
    return re.compile(f"^{expr}$")


def _text(
    name: str,
    n: int,
    *,
    required: bool = False,
    truncatable: bool = True,
    expr: str | None = None,
    charset: re.Pattern[str] | None = None,
    note: str = "",
) -> Column:
    """A quoted text field of at most ``n`` characters."""
    pattern = _re(expr) if expr is not None else _re(f"{_NO_CONTROL}{{0,{n}}}")
    return Column(name, "text", n, pattern, required, True, None, charset, truncatable, note)


def _code(name: str, expr: str, n: int, *, quoted: bool = True, note: str = "") -> Column:
    """A short code with a fixed vocabulary; never shortened."""
    return Column(name, "code", n, _re(expr), False, quoted, None, None, False, note)


def _num(
    name: str,
    expr: str,
    n: int,
    *,
    decimals: int | None = None,
    quoted: bool = False,
    note: str = "",
) -> Column:
    return Column(name, "number", n, _re(expr), False, quoted, decimals, None, False, note)


def _amount(
    name: str,
    expr: str,
    n: int,
    *,
    required: bool = False,
    decimals: int | None = 2,
    note: str = "",
) -> Column:
    return Column(name, "amount", n, _re(expr), required, False, decimals, None, False, note)


def _date8(name: str, note: str = "") -> Column:
    """TTMMJJJJ, unquoted."""
    return Column(name, "date", 8, _re(_TTMMJJJJ), note=note or "TTMMJJJJ")


def _flag(name: str, *, quoted: bool = False, note: str = "") -> Column:
    return Column(name, "flag", 1, _re("[01]"), False, quoted, note=note)


def _account(name: str, expr: str, n: int, *, required: bool = False, note: str = "") -> Column:
    return Column(name, "account", n, _re(expr), required, False, note=note)


def _reserved(name: str, *, quoted: bool, expr: str | None = None, note: str = "") -> Column:
    pattern = _re(expr) if expr is not None else _EMPTY
    return Column(name, "reserved", None, pattern, False, quoted, note=note)


# ---------------------------------------------------------------------------------------
# Header line (line 1), 31 fields. Quoting as in DATEV's example header lines (SPEC §4):
# "EXTF";700;21;"Buchungsstapel";13;20240130140440439;;"RE";"";"";29098;55003;20240101;4;
# 20240101;20240831;"Buchungsstapel";"WD";1;0;0;"EUR";;"";;;"03";;;"";""
# ---------------------------------------------------------------------------------------

HEADER_FIELDS: Final[tuple[Column, ...]] = (
    _code("Kennzeichen", "(EXTF|DTVF)", 4, note="EXTF = Fremdprogramm, DTVF = DATEV"),
    _num("Versionsnummer", "700", 3),
    _num("Formatkategorie", "(16|20|21|46|48|65)", 2, note="21 Buchungsstapel, 16 Deb/Kred"),
    _code(
        "Formatname",
        "(Buchungsstapel|Wiederkehrende Buchungen|Debitoren/Kreditoren|"
        "Kontenbeschriftungen|Zahlungsbedingungen|Diverse Adressen)",
        24,
    ),
    # DATEV's expression is ^(2|4|5|13)$ although its table also lists 3 for
    # Kontenbeschriftungen; 3 is accepted here.
    _num("Formatversion", "(2|3|4|5|13)", 2, note="13 Buchungsstapel, 5 Deb/Kred"),
    Column(
        "Erzeugt am",
        "date",
        17,
        _re(_JJJJMMTT + r"([01]\d|2[0-3])[0-5]\d[0-5]\d\d{3}"),
        note="JJJJMMTTHHMMSSFFF",
    ),
    _reserved("Importiert", quoted=False, note="filled by DATEV on import"),
    _code("Herkunft", r"[A-Za-z0-9]{0,2}", 2, note="2-character origin code"),
    _text("Exportiert von", 25, expr=r"\w{0,25}", truncatable=False),
    _text("Importiert von", 25, expr=r"\w{0,25}", truncatable=False, note="leave empty"),
    Column("Beraternummer", "number", 7, _re(_BERATER), True, note="1001-9999999"),
    Column("Mandantennummer", "number", 5, _re(r"[1-9]\d{0,4}"), True, note="1-99999"),
    Column("WJ-Beginn", "date", 8, _re(_JJJJMMTT), True, note="JJJJMMTT"),
    Column("Sachkontenlänge", "number", 1, _re("[4-8]"), True),
    Column(
        "Datum vom",
        "date",
        8,
        _re(_JJJJMMTT),
        note="JJJJMMTT; required for Buchungsstapel, empty for Debitoren/Kreditoren",
    ),
    Column(
        "Datum bis",
        "date",
        8,
        _re(_JJJJMMTT),
        note="JJJJMMTT; same fiscal and calendar year as Datum vom; empty for Deb/Kred",
    ),
    _text("Bezeichnung", 30, expr=r"[\w.\-/ ]{0,30}", note="name of the batch"),
    _code("Diktatkürzel", "([A-Z]{2}){0,2}", 4, note="initials, upper case"),
    _num("Buchungstyp", "[12]", 1, note="1 Finanzbuchführung, 2 Jahresabschluss"),
    _num("Rechnungslegungszweck", "(0|30|40|50|64)", 2, note="0 = unabhängig"),
    _flag("Festschreibung", note="0 lets the advisor still correct the batch"),
    _code("WKZ", "[A-Z]{3}", 3, note="ISO 4217, e.g. EUR"),
    _reserved("reserviert", quoted=False),
    _reserved("Derivatskennzeichen", quoted=True),
    _reserved("reserviert", quoted=False),
    _reserved("reserviert", quoted=False),
    _code("Sachkontenrahmen", r"\d{2}", 2, note='"03" SKR03, "04" SKR04'),
    _num("ID der Branchenlösung", r"\d{1,4}", 4),
    _reserved("reserviert", quoted=False),
    _reserved("reserviert", quoted=True),
    _text("Anwendungsinformation", 16, truncatable=False),
)

#: Header fields that are filled for Buchungsstapel but stay empty for Debitoren/Kreditoren.
HEADER_BUCHUNGSSTAPEL_ONLY: Final = ("Datum vom", "Datum bis")


# ---------------------------------------------------------------------------------------
# Buchungsstapel, Formatkategorie 21, Formatversion 13: 125 columns
# ---------------------------------------------------------------------------------------


def _pairs(art: str, inhalt: str, count: int) -> tuple[Column, ...]:
    """Beleginfo / Zusatzinformation: pairs of Art (<= 20) and Inhalt (<= 210)."""
    out: list[Column] = []
    for i in range(1, count + 1):
        out.append(_text(f"{art} {i}", 20))
        out.append(_text(f"{inhalt} {i}", 210))
    return tuple(out)


_RATE = r"\d{1,2},\d{2}"  # tax rate like 19,00 (DATEV writes \d{2}; 7,00 must pass too)

BUCHUNGSSTAPEL_COLUMNS: Final[tuple[Column, ...]] = (
    # 1-6 Umsatz
    _amount(
        "Umsatz (ohne Soll/Haben-Kz)",
        r"(?!0+,00$)\d{1,10},\d{2}",
        13,
        required=True,
        note="positive, decimal comma, no thousands separator",
    ),
    Column(
        "Soll/Haben-Kennzeichen",
        "code",
        1,
        _re("[SH]"),
        True,
        True,
        note="S/H relative to Konto",
    ),
    _code("WKZ Umsatz", "[A-Z]{3}", 3, note="ISO 4217; header WKZ is the default"),
    _num("Kurs", r"[1-9]\d{0,3},\d{2,6}", 11, decimals=6, note="foreign currency rate, not 0"),
    _amount("Basis-Umsatz", r"\d{1,10},\d{2}", 13),
    _code("WKZ Basis-Umsatz", "[A-Z]{3}", 3),
    # 7-10 Konto, Gegenkonto, BU-Schlüssel, Belegdatum
    _account(
        "Konto",
        r"(?!0+$)\d{1,9}",
        9,
        required=True,
        note="Sachkonto <= Sachkontenlänge digits, Personenkonto exactly one more",
    ),
    _account("Gegenkonto (ohne BU-Schlüssel)", r"(?!0+$)\d{1,9}", 9, required=True),
    # DATEV's expression is ^(["]\d{4}["])$; SPEC: up to 4 digits. Empty for revenue
    # accounts with automatic tax (Automatikkonten).
    _code("BU-Schlüssel", r"\d{1,4}", 4, note="up to 4 digits; empty on Automatikkonten"),
    Column(
        "Belegdatum",
        "date",
        4,
        _re(_TTMM),
        True,
        note="TTMM; the year comes from header field WJ-Beginn / Datum vom",
    ),
    # 11-14 Belege, Skonto, Buchungstext. DATEV's expression for Belegfeld 1 is
    # [\w$%\-\/]{0,36}; its prose (and SPEC §4) allows letters, digits and $ % & * + - /.
    _text(
        "Belegfeld 1",
        36,
        expr=f"{_BELEGFELD}{{0,36}}",
        charset=BELEGFELD_CHARSET,
        truncatable=False,
        note="invoice/document number; OPOS key",
    ),
    _text(
        "Belegfeld 2",
        12,
        expr=f"{_BELEGFELD}{{0,12}}",
        charset=BELEGFELD_CHARSET,
        truncatable=False,
    ),
    # DATEV writes ^([1-9]\d{0,7}[,]\d{2})$, which would forbid 0,50; "not 0" is meant.
    _amount("Skonto", r"(?!0+,00$)\d{1,8},\d{2}", 11, note="cash discount, not 0"),
    _text("Buchungstext", 60),
    # 15-20
    _flag("Postensperre"),
    _text("Diverse Adressnummer", 9, expr=r"\w{0,9}", truncatable=False),
    # DATEV writes ^(\d{3})$ but its Musterdatei carries 1.
    _num("Geschäftspartnerbank", r"\d{1,3}", 3),
    _num("Sachverhalt", r"\d{2}", 2, note="31 Mahnzins, 40 Mahngebühr"),
    # The Musterdatei writes Zinssperre once as "" and once bare; DATEV's expression is
    # unquoted ^(0|1)$, which is followed here.
    _flag("Zinssperre"),
    _text("Beleglink", 210, truncatable=False, note='e.g. BEDI "<GUID>"'),
    # 21-36
    *_pairs("Beleginfo - Art", "Beleginfo - Inhalt", 8),
    # 37-47
    _text(
        "KOST1 - Kostenstelle",
        36,
        expr=r"[\w ]{0,36}",
        truncatable=False,
        note="cost centre; letters, digits, _ and space",
    ),
    _text("KOST2 - Kostenstelle", 36, expr=r"[\w ]{0,36}", truncatable=False),
    # DATEV writes ^\d{12}[,]\d{4}$ (literally exactly 12 digits); up to 12 is meant.
    _num("Kost-Menge", r"\d{1,12}(,\d{1,4})?", 17, decimals=4),
    _text("EU-Land u. UStID (Bestimmung)", 15, truncatable=False),
    _num("EU-Steuersatz (Bestimmung)", _RATE, 5, decimals=2),
    _code("Abw. Versteuerungsart", "[IKPS]", 1, note="I Ist, K keine, P Pauschal, S Soll"),
    _num("Sachverhalt L+L", r"\d{1,3}", 3),
    # Quoted once and bare once in the Musterdatei; DATEV's expression is unquoted.
    _num("Funktionsergänzung L+L", r"\d{1,3}", 3),
    _num("BU 49 Hauptfunktionstyp", r"\d", 1),
    _num("BU 49 Hauptfunktionsnummer", r"\d{1,2}", 2),
    _num("BU 49 Funktionsergänzung", r"\d{1,3}", 3),
    # 48-87. The Musterdatei (and its copies) spell "Zusatzinformation- Inhalt N" without a
    # blank before the hyphen; ERPNext writes "Zusatzinformation - Inhalt N". DATEV's spelling
    # is kept.
    *_pairs("Zusatzinformation - Art", "Zusatzinformation- Inhalt", 20),
    # 88-102
    _num("Stück", r"\d{1,8}", 8),
    _num("Gewicht", r"\d{1,8},\d{2}", 11, decimals=2),
    _num("Zahlweise", r"\d{1,2}", 2, note="1 Lastschrift, 2 Mahnung, 3 Zahlung"),
    _text("Forderungsart", 10, expr=r"\w{0,10}", truncatable=False),
    _num("Veranlagungsjahr", r"20\d{2}", 4, note="JJJJ"),
    _date8("Zugeordnete Fälligkeit"),
    _num("Skontotyp", r"\d", 1),
    _text("Auftragsnummer", 30, truncatable=False),
    _code("Buchungstyp", "[A-Z]{2}", 2, note="AA, AG, AV, SR, SU, SG, SO (Anzahlungen)"),
    # ERPNext (version 9) and older files: "EU-Mitgliedstaat (Anzahlungen)".
    _num("USt-Schlüssel (Anzahlungen)", r"\d{1,4}", 4),
    _code("EU-Land (Anzahlungen)", "[A-Z]{2}", 2),
    _num("Sachverhalt L+L (Anzahlungen)", r"\d{1,3}", 3),
    _num("EU-Steuersatz (Anzahlungen)", _RATE, 5, decimals=2),
    _account("Erlöskonto (Anzahlungen)", r"\d{4,8}", 8),
    _code("Herkunft-Kz", "[A-Z]{2}", 2, note="replaced by SV on import"),
    # 103: "Leerfeld" up to Formatversion 12 (ERPNext, kivitendo), "Buchungs GUID" in the
    # Formatversion 13 Musterdatei.
    _text("Buchungs GUID", 36, truncatable=False),
    _date8("KOST-Datum"),
    _text("SEPA-Mandatsreferenz", 35, truncatable=False),
    _flag("Skontosperre"),
    _text("Gesellschaftername", 76),
    _num("Beteiligtennummer", r"\d{4}", 4),
    _text("Identifikationsnummer", 11, truncatable=False),
    _text("Zeichnernummer", 20, truncatable=False),
    _date8("Postensperre bis"),
    _text("Bezeichnung SoBil-Sachverhalt", 30),
    _num("Kennzeichen SoBil-Buchung", r"\d{1,2}", 2),
    # 114-125
    _flag("Festschreibung", note="0 = not locked, 1 = locked"),
    _date8("Leistungsdatum"),
    _date8("Datum Zuord. Steuerperiode"),
    _date8("Fälligkeit"),
    # DATEV's expression is quoted ^(["](0|1)["])$ although the field is a flag.
    _flag("Generalumkehr (GU)", quoted=True, note="1 = Generalumkehr"),
    _num("Steuersatz", _RATE, 5, decimals=2),
    _code("Land", "[A-Z]{2}", 2),
    _text("Abrechnungsreferenz", 50, truncatable=False),
    _num("BVV-Position", "[1-5]", 1),
    _text("EU-Land u. UStID (Ursprung)", 15, truncatable=False),
    _num("EU-Steuersatz (Ursprung)", _RATE, 5, decimals=2),
    _account("Abw. Skontokonto", r"\d{1,9}", 9),
)


# ---------------------------------------------------------------------------------------
# Debitoren/Kreditoren, Formatkategorie 16, Formatversion 5: 254 columns
# ---------------------------------------------------------------------------------------

#: DATEV's Musterdatei repeats this heading 12 times (one per bank block, position 96 and
#: position 134, the former "Verfahren").
LEERFELD: Final = "Leerfeld"


def _bank(i: int) -> tuple[Column, ...]:
    """One bank connection block of eleven columns (the sixth is an unnamed Leerfeld)."""
    return (
        _text(f"Bankleitzahl {i}", 8, expr=r"\d{0,8}", truncatable=False),
        _text(f"Bankbezeichnung {i}", 30),
        _text(f"Bank-Kontonummer {i}", 10, truncatable=False),
        _code(f"Länderkennzeichen {i}", "[A-Z]{2}", 2),
        _text(f"IBAN-Nr. {i}", 34, expr=r"([A-Z]{2}\d{2}[A-Z0-9]{1,30})?", truncatable=False),
        _reserved(LEERFELD, quoted=True),
        # php-common-toolkit writes [A-Z]{4}[A-Z0-9]{2}([A-Z0-9]{3})? (6 or 9 characters);
        # a BIC has 8 or 11.
        _text(
            f"SWIFT-Code {i}",
            11,
            expr=r"([A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?)?",
            truncatable=False,
        ),
        _text(f"Abw. Kontoinhaber {i}", 70),
        _flag(f"Kennz. Hauptbankverb. {i}", quoted=True),
        _date8(f"Bankverb {i} Gültig von"),
        _date8(f"Bankverb {i} Gültig bis"),
    )


_DAYS = r"\d{1,3}"
_PERCENT = r"\d{1,2},\d{2}"
_FEE = r"\d{1,8}(,\d{1,2})?"  # the Musterdatei writes fees like 5,1


def _billing_address() -> tuple[Column, ...]:
    suffix = " (Rechnungsadresse)"
    return (
        _text("Abweichende Anrede" + suffix, 30),
        _code("Adressart" + suffix, "[A-Z]{0,3}", 3),
        _text("Straße" + suffix, 36),
        _text("Postfach" + suffix, 10, truncatable=False),
        _text("Postleitzahl" + suffix, 10, truncatable=False),
        _text("Ort" + suffix, 30),
        _code("Land" + suffix, "[A-Z]{2}", 2),
        _text("Versandzusatz" + suffix, 50),
        _text("Adresszusatz" + suffix, 36),
        _text("Abw. Zustellbezeichnung 1" + suffix, 50),
        _text("Abw. Zustellbezeichnung 2" + suffix, 36),
        _date8("Adresse Gültig von" + suffix),
        _date8("Adresse Gültig bis" + suffix),
    )


def _kreditoren_ziele() -> tuple[Column, ...]:
    """Columns 112-120: payment terms of a creditor (Ziel 3 has no Skonto)."""
    return (
        _num("Kreditoren-Ziel 1 Tg.", _DAYS, 3),
        _num("Kreditoren-Skonto 1 %", _PERCENT, 5, decimals=2),
        _num("Kreditoren-Ziel 2 Tg.", _DAYS, 3),
        _num("Kreditoren-Skonto 2 %", _PERCENT, 5, decimals=2),
        _num("Kreditoren-Ziel 3 Brutto Tg.", _DAYS, 3),
        _num("Kreditoren-Ziel 4 Tg.", _DAYS, 3),
        _num("Kreditoren-Skonto 4 %", _PERCENT, 5, decimals=2),
        _num("Kreditoren-Ziel 5 Tg.", _DAYS, 3),
        _num("Kreditoren-Skonto 5 %", _PERCENT, 5, decimals=2),
    )


DEBITOREN_KREDITOREN_COLUMNS: Final[tuple[Column, ...]] = (
    # 1-10. Headings as in DATEV's Musterdatei ("Adressattyp"); ERPNext writes
    # "Adressatentyp" and "EU-USt-IdNr.".
    _account(
        "Konto",
        r"\d{5,9}",
        9,
        required=True,
        note="Personenkonto: exactly Sachkontenlänge + 1 digits (see account_pattern)",
    ),
    _text("Name (Adressattyp Unternehmen)", 50),
    _text("Unternehmensgegenstand", 50),
    _text("Name (Adressattyp natürl. Person)", 30),
    _text("Vorname (Adressattyp natürl. Person)", 30),
    _text("Name (Adressattyp keine Angabe)", 50),
    _code("Adressattyp", "[0-2]", 1, note="0 keine Angabe, 1 natürl. Person, 2 Unternehmen"),
    _text("Kurzbezeichnung", 15),
    _code("EU-Land", "[A-Z]{2}", 2),
    _text(
        "EU-UStID",
        13,
        expr=r"[A-Za-z0-9+*]{0,13}",
        truncatable=False,
        note="without the country prefix (that is EU-Land)",
    ),
    # 11-28 Anschrift
    _text("Anrede", 30),
    _text("Titel/Akad. Grad", 25),
    _text("Adelstitel", 15),
    _text("Namensvorsatz", 14),
    _code("Adressart", "[A-Z]{0,3}", 3, note="STR Straße, PF Postfach, GK Großkunde"),
    _text("Straße", 36),
    _text("Postfach", 10, truncatable=False),
    # php-common-toolkit allows digits only; foreign postcodes have letters.
    _text("Postleitzahl", 10, truncatable=False),
    _text("Ort", 30),
    _code("Land", "[A-Z]{2}", 2),
    _text("Versandzusatz", 50),
    _text("Adresszusatz", 36),
    _text("Abweichende Anrede", 30),
    _text("Abw. Zustellbezeichnung 1", 50),
    _text("Abw. Zustellbezeichnung 2", 36),
    _num("Kennz. Korrespondenzadresse", r"\d", 1),
    _date8("Adresse Gültig von"),
    _date8("Adresse Gültig bis"),
    # 29-40 Kommunikation
    _text("Telefon", 60, truncatable=False),
    _text("Bemerkung (Telefon)", 40),
    _text("Telefon GL", 60, truncatable=False),
    _text("Bemerkung (Telefon GL)", 40),
    _text("E-Mail", 60, truncatable=False),
    _text("Bemerkung (E-Mail)", 40),
    _text("Internet", 60, truncatable=False),
    _text("Bemerkung (Internet)", 40),
    _text("Fax", 60, truncatable=False),
    _text("Bemerkung (Fax)", 40),
    _text("Sonstige", 60),
    _text("Bemerkung (Sonstige)", 40),
    # 41-95 Bankverbindungen 1-5
    *(column for i in range(1, 6) for column in _bank(i)),
    # 96-111
    _reserved(LEERFELD, quoted=True),
    _text("Briefanrede", 100),
    _text("Grußformel", 50),
    _text("Kunden-/Lief.-Nr.", 15, truncatable=False),
    _text("Steuernummer", 20, truncatable=False),
    # Quoted in the Musterdatei ("1"); php-common-toolkit has it unquoted. Musterdatei kept.
    _num("Sprache", r"\d{1,2}", 2, quoted=True, note="1 Deutsch, 4 Französisch, 5 Englisch"),
    _text("Ansprechpartner", 40),
    _text("Vertreter", 40),
    _text("Sachbearbeiter", 40),
    _num("Diverse-Konto", r"\d", 1),
    _num("Ausgabeziel", r"\d", 1),
    # Quoted in the Musterdatei (""); php-common-toolkit has it unquoted. Musterdatei kept.
    _num("Währungssteuerung", r"\d", 1, quoted=True),
    # One of the few DATEV fields that may carry thousands separators (dots).
    _amount("Kreditlimit (Debitor)", r"[\d.]{1,13}", 13, decimals=None),
    _num("Zahlungsbedingung", _DAYS, 3),
    _num("Fälligkeit in Tagen (Debitor)", _DAYS, 3),
    _num("Skonto in Prozent (Debitor)", _PERCENT, 5, decimals=2),
    # 112-120
    *_kreditoren_ziele(),
    # 121-136 Mahnwesen. Mahntext 1-3 and Kontoauszugstext are text-group numbers (bare in
    # the Musterdatei); php-common-toolkit treats them as quoted 40-character text.
    _num("Mahnung", r"\d", 1),
    _num("Kontoauszug", r"\d", 1),
    _num("Mahntext 1", r"\d", 1),
    _num("Mahntext 2", r"\d", 1),
    _num("Mahntext 3", r"\d", 1),
    _num("Kontoauszugstext", r"\d", 1),
    _amount("Mahnlimit Betrag", r"\d{1,13},\d{2}", 16),
    _num("Mahnlimit %", _PERCENT, 5, decimals=2),
    _num("Zinsberechnung", r"\d", 1),
    _num("Mahnzinssatz 1", _PERCENT, 5, decimals=2),
    _num("Mahnzinssatz 2", _PERCENT, 5, decimals=2),
    _num("Mahnzinssatz 3", _PERCENT, 5, decimals=2),
    _num("Lastschrift", r"\d", 1, quoted=True),
    # Position 134 was "Verfahren" (ERPNext's list); the Musterdatei calls it "Leerfeld" but
    # still writes "1" into it.
    _reserved(LEERFELD, quoted=True, expr=r"\d?", note="formerly Verfahren; leave empty"),
    _num("Mandantenbank", r"\d{1,4}", 4),
    _num("Zahlungsträger", r"\d{1,2}", 2, quoted=True),
    # 137-151
    *(_text(f"Indiv. Feld {i}", 40) for i in range(1, 16)),
    # 152-164
    *_billing_address(),
    # 165-219 Bankverbindungen 6-10
    *(column for i in range(6, 11) for column in _bank(i)),
    # 220-231
    _text("Nummer Fremdsystem", 15, truncatable=False),
    _flag("Insolvent"),
    *(_text(f"SEPA-Mandatsreferenz {i}", 35, truncatable=False) for i in range(1, 11)),
    # 232-254
    _account("Verknüpftes OPOS-Konto", r"\d{1,9}", 9),
    _date8("Mahnsperre bis"),
    _date8("Lastschriftsperre bis"),
    _date8("Zahlungssperre bis"),
    _num("Gebührenberechnung", r"\d", 1),
    _amount("Mahngebühr 1", _FEE, 11),
    _amount("Mahngebühr 2", _FEE, 11),
    _amount("Mahngebühr 3", _FEE, 11),
    _num("Pauschalenberechnung", r"\d", 1),
    _amount("Verzugspauschale 1", _FEE, 11),
    _amount("Verzugspauschale 2", _FEE, 11),
    _amount("Verzugspauschale 3", _FEE, 11),
    _text("Alternativer Suchname", 50),
    _num("Status", r"\d", 1),
    _flag("Anschrift manuell geändert (Korrespondenzadresse)"),
    _text("Anschrift individuell (Korrespondenzadresse)", 306),
    _flag("Anschrift manuell geändert (Rechnungsadresse)"),
    _text("Anschrift individuell (Rechnungsadresse)", 306),
    _num("Fristberechnung bei Debitor", r"\d", 1),
    _num("Mahnfrist 1", _DAYS, 3),
    _num("Mahnfrist 2", _DAYS, 3),
    _num("Mahnfrist 3", _DAYS, 3),
    _num("Letzte Frist", _DAYS, 3),
)

#: Columns per Formatname.
COLUMNS: Final[dict[str, tuple[Column, ...]]] = {
    "Buchungsstapel": BUCHUNGSSTAPEL_COLUMNS,
    "Debitoren/Kreditoren": DEBITOREN_KREDITOREN_COLUMNS,
}


# ---------------------------------------------------------------------------------------
# Buchungsstapel: what buchex writes into each column
# ---------------------------------------------------------------------------------------

#: How a column's value is made (``Binding.value``).
Value = Literal[
    "empty",  # nothing: "" (quoted) or bare empty
    "constant",  # ``Binding.constant``; with ``fields``: only in rows where the field is set
    "lock",  # the client's Festschreibung: "1" if it locks its batches (as the header says)
    "as_is",  # the booking field unchanged
    "cents",  # an amount in cents as 119,00 (refused unless positive and within max_len)
    "ttmm",  # a date as TTMM (the year is the header's)
    "digits",  # an integer as its digits
    "name",  # the catalog's name of the code (document type, branch, payment method)
    "cost_centre",  # the booking's cost centre, else its branch's
]

#: What happens to a value the column does not accept (``Binding.mend``).
Mend = Literal[
    "fits",  # nothing to check: the value is made to fit
    "refuse",  # the run fails naming the booking (message ``Binding.refused``)
    "account",  # Konto rules of the client's Sachkontenlänge (Personenkonto: one digit
    # more, no leading zero); refused otherwise
    "automatic",  # BU-Schlüssel against the Automatikkonten of Konto and Gegenkonto: left
    # out with a warning where the account implies it, refused where it contradicts it
    "mend",  # transliterated and, if ``truncatable``, shortened, each with a warning;
    # refused when no rule can mend it (``engine.formats.datev.mend``)
]


@dataclass(frozen=True, slots=True)
class Binding:
    """One Buchungsstapel column: where its value comes from and how a misfit is handled."""

    column: str  # the heading, as in BUCHUNGSSTAPEL_COLUMNS
    value: Value
    #: the booking fields it is made from (``engine.ledger.Booking``); the first one decides
    #: whether the row has a value at all (a field that may be NULL: only when it is set)
    fields: tuple[str, ...] = ()
    mend: Mend = "fits"
    constant: str = ""  # for value "constant"
    label: str = ""  # the field named in messages ("" = the heading)
    refused: str = ""  # for mend "refuse": German message, ``{value}`` the offending value


# The columns buchex fills, in the order the writer fills them and reports their problems
# (column, value, booking fields, mend). Every other column stays empty.
_FILLED: Final[tuple[Binding, ...]] = (
    Binding(
        "Umsatz (ohne Soll/Haben-Kz)",
        "cents",
        ("amount_cents",),
        "refuse",
        label="Umsatz",
        refused="Umsatz {value} Cent: muss positiv sein mit höchstens 10 Vorkommastellen",
    ),
    Binding(
        "Soll/Haben-Kennzeichen",
        "as_is",
        ("debit_credit",),
        "refuse",
        refused="„{value}“ statt S oder H",
    ),
    Binding("Konto", "as_is", ("account",), "account"),
    Binding("Gegenkonto (ohne BU-Schlüssel)", "as_is", ("contra_account",), "account"),
    Binding("BU-Schlüssel", "as_is", ("tax_key", "account", "contra_account"), "automatic"),
    Binding("Belegdatum", "ttmm", ("document_date",)),
    Binding("Belegfeld 1", "as_is", ("document_no",), "mend"),
    Binding("Buchungstext", "as_is", ("text",), "mend"),
    Binding("KOST1 - Kostenstelle", "cost_centre", ("cost_center", "branch_id"), "mend"),
    # Beleginfo: what leads from a line in DATEV back to the booking in the ledger.
    Binding("Beleginfo - Art 1", "constant", constant="Journalnummer"),
    Binding("Beleginfo - Inhalt 1", "digits", ("journal_no",)),
    Binding("Beleginfo - Art 2", "constant", constant="Belegart"),
    Binding("Beleginfo - Inhalt 2", "name", ("document_type",), "mend"),
    Binding("Beleginfo - Art 3", "constant", constant="Filiale"),
    Binding("Beleginfo - Inhalt 3", "name", ("branch_id",), "mend"),
    Binding("Beleginfo - Art 4", "constant", ("payment_method",), constant="Zahlungsart"),
    Binding("Beleginfo - Inhalt 4", "name", ("payment_method",), "mend"),
    # In every row, as in the header: DATEV reads an empty field as "nicht definiert; wird
    # automatisch festgeschrieben" (docs/datev.md).
    Binding("Festschreibung", "lock"),
)


def _bind(columns: Sequence[Column], filled: Sequence[Binding]) -> tuple[Binding, ...]:
    """One binding per column, in column order: the filled ones, "empty" for the rest."""
    by_name: dict[str, Binding] = {}
    for binding in filled:
        if binding.column in by_name:
            raise ValueError(f"column {binding.column!r} is bound twice")
        by_name[binding.column] = binding
    unknown = set(by_name) - {c.name for c in columns}
    if unknown:
        raise ValueError(f"no such column: {sorted(unknown)}")
    return tuple(by_name.get(c.name) or Binding(c.name, "empty") for c in columns)


#: Every Buchungsstapel column with its binding, in column order (125).
BUCHUNGSSTAPEL_BINDINGS: Final = _bind(BUCHUNGSSTAPEL_COLUMNS, _FILLED)
#: The bound columns that get a value, in the order the writer fills them.
BUCHUNGSSTAPEL_FILL_ORDER: Final = _FILLED


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def column_index(columns: Sequence[Column], name: str) -> int:
    """0-based position of the column called ``name``.

    Raises KeyError if there is none, ValueError if the heading is one DATEV repeats
    ("Leerfeld", "reserviert"): those must be addressed by position.
    """
    hits = [i for i, column in enumerate(columns) if column.name == name]
    if not hits:
        raise KeyError(name)
    if len(hits) > 1:
        raise ValueError(f"{name!r} occurs {len(hits)} times; address it by position")
    return hits[0]


def account_pattern(sachkontenlaenge: int, *, personal: bool) -> re.Pattern[str]:
    """Account numbers for a client: Sachkonto up to n digits, Personenkonto exactly n + 1."""
    if not 4 <= sachkontenlaenge <= 8:
        raise ValueError(f"Sachkontenlänge must be 4-8, not {sachkontenlaenge}")
    if personal:
        return _re(f"[1-9]\\d{{{sachkontenlaenge}}}")
    return _re(f"(?!0+$)\\d{{1,{sachkontenlaenge}}}")


def _decodable(byte: int) -> str:
    try:
        return bytes([byte]).decode(ENCODING)
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D are undefined
        return ""


#: Every character Windows-1252 can hold. A set lookup per character (``issuperset`` runs
#: in C) is several times faster than encoding, which matters in the export's hot path.
CP1252_CHARS: Final = frozenset(filter(None, map(_decodable, range(256))))
#: The same without control characters: what a text field accepts.
CP1252_TEXT: Final = CP1252_CHARS - frozenset(map(chr, [*range(0x20), 0x7F]))


def _in_cp1252(text: str) -> bool:
    return CP1252_CHARS.issuperset(text)


def encodable(text: str) -> bool:
    """True if ``text`` can be written in Windows-1252 and holds no control characters."""
    return CP1252_TEXT.issuperset(text)


def field_ok(column: Column, value: str) -> bool:
    """The validator's check of one raw (unquoted) value against its column."""
    if value == "":
        return not column.required
    if column.max_len is not None and len(value) > column.max_len:
        return False
    if column.pattern is not None and column.pattern.fullmatch(value) is None:
        return False
    if column.charset is not None and not all(column.charset.fullmatch(c) for c in value):
        return False
    return encodable(value)


def acceptor(column: Column) -> Callable[[str], re.Match[str] | None]:
    """`field_ok` for one column as a single compiled regex: its ``fullmatch`` matches
    exactly the values `field_ok` accepts. For the writer's hot path, where `field_ok`'s
    steps (length, pattern, charset character by character, Windows-1252) cost more."""
    text = "[" + re.escape("".join(sorted(CP1252_TEXT))) + "]"
    parts = [f"(?={text}{{1,{column.max_len}}}\\Z)" if column.max_len else f"(?={text}+\\Z)"]
    if column.charset is not None:
        parts.append(f"(?=(?:{column.charset.pattern})*\\Z)")
    parts.append(f"(?:{column.pattern.pattern})" if column.pattern is not None else ".*")
    expr = "".join(parts)
    return re.compile(expr if column.required else f"(?:|{expr})").fullmatch


def render_field(column: Column, value: str) -> str:
    """The value as it appears in the file: quoted with inner quotes doubled, or bare."""
    if column.quoted:
        return QUOTE + value.replace(QUOTE, QUOTE + QUOTE) + QUOTE
    if SEPARATOR in value or QUOTE in value:
        raise ValueError(f"unquoted field {column.name!r} cannot hold {value!r}")
    return value


# ---------------------------------------------------------------------------------------
# Transliteration and shortening (policy: docs/datev.md)
# ---------------------------------------------------------------------------------------

#: Replacement for a character a restricted field (``Column.charset``) does not accept,
#: when neither TRANSLITERATION nor accent folding yields an accepted spelling.
FALLBACK: Final = "-"

#: Explicit spellings, consulted only for characters the target field does not accept.
#: German letters first (Belegfeld 1 forbids umlauts), then letters that Unicode does not
#: decompose into a base letter, then typography outside Windows-1252, then whitespace.
# fmt: off
TRANSLITERATION: Final[dict[str, str]] = {
    "ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
    "ß": "ss", "ẞ": "SS",
    "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ø": "o", "Ø": "O",
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
    "þ": "th", "Þ": "Th", "ħ": "h", "Ħ": "H", "ı": "i", "ŋ": "ng", "Ŋ": "Ng",
    "‐": "-", "‑": "-", "‒": "-", "―": "-", "−": "-",
    "′": "'", "″": '"',
    " ": "-",  # space in Belegfeld 1/2: "RE 2024 001" -> "RE-2024-001"
    "\t": " ", "\n": " ", "\r": " ",  # line breaks and tabs in free text become spaces
}
# fmt: on


class UnencodableCharacterError(ValueError):
    """A character that no documented rule can turn into something the field accepts."""

    def __init__(self, char: str, position: int) -> None:
        name = unicodedata.name(char, f"U+{ord(char):04X}")
        super().__init__(f"character {char!r} ({name}) at position {position} has no spelling")
        self.char = char
        self.position = position


def transliterate(
    text: str, allowed: re.Pattern[str] | None = None, *, fallback: str = FALLBACK
) -> tuple[str, bool]:
    """Mend ``text`` so that every character is accepted; return (mended, changed).

    ``allowed`` matches one accepted character (``Column.charset``); ``None`` accepts every
    Windows-1252 character except control characters. The text is NFC-normalised first.
    Each character that is not accepted becomes, in this order: its TRANSLITERATION entry;
    its base letter(s) after NFKD decomposition without combining marks (ő -> o, č -> c,
    ﬁ -> fi); nothing, if it is a lone combining mark; ``fallback``, if ``allowed`` is set
    and the character is a Windows-1252 character. Anything else raises
    UnencodableCharacterError: never "?". ``changed`` compares with the NFC form, so a
    decomposed "ü" that only gets composed does not count as a change.
    """

    def ok(piece: str) -> bool:
        if not encodable(piece):
            return False
        return allowed is None or all(allowed.fullmatch(c) for c in piece)

    source = unicodedata.normalize("NFC", text)
    if allowed is None and (
        (source.isascii() and source.isprintable()) or CP1252_TEXT.issuperset(source)
    ):
        return source, False  # the common case, without the loop below
    out: list[str] = []
    for position, char in enumerate(source):
        if char in CP1252_TEXT and (allowed is None or allowed.fullmatch(char)):
            out.append(char)  # ok(char), inlined: this loop runs for every character
            continue
        spelled = TRANSLITERATION.get(char)
        if spelled is not None and ok(spelled):
            out.append(spelled)
            continue
        if unicodedata.combining(char):
            continue  # a diacritic left over after NFC: drop it, keep the base letter
        folded = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        if folded and folded != char and ok(folded):
            out.append(folded)
            continue
        if allowed is not None and _in_cp1252(char) and ok(fallback):
            out.append(fallback)
            continue
        raise UnencodableCharacterError(char, position)
    mended = "".join(out)
    return mended, mended != source


def shorten(column: Column, value: str) -> tuple[str, bool]:
    """Cut ``value`` to ``column.max_len`` if the column allows it; return (value, cut).

    Raises ValueError for an over-long value in a column that must not be shortened
    (identifiers): the run then fails naming the booking. Shorten after transliterating,
    because transliteration can lengthen a text ("ä" -> "ae").
    """
    if column.max_len is None or len(value) <= column.max_len:
        return value, False
    if not column.truncatable:
        raise ValueError(
            f"{column.name!r} holds {len(value)} characters, at most {column.max_len} allowed"
        )
    return value[: column.max_len], True
