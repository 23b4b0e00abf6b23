"""The formats buchex ships, declared like a plug-in's (engine.formats.FormatSpec).

Declarations only: the writers are named by "module:attribute" and imported on first use.
"""

from __future__ import annotations

from typing import Final

from engine.formats.spec import DATA_KINDS, FileKind, FormatOption, FormatSpec

ALL_KINDS: Final[frozenset[FileKind]] = DATA_KINDS
#: A config's format when it names none.
DEFAULT_FORMAT: Final = "datev"
#: One file per fiscal year and again per calendar year (engine.formats.periods).
_FISCAL_AND_CALENDAR_YEAR: Final = "engine.formats.periods:fiscal_and_calendar_year"

BUILTIN_FORMATS: Final[tuple[FormatSpec, ...]] = (
    FormatSpec(
        name="datev",
        label="DATEV-Format",
        writer="engine.formats.datev:DatevFormat",
        # Document images: DATEV XML-Schnittstelle online (engine.formats.datev_documents).
        kinds=ALL_KINDS | {"documents"},
        validator="engine.formats.datev:validate_file",
        # Belegdatum is TTMM: the header's WJ-Beginn and Datum vom/bis give the year.
        file_periods=_FISCAL_AND_CALENDAR_YEAR,
        description="DATEV-Format (EXTF 700): Buchungsstapel und Debitoren/Kreditoren",
    ),
    FormatSpec(
        name="csv",
        label="CSV (Tabellenkalkulation)",
        writer="engine.formats.csv_format:CsvFormat",
        kinds=ALL_KINDS,
        options=(
            FormatOption(
                name="zeichensatz",
                label="Zeichensatz",
                choices=(("utf-8-sig", "UTF-8 mit BOM"), ("cp1252", "Windows-1252 (ANSI)")),
                default="utf-8-sig",
                help="UTF-8 mit BOM öffnen Excel und LibreOffice mit allen Zeichen",
            ),
        ),
        validator="engine.formats.csv_format:validate_file",
        description="Semikolon, Dezimalkomma, TT.MM.JJJJ: öffnet sich per Doppelklick "
        "in einer deutschen Tabellenkalkulation",
    ),
    FormatSpec(
        name="csv-rfc4180",
        label="CSV (UTF-8, RFC 4180, maschinenlesbar)",
        writer="engine.formats.csv_rfc4180:CsvRfc4180Format",
        kinds=ALL_KINDS,
        validator="engine.formats.csv_rfc4180:validate_file",
        description="Komma, Dezimalpunkt, ISO-Datum, Werte unverändert: für Programme",
    ),
    FormatSpec(
        name="lexware",
        label="Lexware buchhalter (ASCII-Import)",
        writer="engine.formats.lexware:LexwareFormat",
        kinds=frozenset({"bookings", "incoming"}),
        validator="engine.formats.lexware:validate_file",
        file_periods=_FISCAL_AND_CALENDAR_YEAR,  # Lexware imports one year at a time
        description="Buchungsdaten für den ASCII-Import von Lexware buchhalter",
    ),
)
