"""engine.export: selection, watermarks, file planning, failure handling (SPEC §3)."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from engine.config import ExportConfig
from engine.export import (
    ExportError,
    ExportResult,
    ExportWarning,
    export,
    format_file_table,
)
from engine.formats import REGISTRY, FileInfo, FormatSpec
from engine.formats.periods import FiscalPeriod, fiscal_and_calendar_year
from engine.ledger import Booking, Client, Ledger, create_schema
from engine.ledger_demo import generate
from tests import datev_reader

NOW = dt.datetime(2026, 4, 1, 6, 30, 15, 250_000)

# --------------------------------------------------------------------------- a tiny ledger

CLIENTS = (
    # id, name, consultant_no, client_no, fiscal_year_start, account_length, chart, lock
    (1, "Optik Müller GmbH", 29098, 55003, "01-01", 4, "SKR03", 0),
    (2, "Hörgeräte Weiß KG", 31245, 10020, "07-01", 4, "SKR04", 1),
)
BRANCHES = (
    (10, 1, "Würzburg", "100"),
    (11, 1, "Fürth", "200"),
    (20, 2, "Lüneburg", "400"),
)
DOCUMENT_TYPES = (
    ("KR", "Kundenrechnung", 0),
    ("GS", "Gutschrift", 0),
    ("BV", "Barverkauf", 0),
    ("ER", "Eingangsrechnung", 1),
)
PAYMENT_METHODS = (("BAR", "Bar"), ("EC", "EC-Karte"), ("UE", "Überweisung"))
PARTNERS = (
    (1, "10001", "debtor", "Müller, Jürgen", "Hauptstraße 5", "97070", "Würzburg", "DE", None,
     "juergen.mueller@example.org"),
    (1, "10002", "debtor",
     "Augenarztpraxis Dr. med. Schäfer & Kollegen Gemeinschaftspraxis Würzburg",
     "Röntgenring 12", "97082", "Würzburg", "DE", "DE123456789", None),
    (1, "10003", "debtor", "Yılmaz, Özlem", "Schloßallee 1", "90762", "Fürth", "DE", None, None),
    (1, "70001", "creditor", "Brillenglaswerk Süd GmbH", "Glasweg 3", "90402", "Nürnberg",
     "DE", "DE987654321", None),
    (2, "10001", "debtor", "Weiß, Käthe", "Am Sande 7", "21335", "Lüneburg", "DE", None, None),
)  # fmt: skip
LONG_TEXT = (
    "Gleitsichtbrille Premium mit Entspiegelung, Hartschicht und Blaulichtfilter "
    "Augenarztpraxis Dr. med. Schäfer"
)
BOOKINGS = (
    # journal_no, client, branch, type, document_no, date, cents, S/H, account, contra,
    # tax_key, text, payment_method, partner_account, cost_center
    (1, 1, 10, "KR", "RE-2025-0001", "2025-03-03", 11900, "S", "10001", "8400", None,
     "Gleitsichtbrille Müller, Jürgen", "UE", "10001", "100"),
    (2, 1, 10, "BV", "BV-2025-0001", "2025-03-03", 1995, "S", "1000", "8400", None,
     "Barverkauf Brillenetui", "BAR", None, "100"),
    (3, 1, 10, "GS", "GS-2025-0001", "2025-03-04", 5000, "H", "10001", "8400", None,
     'Gutschrift Kulanz Fassungsbruch "Modell Ö"; Rückgabe', "UE", "10001", "100"),
    (4, 1, 11, "KR", "RE 2025/0002", "2025-03-05", 39900, "S", "10002", "8400", None,
     LONG_TEXT, "EC", "10002", "200"),
    (5, 1, 11, "KR", "RE-2025-0003", "2025-03-06", 8900, "S", "10003", "8400", "3",
     "Sonnenbrille Yılmaz, Özlem", None, "10003", None),
    (6, 1, 10, "ER", "BGW-2025-00017", "2025-03-07", 150000, "H", "70001", "3200", "9",
     "Brillenglaswerk Süd Rechnung BGW-2025-00017 Gläser", None, "70001", "100"),
    (7, 2, 20, "KR", "RE-2025-0100", "2025-12-30", 250000, "S", "10001", "4300", None,
     "Hörsystem HdO rechts Weiß, Käthe", "UE", "10001", "400"),
    (8, 2, 20, "KR", "RE-2026-0001", "2026-01-02", 120000, "S", "10001", "4300", None,
     "Otoplastik Weiß, Käthe", "UE", "10001", "400"),
    (9, 2, 20, "BV", "BV-2026-0001", "2026-01-02", 2500, "S", "1600", "4400", None,
     "Barverkauf Batterien", "BAR", None, "400"),
)  # fmt: skip

ALL_TYPES = ("KR", "GS", "BV")


def build_small_ledger(path: Path, bookings: Sequence[tuple[Any, ...]] = BOOKINGS) -> Path:
    """The tiny hand-made ledger of the golden-file tests."""
    create_schema(path)
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO clients VALUES (?, ?, ?, ?, ?, ?, ?, ?)", CLIENTS)
        conn.executemany("INSERT INTO branches VALUES (?, ?, ?, ?)", BRANCHES)
        conn.executemany("INSERT INTO document_types VALUES (?, ?, ?)", DOCUMENT_TYPES)
        conn.executemany("INSERT INTO payment_methods VALUES (?, ?)", PAYMENT_METHODS)
        conn.executemany("INSERT INTO partners VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", PARTNERS)
        conn.executemany(
            "INSERT INTO bookings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", bookings
        )
    conn.close()
    return path


def insert_booking(path: Path, row: tuple[Any, ...]) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO bookings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row
        )
    conn.close()


def config(**changes: Any) -> ExportConfig:
    values: dict[str, Any] = {
        "id": "cfg1",
        "name": "Steuerbüro Schröder & Partner",
        "clients": ("1", "2"),
        "document_types": ALL_TYPES,
        "payment_methods": (),
        "export_debtors": True,
        "format": "datev",
        "incoming_export": True,
        "incoming_format": "datev",
    }
    values.update(changes)
    return ExportConfig(**values)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return build_small_ledger(tmp_path / "ledger.sqlite")


def run(
    ledger_path: Path,
    out: Path,
    cfg: ExportConfig | None = None,
    watermarks: dict[str, int] | None = None,
    **kwargs: Any,
) -> ExportResult:
    return export(
        cfg or config(),
        Ledger(f"sqlite:///{ledger_path}"),
        watermarks or {},
        out,
        now=NOW,
        **kwargs,
    )


def journal_nos(result: ExportResult) -> list[int]:
    """Journal numbers in the files, from Beleginfo (DATEV) or the journal_no column (CSV)."""
    found: list[int] = []
    for f in result.files:
        if f.kind in ("debtors", "creditors"):
            continue
        if f.name.startswith("EXTF_"):
            found += [int(v) for v in datev_reader.read(f.path).column("Beleginfo - Inhalt 1")]
        else:
            lines = f.path.read_text(encoding="utf-8").splitlines()[1:]
            found += [int(line.split(",", 1)[0]) for line in lines]
    return sorted(found)


# --------------------------------------------------------------------------- files, names


def test_files_per_client_kind_and_year(small: Path, tmp_path: Path) -> None:
    result = run(small, tmp_path / "out")
    assert [f.name for f in result.files] == [
        "EXTF_Buchungsstapel_55003_20250303_20250306_20260401-063015.csv",
        "EXTF_Buchungsstapel_Eingang_55003_20250307_20250307_20260401-063015.csv",
        "EXTF_Debitoren_55003_20260401-063015.csv",
        # incoming bookings exported: their creditors too (DATEV category 16 holds both)
        "EXTF_Kreditoren_55003_20260401-063015.csv",
        # fiscal year 07-01: 30 Dec 2025 and 2 Jan 2026 share it, but not the calendar year
        "EXTF_Buchungsstapel_10020_20251230_20251230_20260401-063015.csv",
        "EXTF_Buchungsstapel_10020_20260102_20260102_20260401-063015.csv",
        "EXTF_Debitoren_10020_20260401-063015.csv",
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f.name for f in result.files
    )
    by_name = {f.name: f for f in result.files}
    first = by_name["EXTF_Buchungsstapel_55003_20250303_20250306_20260401-063015.csv"]
    assert (first.kind, first.client_id, first.rows) == ("bookings", "1", 5)
    assert (first.debit_cents, first.credit_cents) == (11900 + 1995 + 39900 + 8900, 5000)
    assert (first.date_from, first.date_to) == (dt.date(2025, 3, 3), dt.date(2025, 3, 6))
    assert first.size == first.path.stat().st_size
    incoming = by_name["EXTF_Buchungsstapel_Eingang_55003_20250307_20250307_20260401-063015.csv"]
    assert (incoming.kind, incoming.rows, incoming.credit_cents) == ("incoming", 1, 150000)
    debtors = by_name["EXTF_Debitoren_55003_20260401-063015.csv"]
    assert (debtors.kind, debtors.rows, debtors.date_from) == ("debtors", 3, None)
    creditors = by_name["EXTF_Kreditoren_55003_20260401-063015.csv"]
    assert (creditors.kind, creditors.rows, creditors.debit_cents) == ("creditors", 1, 0)

    stamp = "20260401-063015"
    dec = datev_reader.read(
        by_name[f"EXTF_Buchungsstapel_10020_20251230_20251230_{stamp}.csv"].path
    )
    jan = datev_reader.read(
        by_name[f"EXTF_Buchungsstapel_10020_20260102_20260102_{stamp}.csv"].path
    )
    assert dec.fiscal_year_start == jan.fiscal_year_start == dt.date(2025, 7, 1)
    assert (dec.date_from, dec.date_to) == (dt.date(2025, 12, 30), dt.date(2025, 12, 30))
    assert jan.document_dates() == [dt.date(2026, 1, 2)] * 2
    assert dec.locked == jan.locked == "1"  # lock_batches of client 2
    assert dec.chart == "04"
    assert result.watermarks == {"1": 6, "2": 9}
    assert all(name.isascii() for name in by_name)


def test_sha256_and_size_describe_the_file(small: Path, tmp_path: Path) -> None:
    import hashlib

    for f in run(small, tmp_path / "out").files:
        data = f.path.read_bytes()
        assert (f.size, f.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert oct(f.path.stat().st_mode & 0o777) == oct(0o600)


def test_nothing_selected_means_no_files(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(small, out, watermarks={"1": 6, "2": 9})
    assert result.nothing_to_export
    assert result.files == ()
    assert list(out.iterdir()) == []
    assert result.watermarks == {"1": 6, "2": 9}
    assert format_file_table(result.files) == "Nichts zu exportieren."


def test_format_file_table(small: Path, tmp_path: Path) -> None:
    table = format_file_table(run(small, tmp_path / "out").files)
    lines = table.splitlines()
    assert lines[0].split() == ["Datei", "Zeilen", "Summe", "Soll", "Summe", "Haben"]
    first = lines[2].split()
    name = "EXTF_Buchungsstapel_55003_20250303_20250306_20260401-063015.csv"
    assert first == [name, "5", "626,95", "50,00"]
    debtor_line = next(line for line in lines if line.startswith("EXTF_Debitoren_55003"))
    assert debtor_line.split() == ["EXTF_Debitoren_55003_20260401-063015.csv", "3"]
    assert lines[-1].split() == ["Gesamt", "9", "4.351,95", "1.550,00"]


# --------------------------------------------------------------------------- selection


def test_document_type_payment_and_branch_filters(small: Path, tmp_path: Path) -> None:
    only_kr = run(small, tmp_path / "a", config(document_types=("KR",), incoming_export=False))
    assert journal_nos(only_kr) == [1, 4, 5, 7, 8]
    # Payment filter: bookings without a payment method always pass (5 has none).
    cards = run(small, tmp_path / "b", config(payment_methods=("EC",), incoming_export=False))
    assert journal_nos(cards) == [4, 5]
    fuerth = run(small, tmp_path / "c", config(branch="11"))
    assert journal_nos(fuerth) == [4, 5]
    # The watermark passes the bookings that did not match, for every chosen client.
    assert fuerth.watermarks == {"1": 6, "2": 9}


def test_incoming_bookings_only_with_incoming_export(small: Path, tmp_path: Path) -> None:
    without = run(small, tmp_path / "a", config(incoming_export=False, incoming_format=None))
    assert 6 not in journal_nos(without)
    assert not any(f.kind == "incoming" for f in without.files)
    # Incoming bookings ignore the document-type and payment filters (all of them go).
    cfg = config(document_types=("BV",), payment_methods=("BAR",), clients=("1",))
    with_incoming = run(small, tmp_path / "b", cfg)
    assert journal_nos(with_incoming) == [2, 6]
    # ... but not the branch filter.
    branch_only = run(small, tmp_path / "c", config(branch="11", clients=("1",)))
    assert journal_nos(branch_only) == [4, 5]


def test_incoming_format_may_differ(small: Path, tmp_path: Path) -> None:
    result = run(small, tmp_path / "out", config(clients=("1",), incoming_format="csv"))
    names = [f.name for f in result.files]
    assert names == [
        "EXTF_Buchungsstapel_55003_20250303_20250306_20260401-063015.csv",
        "Eingangsbuchungen_55003_20250307_20250307_20260401-063015.csv",
        "EXTF_Debitoren_55003_20260401-063015.csv",
        # the creditors in the incoming bookings' format
        "Kreditoren_55003_20260401-063015.csv",
    ]
    lines = result.files[1].path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].startswith("6;1;10;ER;BGW-2025-00017;07.03.2025;1500,00;H;70001;3200;9;")


def test_debtor_file_lists_referenced_debtors_only(small: Path, tmp_path: Path) -> None:
    result = run(small, tmp_path / "out", config(clients=("1",), document_types=("GS",)))
    debtors = next(f for f in result.files if f.kind == "debtors")
    reader = datev_reader.read(debtors.path)
    assert (reader.category, reader.format_name, reader.format_version) == (
        16,
        "Debitoren/Kreditoren",
        5,
    )
    assert reader.column("Konto") == ["10001"]  # the creditor of booking 6 is no debtor
    no_debtors = run(small, tmp_path / "b", config(export_debtors=False))
    assert all(f.kind != "debtors" for f in no_debtors.files)
    # The creditors of the incoming bookings come without "Debitoren exportieren" too.
    assert [f.name for f in no_debtors.files if f.kind == "creditors"] == [
        "EXTF_Kreditoren_55003_20260401-063015.csv"
    ]
    creditors = datev_reader.read(no_debtors.files[2].path)
    assert creditors.category == 16 and creditors.column("Konto") == ["70001"]
    no_incoming = run(small, tmp_path / "c", config(incoming_export=False))
    assert all(f.kind != "creditors" for f in no_incoming.files)


# --------------------------------------------------------------------------- watermarks


def test_incremental_runs(small: Path, tmp_path: Path) -> None:
    stored: dict[str, int] = {}
    first = run(small, tmp_path / "1", watermarks=stored)
    assert journal_nos(first) == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert stored == {}  # export returns watermarks, never stores them
    stored.update(first.watermarks)  # "delivered": the caller commits

    second = run(small, tmp_path / "2", watermarks=stored)
    assert second.nothing_to_export
    assert second.watermarks == stored

    insert_booking(
        small,
        (10, 1, 10, "KR", "RE-2025-0004", "2025-03-10", 4900, "S", "10001", "8400", None,
         "Lesebrille", "UE", "10001", "100"),
    )  # fmt: skip
    third = run(small, tmp_path / "3", watermarks=stored)
    assert journal_nos(third) == [10]
    assert [f.name for f in third.files] == [
        "EXTF_Buchungsstapel_55003_20250310_20250310_20260401-063015.csv",
        "EXTF_Debitoren_55003_20260401-063015.csv",
    ]
    assert third.watermarks == {"1": 10, "2": 9}

    # Delivery failed: nothing committed, the same bookings go out again.
    fourth = run(small, tmp_path / "4", watermarks=stored)
    assert journal_nos(fourth) == [10]
    stored.update(fourth.watermarks)
    assert run(small, tmp_path / "5", watermarks=stored).nothing_to_export


def test_upper_bound_fixed_at_start(small: Path, tmp_path: Path) -> None:
    """A booking journaled while the export runs waits for the next run."""

    class Busy(Ledger):
        inserted = False

        def bookings(self, client_id: str, **kwargs: Any) -> Iterator[Booking]:
            if not Busy.inserted:
                Busy.inserted = True
                insert_booking(
                    small,
                    (10, 1, 10, "KR", "RE-2025-0004", "2025-03-10", 4900, "S", "10001", "8400",
                     None, "Lesebrille", "UE", "10001", "100"),
                )  # fmt: skip
            yield from super().bookings(client_id, **kwargs)

    cfg = config(clients=("1",))
    result = export(cfg, Busy(f"sqlite:///{small}"), {}, tmp_path / "a", now=NOW)
    assert Busy.inserted
    assert journal_nos(result) == [1, 2, 3, 4, 5, 6]
    assert result.watermarks == {"1": 6}
    after = run(small, tmp_path / "b", cfg, watermarks=result.watermarks)
    assert journal_nos(after) == [10]


def test_watermark_never_moves_back(small: Path, tmp_path: Path) -> None:
    result = run(small, tmp_path / "out", watermarks={"1": 500})
    assert result.watermarks["1"] == 500
    assert 1 not in journal_nos(result)


# --------------------------------------------------------------------------- read back


def test_read_back_matches_sql_per_client(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite"
    generate(path, months=14, per_day=6, seed=11, end=dt.date(2026, 2, 15))
    cfg = config(document_types=("BV", "KR", "KT", "ZA", "GS", "EA"))
    result = run(path, tmp_path / "out", cfg)
    conn = sqlite3.connect(path)
    expected = {
        str(cid): (n, debit, credit)
        for cid, n, debit, credit in conn.execute(
            "SELECT client_id, count(*),"
            " sum(CASE debit_credit WHEN 'S' THEN amount_cents ELSE 0 END),"
            " sum(CASE debit_credit WHEN 'H' THEN amount_cents ELSE 0 END)"
            " FROM bookings GROUP BY client_id"
        )
    }
    client_of = {str(no): str(cid) for cid, no in conn.execute("SELECT id, client_no FROM clients")}
    conn.close()
    found: dict[str, list[int]] = {cid: [0, 0, 0] for cid in expected}
    for f in result.files:
        if f.kind in ("debtors", "creditors"):
            continue
        reader = datev_reader.read(f.path)
        cid = client_of[str(reader.client_no)]
        debit, credit = reader.sums()
        assert (f.rows, f.debit_cents, f.credit_cents) == (len(reader.rows), debit, credit)
        found[cid][0] += len(reader.rows)
        found[cid][1] += debit
        found[cid][2] += credit
        # Every file: one fiscal year and one calendar year, dates within Datum vom/bis.
        dates = reader.document_dates()
        assert reader.date_from == min(dates) and reader.date_to == max(dates)
        assert reader.fiscal_year_start is not None
        assert reader.fiscal_year_start <= min(dates)
        assert max(dates) < reader.fiscal_year_start.replace(year=reader.fiscal_year_start.year + 1)
    assert {cid: tuple(v) for cid, v in found.items()} == expected
    # Two fiscal-year/calendar-year files per client at least (14 months, FY 07-01 too).
    assert len({f.name for f in result.files}) == len(result.files) >= 6


def test_more_than_99999_rows_are_split_into_parts(tmp_path: Path) -> None:
    path = tmp_path / "big.sqlite"
    generate(path, months=12, total=100_050, seed=5, end=dt.date(2025, 12, 31))
    conn = sqlite3.connect(path)
    with conn:  # all to one client, one branch, not incoming: one fiscal and calendar year
        conn.execute("UPDATE bookings SET client_id = 1, branch_id = 1")
        conn.execute("UPDATE bookings SET document_type = 'KR' WHERE document_type = 'ER'")
    conn.close()
    cfg = config(
        clients=("1",),
        document_types=("BV", "KR", "KT", "ZA", "GS", "EA"),
        export_debtors=False,
        incoming_export=False,
    )
    result = run(path, tmp_path / "out", cfg)
    assert [(f.name.rsplit("_", 2)[-2], f.rows) for f in result.files] == [
        ("1", 99_999),
        ("2", 51),
    ]
    for f in result.files:
        assert f.name.startswith("EXTF_")
        assert len(datev_reader.read(f.path).rows) == f.rows
    assert result.files[0].name != result.files[1].name
    assert sum(f.rows for f in result.files) == 100_050


# --------------------------------------------------------------------------- failures


BAD = (
    # emoji: no spelling in Windows-1252
    (11, 1, 10, "KR", "RE-2025-0011", "2025-03-11", 100, "S", "10001", "8400", None,
     "Brille 👓 Müller", "UE", "10001", "100"),
    # an over-long document number is never cut
    (12, 1, 10, "KR", "RE-2025-" + "0" * 30, "2025-03-11", 100, "S", "10001", "8400", None,
     "ok", "UE", "10001", "100"),
    # seven digits with Sachkontenlänge 4
    (13, 1, 10, "KR", "RE-2025-0013", "2025-03-11", 100, "S", "1234567", "8400", None,
     "ok", "UE", "10001", "100"),
    # BU-Schlüssel 2 (7 %) on the 19 % Automatikkonto 8400
    (14, 1, 10, "KR", "RE-2025-0014", "2025-03-11", 100, "S", "10001", "8400", "2",
     "ok", "UE", "10001", "100"),
)  # fmt: skip


def test_unmendable_values_fail_naming_every_journal_number(tmp_path: Path) -> None:
    path = build_small_ledger(tmp_path / "ledger.sqlite", BOOKINGS + BAD)
    out = tmp_path / "out"
    with pytest.raises(ExportError) as caught:
        run(path, out)
    assert caught.value.journal_nos == (11, 12, 13, 14)
    message = str(caught.value)
    assert "Journalnummern 11, 12, 13, 14" in message
    for field in ("Buchungstext", "Belegfeld 1", "Konto", "BU-Schlüssel"):
        assert field in message
    assert "Export abgebrochen" in message
    assert list(out.iterdir()) == []  # no files, no staging directory left


def test_error_message_caps_the_list(tmp_path: Path) -> None:
    bad = [
        (100 + i, 1, 10, "KR", f"RE-{i}", "2025-04-01", 100, "S", "123456", "8400", None, "x",
         None, None, None)
        for i in range(30)
    ]  # fmt: skip
    path = build_small_ledger(tmp_path / "ledger.sqlite", bad)
    with pytest.raises(ExportError) as caught:
        run(path, tmp_path / "out")
    assert caught.value.journal_nos == tuple(range(100, 130))
    message = str(caught.value)
    assert "… (10 weitere)" in message
    assert "129" not in message.splitlines()[0]


def test_failure_while_moving_files_removes_the_moved_ones(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real_replace = os.replace

    def flaky(src: Any, dst: Any) -> None:
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr("engine.export.os.replace", flaky)
    out = tmp_path / "out"
    with pytest.raises(OSError):
        run(small, out)
    assert list(out.iterdir()) == []


def test_unknown_client_or_branch(small: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="Mandant 7"):
        run(small, tmp_path / "a", config(clients=("1", "7")))
    with pytest.raises(ExportError, match="Filiale 99"):
        run(small, tmp_path / "b", config(branch="99"))


def test_invalid_master_data_fails_before_writing(tmp_path: Path) -> None:
    path = build_small_ledger(tmp_path / "ledger.sqlite")
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE clients SET fiscal_year_start = '13-01' WHERE id = 2")
    conn.close()
    out = tmp_path / "out"
    with pytest.raises(ExportError, match="Wirtschaftsjahres"):
        run(path, out)
    assert list(out.iterdir()) == []


# --------------------------------------------------------------------------- warnings


def test_warnings_name_journal_number_and_field(small: Path, tmp_path: Path) -> None:
    warnings = run(small, tmp_path / "out").warnings
    by = {(w.journal_no, w.field) for w in warnings}
    assert (4, "Belegfeld 1") in by  # "RE 2025/0002" -> "RE-2025/0002"
    assert (4, "Buchungstext") in by  # cut to 60
    assert (5, "Buchungstext") in by  # ı -> i
    assert (5, "BU-Schlüssel") in by  # redundant key on an Automatikkonto, left out
    text = next(w for w in warnings if (w.journal_no, w.field) == (4, "Buchungstext"))
    assert text.message.startswith("Buchungstext gekürzt auf 60 Zeichen")
    # Master data: the debtor with the long name and the one with ı, named by the first
    # exported booking that referenced them.
    assert (4, "Name (Adressattyp keine Angabe)") in by
    assert (5, "Name (Adressattyp keine Angabe)") in by
    assert all(isinstance(w, ExportWarning) for w in warnings)


def test_warnings_are_capped_but_counted(small: Path, tmp_path: Path) -> None:
    everything = run(small, tmp_path / "a").warnings
    capped = run(small, tmp_path / "b", max_warnings=2).warnings
    assert capped[:2] == everything[:2]
    summaries = capped[2:]
    assert all(w.journal_no is None for w in summaries)
    hidden = sum(int(w.message.split()[0]) for w in summaries)
    assert hidden == len(everything) - 2
    assert "weitere Warnungen" in summaries[0].message


def test_shared_client_numbers_get_the_consultant_in_the_name(tmp_path: Path) -> None:
    path = build_small_ledger(tmp_path / "ledger.sqlite")
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE clients SET client_no = 55003")
    conn.close()
    names = [f.name for f in run(path, tmp_path / "out").files]
    assert "EXTF_Buchungsstapel_29098-55003_20250303_20250306_20260401-063015.csv" in names
    assert "EXTF_Buchungsstapel_31245-55003_20251230_20251230_20260401-063015.csv" in names
    assert len(set(names)) == len(names)


# --------------------------------------------------------------------------- the format boundary

EXPORT_SOURCE = Path(__file__).resolve().parents[1] / "engine" / "export.py"


def test_the_exporter_knows_no_format_rule_and_no_booking_positions() -> None:
    """engine/export.py groups bookings by the period the format declares and reads them by
    field name: it names no format, no fiscal-year rule, and indexes no booking tuple."""
    source = EXPORT_SOURCE.read_text(encoding="utf-8")
    for word in ("datev", "lexware", "fiscal", "wirtschaftsjahr", "ttmm"):
        assert word not in source.lower(), word
    tree = ast.parse(source)
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    # The registry and the built-in declarations (the default format's name), no writer.
    assert {m for m in modules if m.startswith("engine.formats.")} == {"engine.formats.builtin"}
    indexed = [
        ast.unparse(n)
        for n in ast.walk(tree)
        if isinstance(n, ast.Subscript)
        and isinstance(n.value, ast.Name)
        and "booking" in n.value.id.lower()
    ]
    assert indexed == []


class _DayFormat:
    """A plug-in-like format with its own split: one file per document date."""

    encoding = "utf-8"
    max_rows = None

    def __init__(self, *, mandant: str, **_: object) -> None:
        self.mandant = mandant
        self.periods: list[object] = []

    def row_writer(self, fh: Any) -> Any:
        return csv.writer(fh, lineterminator="\n")

    def booking_row(self, booking: Booking, report: Any) -> list[Any]:
        return [booking.journal_no, booking.document_date.isoformat()]

    def partner_rows(self, *args: Any) -> list[list[Any]]:
        raise AssertionError("kinds: no master data")

    def file_name(self, info: FileInfo) -> str:
        self.periods.append(info.period)
        return f"tage_{self.mandant}_{info.kind}_{info.period}.csv"

    def file_head(self, info: FileInfo) -> bytes:
        return b"journal,date\n"


def _by_day(client: Client) -> Callable[[dt.date], dt.date]:
    return lambda day: day


def test_a_format_declares_its_own_split(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = FormatSpec(name="tage", label="Tagesdateien (Test)", writer=_DayFormat,
                      file_periods=_by_day)  # fmt: skip
    monkeypatch.setitem(REGISTRY.formats, "tage", spec)
    cfg = config(format="tage", incoming_format="tage", export_debtors=False)
    result = run(small, tmp_path / "out", cfg)
    assert [f.name for f in result.files] == [
        "tage_55003_bookings_2025-03-03.csv",
        "tage_55003_bookings_2025-03-04.csv",
        "tage_55003_bookings_2025-03-05.csv",
        "tage_55003_bookings_2025-03-06.csv",
        "tage_55003_incoming_2025-03-07.csv",
        "tage_10020_bookings_2025-12-30.csv",
        "tage_10020_bookings_2026-01-02.csv",
    ]
    assert all(f.date_from == f.date_to for f in result.files)
    assert [f.rows for f in result.files] == [2, 1, 1, 1, 1, 1, 2]
    last = result.files[-1].path.read_text(encoding="utf-8").splitlines()
    assert last == ["journal,date", "8,2026-01-02", "9,2026-01-02"]


def test_the_period_rule_of_datev_and_lexware() -> None:
    client = Client("2", "x", 31245, 10020, "07-01", 4, "SKR04", True)
    for name in ("datev", "lexware"):
        period = REGISTRY.formats[name].periods(client)
        assert period is not None
        assert period(dt.date(2025, 12, 30)) == FiscalPeriod(dt.date(2025, 7, 1), 2025)
        assert period(dt.date(2026, 1, 2)) == FiscalPeriod(dt.date(2025, 7, 1), 2026)
        assert period(dt.date(2026, 7, 1)) == FiscalPeriod(dt.date(2026, 7, 1), 2026)
    for name in ("csv", "csv-rfc4180"):
        assert REGISTRY.formats[name].periods(client) is None


def test_a_writer_of_the_older_protocol_still_splits_by_year() -> None:
    """Plug-ins written before `file_periods` said `split_by_year = True` on the writer."""

    class Old(_DayFormat):
        split_by_year = True

    client = Client("2", "x", 31245, 10020, "07-01", 4, "SKR04", True)
    period = FormatSpec(name="alt", label="Alt", writer=Old).periods(client)
    assert period is not None
    assert period(dt.date(2026, 1, 2)) == fiscal_and_calendar_year(client)(dt.date(2026, 1, 2))
    info = FileInfo("bookings", period(dt.date(2026, 1, 2)), None, None, None, 1)
    assert info.fiscal_year_start == dt.date(2025, 7, 1)
    assert FormatSpec(name="neu", label="Neu", writer=_DayFormat).periods(client) is None
