"""The independent anchor of the export benchmark: `python bench/anchor_export.py LEDGER OUT`.

Imports no buchex code (nothing of `engine`, nor `bench.common`): the script a developer
would write to get DATEV-shaped files out of the embedded ledger with the standard
library alone. It is the "how fast could this be in plain Python" yardstick that
`bench/export_anchor.py` measures `buchex export` against (issue 15, target 1).

What it does, per client of the ledger, for the outgoing bookings (document types not
flagged incoming) and then the incoming ones, each stream into one file of its own:

- one `SELECT … FROM bookings WHERE client_id = ? AND document_type IN (…) ORDER BY
  journal_no` with stdlib `sqlite3`, rows iterated straight off the cursor;
- a 125-column row per booking from a template list (the Buchungsstapel columns, quoted
  text / bare numbers as DATEV wants them), filled like buchex fills it: Umsatz "E,CC",
  S/H, Konto, Gegenkonto, BU-Schlüssel, Belegdatum TTMM, Belegfeld 1, Buchungstext (cut
  to 60), KOST1 (the booking's or its branch's cost centre), Beleginfo 1–4 (journal
  number, document type, branch, payment method by name), Festschreibung;
- `csv.writer` (`;`, CRLF, QUOTE_NONNUMERIC; a `str` subclass with a number slot marks
  the bare fields) into a cp1252 text file, unmappable characters replaced.

No validation, no transliteration, no file split by fiscal year, no journal, no warnings:
a clean row comes out byte for byte as buchex writes it (checked by the benchmark), a row
buchex would mend or refuse does not. The file has a one-line header and the headings
line shortened to the column count, so its size is that of buchex's files.

Prints one JSON line: rows, files, bytes, seconds (in-process, from the first query).
"""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
import time
from pathlib import Path

# The 125 Buchungsstapel columns of DATEV-Format 700: q = text (quoted), b = bare.
QUOTING = (
    "bqqbbqbbqbqqbqbqbbbqqqqqqqqqqqqqqqqqqqbqbqbbbbbqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
    "bbbqbbbqqbqbbbqqbqbqbqqbqbbbbbqbqqbqbb"
)
UMSATZ, SH, KONTO, GEGENKONTO, BU, BELEGDATUM, BELEGFELD1, TEXT, KOST1 = (
    0, 1, 6, 7, 8, 9, 10, 13, 36,
)  # fmt: skip
INFO_ART = (20, 22, 24, 26)
INFO = (21, 23, 25, 27)
FESTSCHREIBUNG = 113
TEXT_MAX = 60


class Bare(str):
    """Written without quotes under QUOTE_NONNUMERIC (csv only checks for a number slot)."""

    __slots__ = ()

    def __index__(self) -> int:  # pragma: no cover - never called
        raise TypeError


class Dialect(csv.Dialect):
    delimiter = ";"
    quotechar = '"'
    doublequote = True
    escapechar = None
    lineterminator = "\r\n"
    quoting = csv.QUOTE_NONNUMERIC
    skipinitialspace = False
    strict = True


COLUMNS = (
    "journal_no, client_id, branch_id, document_type, document_no, document_date, "
    "amount_cents, debit_credit, account, contra_account, tax_key, text, payment_method, "
    "partner_account, cost_center"
)


def export(ledger: Path, out: Path) -> dict[str, float]:
    started = time.perf_counter()
    db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
    types = {
        code: name
        for code, name, _ in db.execute("SELECT code, name, incoming FROM document_types")
    }
    incoming = [code for (code,) in db.execute("SELECT code FROM document_types WHERE incoming")]
    outgoing = [code for code in types if code not in incoming]
    branches = {
        i: (name, cc) for i, name, cc in db.execute("SELECT id, name, cost_center FROM branches")
    }
    methods = dict(db.execute("SELECT code, name FROM payment_methods"))
    clients = db.execute("SELECT id, client_no, lock_batches FROM clients ORDER BY id").fetchall()
    out.mkdir(parents=True, exist_ok=True)
    empty_bare = Bare("")
    total = files = size = 0
    for client_id, client_no, lock in clients:
        template: list[object] = ["" if q == "q" else empty_bare for q in QUOTING]
        template[INFO_ART[0]], template[INFO_ART[1]], template[INFO_ART[2]] = (
            "Journalnummer",
            "Belegart",
            "Filiale",
        )
        template[FESTSCHREIBUNG] = Bare("1" if lock else "0")
        ttmm: dict[str, Bare] = {}
        for kind, codes in (("Buchungsstapel", outgoing), ("Buchungsstapel_Eingang", incoming)):
            if not codes:
                continue
            path = out / f"EXTF_{kind}_{client_no}.csv"
            with open(path, "w", encoding="cp1252", errors="replace", newline="") as fh:
                fh.write('"EXTF";700;21;"Buchungsstapel";13\r\n')
                fh.write(";".join(f"Feld {i}" for i in range(1, len(QUOTING) + 1)) + "\r\n")
                writerow = csv.writer(fh, Dialect).writerow
                cursor = db.execute(
                    f"SELECT {COLUMNS} FROM bookings WHERE client_id = ? AND document_type IN "
                    f"({', '.join('?' * len(codes))}) ORDER BY journal_no",
                    (client_id, *codes),
                )
                for (
                    journal_no, _client, branch_id, document_type, document_no, document_date,
                    cents, debit_credit, account, contra, tax_key, text, method, _partner, cc,
                ) in cursor:  # fmt: skip
                    row = template.copy()
                    euros, rest = divmod(cents, 100)
                    row[UMSATZ] = Bare(f"{euros},{rest:02d}")
                    row[SH] = debit_credit
                    row[KONTO] = Bare(account)
                    row[GEGENKONTO] = Bare(contra)
                    if tax_key is not None:
                        row[BU] = tax_key
                    day = ttmm.get(document_date)
                    if day is None:
                        day = ttmm[document_date] = Bare(document_date[8:10] + document_date[5:7])
                    row[BELEGDATUM] = day
                    row[BELEGFELD1] = document_no
                    if text is not None:
                        row[TEXT] = text[:TEXT_MAX]
                    branch_name, branch_cc = branches[branch_id]
                    if cc is None:
                        cc = branch_cc
                    if cc is not None:
                        row[KOST1] = cc
                    row[INFO[0]] = str(journal_no)
                    row[INFO[1]] = types[document_type]
                    row[INFO[2]] = branch_name
                    if method is not None:
                        row[INFO_ART[3]] = "Zahlungsart"
                        row[INFO[3]] = methods[method]
                    writerow(row)
                    total += 1
                size += fh.tell()
            files += 1
    db.close()
    return {
        "rows": total,
        "files": files,
        "bytes": size,
        "seconds": time.perf_counter() - started,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python bench/anchor_export.py LEDGER OUT", file=sys.stderr)
        return 2
    print(json.dumps(export(Path(argv[0]), Path(argv[1]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
