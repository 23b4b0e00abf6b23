"""A client's own Automatikkonten from the optional ledger table `automatic_accounts`
(engine/ledger_automatic.py), applied by the DATEV writer (finding 1 of issue 12)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.errors import LedgerError
from engine.export import ExportError
from engine.ledger import Ledger
from engine.ledger_automatic import own_automatic_accounts
from tests.test_export import build_small_ledger, config, insert_booking, run


def add_table(path: Path, rows: list[tuple[object, object, object]]) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE automatic_accounts (client_id, account, tax_key)")
        conn.executemany("INSERT INTO automatic_accounts VALUES (?, ?, ?)", rows)
    conn.close()


def test_without_the_table_only_the_standard_applies(tmp_path: Path) -> None:
    path = build_small_ledger(tmp_path / "ledger.sqlite")
    assert own_automatic_accounts(Ledger(f"sqlite:///{path}"), "1") == {}


def test_own_accounts_per_client(tmp_path: Path) -> None:
    path = build_small_ledger(tmp_path / "ledger.sqlite")
    add_table(path, [(1, "8401", "3"), (1, "08125", None), (2, "4401", 3)])
    ledger = Ledger(f"sqlite:///{path}")
    assert own_automatic_accounts(ledger, "1") == {"8401": 3, "8125": None}
    assert own_automatic_accounts(ledger, "2") == {"4401": 3}


def test_an_export_refuses_a_key_on_an_own_automatic_account(tmp_path: Path) -> None:
    path = build_small_ledger(tmp_path / "ledger.sqlite")
    insert_booking(
        path,
        (10, 1, 10, "KR", "RE-2025-0010", "2025-03-10", 4900, "S", "10001", "8401", "2",
         "Lesebrille Filiale Süd", "UE", "10001", "100"),
    )  # fmt: skip
    cfg = config(clients=("1",))
    assert run(path, tmp_path / "before", cfg).files  # 8401 is no standard Automatikkonto
    add_table(path, [(1, "8401", "3")])
    with pytest.raises(ExportError, match=r"Automatikkonto 8401 \(SKR03\)") as exc:
        run(path, tmp_path / "after", cfg)
    assert exc.value.journal_nos == (10,)


def test_an_unusable_row_is_named(tmp_path: Path) -> None:
    path = build_small_ledger(tmp_path / "ledger.sqlite")
    add_table(path, [(1, "84O1", "3")])
    with pytest.raises(LedgerError, match="automatic_accounts, Mandant 1, Konto „84O1“"):
        own_automatic_accounts(Ledger(f"sqlite:///{path}"), "1")
