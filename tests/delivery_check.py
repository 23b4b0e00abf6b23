"""What arrived on a test server, counted by journal number (read with the independent
DATEV reader, never with buchex's writer)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from tests import datev_reader


def journal_numbers_on_server(root: Path) -> Counter[int]:
    """Every booking row in the final EXTF files below `root`, by its Beleginfo
    "Journalnummer" (temporary files are not counted: they are not final names)."""
    seen: Counter[int] = Counter()
    for path in sorted(root.rglob("EXTF_*.csv")):
        datev = datev_reader.read(path)
        if datev.category != 21:  # Debitoren/Kreditoren carry no bookings
            continue
        for rec in datev.records():
            assert rec["Beleginfo - Art 1"] == "Journalnummer", path
            seen[int(rec["Beleginfo - Inhalt 1"])] += 1
    return seen


def ledger_numbers(ledger: Path, clients: tuple[int, ...] = (1, 2)) -> set[int]:
    with sqlite3.connect(ledger) as db:
        marks = ",".join("?" * len(clients))
        rows = db.execute(
            f"SELECT journal_no FROM bookings WHERE client_id IN ({marks})", clients
        ).fetchall()
    return {int(n) for (n,) in rows}


def temp_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.buchex-tmp"))
