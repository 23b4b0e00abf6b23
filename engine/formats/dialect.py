"""What the semicolon formats share: the CSV dialect German accounting imports read (`;`,
CRLF, `"` only where needed) and one-line texts mended for it."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from engine.formats import Report

SEPARATOR: Final = ";"
LINE_END: Final = "\r\n"


class SemicolonCsv(csv.Dialect):
    """What a German spreadsheet and Lexware's ASCII import read (and the control file)."""

    delimiter = SEPARATOR
    quotechar = '"'
    doublequote = True
    escapechar = None
    lineterminator = LINE_END
    quoting = csv.QUOTE_MINIMAL
    skipinitialspace = False
    strict = True


#: A mended text and the notes on what changed; text None: it cannot be written (notes[0]).
Mended = tuple[str | None, tuple[str, ...]]
_BREAKS: Final = re.compile(r"[\t\r\n]")


def one_line(value: str, *, cp1252: bool) -> Mended:
    """Tabs and line breaks become spaces (a record is one line); for a Windows-1252 file,
    characters outside it are transliterated as in DATEV files (docs/datev.md)."""
    notes: list[str] = []
    text = value
    if _BREAKS.search(text):
        text = _BREAKS.sub(" ", text)
        notes.append(f"Zeilenumbruch/Tabulator durch Leerzeichen ersetzt: „{text}“")
    if cp1252:
        from engine.formats.datev_spec import UnencodableCharacterError, transliterate

        try:
            spelled, changed = transliterate(text)
        except UnencodableCharacterError as exc:
            return None, (
                f"Zeichen {exc.char!r} an Stelle {exc.position + 1} von „{value}“ ist in "
                "Windows-1252 nicht darstellbar und hat keine Umschreibung",
            )
        if changed:
            notes.append(f"umgeschrieben für Windows-1252: „{text}“ → „{spelled}“")
            text = spelled
    return text, tuple(notes)


class TextMender:
    """A writer's texts mended once per distinct value (bounded cache), every change a
    warning, what cannot be written a refusal naming the journal number and field."""

    def __init__(self, mend: Callable[[str], Mended]) -> None:
        self._mend = mend
        self._cache: dict[str, Mended] = {}

    def __call__(self, value: str, jn: int | None, field: str, report: Report) -> str | None:
        mended = self._cache.get(value)
        if mended is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            mended = self._cache[value] = self._mend(value)
        text, notes = mended
        if text is None:
            report.refuse(jn, field, f"{field}: {notes[0]}")
            return None
        for note in notes:
            report.warn(jn, field, f"{field}: {note}")
        return text
