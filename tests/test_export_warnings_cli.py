"""`buchex export` shows the first warnings and says where all of them are: a CSV beside
the export (issue: "… und 56 weitere Warnungen" pointed at a run record that an export
never writes)."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

from engine.paths import DataDir
from engine.workspace import Workspace
from tests.conftest import run_cli


def test_every_warning_of_an_export_is_in_a_file_beside_it(demo_home: Path, tmp_path: Path) -> None:
    with sqlite3.connect(demo_home / "ledger.sqlite") as db:
        db.execute("UPDATE bookings SET text = printf('%s %s', text, hex(randomblob(40)))")
        (count,) = db.execute(
            "SELECT count(*) FROM bookings WHERE client_id = 1 AND document_type IN ('KR','BV')"
        ).fetchone()
    assert count > 25
    Workspace(DataDir.open(demo_home)).save_config(
        {"id": "stb", "name": "Steuerbüro", "target": {"host": "127.0.0.1", "user": "k"},
         "clients": ["1"], "document_types": ["KR", "BV"], "format": "datev",
         "time": "06:30", "interval": {"kind": "daily"}}
    )  # fmt: skip
    out = tmp_path / "out"
    result = run_cli(demo_home, "export", "stb", "--out", str(out))
    assert result.returncode == 0, result.stderr
    [warnings_file] = list(out.glob("Warnungen_*.csv"))
    assert f"weitere Warnungen (alle in {warnings_file})" in result.stderr
    shown = [line for line in result.stderr.splitlines() if line.startswith("Warnung: ")]
    assert len(shown) == 20
    text = warnings_file.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(text.splitlines(), delimiter=";"))
    assert rows[0][:2] == ["Journalnummer", "Feld"]
    assert len(rows) - 1 == count  # one shortened Buchungstext per booking
    assert "Laufprotokoll" not in result.stderr
