"""The CSV dialect German accounting imports share: `;`, CRLF, `"` only where needed."""

from __future__ import annotations

import csv
from typing import Final

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
