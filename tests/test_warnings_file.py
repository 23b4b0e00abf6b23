"""Finding 3 of issue 12: every warning of an export, also beyond `max_warnings`, in a file
beside the export (`export(warnings_file=...)`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from engine.export import export
from engine.ledger import Ledger
from tests.test_export import LONG_TEXT, NOW, build_small_ledger, config, insert_booking


def test_all_warnings_go_to_the_file(tmp_path: Path) -> None:
    path = build_small_ledger(tmp_path / "ledger.sqlite")
    for jn in range(10, 70):
        insert_booking(
            path,
            (jn, 1, 10, "KR", f"RE-2025-{jn:04d}", "2025-03-10", 4900, "S", "10001", "8400",
             None, LONG_TEXT, "UE", "10001", "100"),
        )  # fmt: skip
    out = tmp_path / "out"
    target = out / "Warnungen.csv"
    result = export(
        config(clients=("1",)),
        Ledger(f"sqlite:///{path}"),
        {},
        out,
        now=NOW,
        max_warnings=5,
        warnings_file=target,
    )
    # In memory: 5 one by one, the rest counted per field.
    assert len([w for w in result.warnings if w.journal_no is not None]) == 5
    assert result.warning_count > 60
    assert result.warnings_file == target
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert records[0] == ["Journalnummer", "Feld", "Meldung"]
    assert len(records) - 1 == result.warning_count
    assert {r[0] for r in records[1:]} >= {str(jn) for jn in range(10, 70)}
    assert all(r[1] for r in records[1:])
    # Not a delivery file.
    assert target not in [f.path for f in result.files]


def test_no_warnings_no_file(tmp_path: Path) -> None:
    path = build_small_ledger(tmp_path / "ledger.sqlite")
    target = tmp_path / "out" / "Warnungen.csv"
    result = export(
        config(clients=("2",)),
        Ledger(f"sqlite:///{path}"),
        {},
        tmp_path / "out",
        now=NOW,
        warnings_file=target,
    )
    assert result.warning_count == 0 and result.warnings_file is None
    assert not target.exists()
