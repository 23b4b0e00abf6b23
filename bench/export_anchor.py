"""Benchmark: `buchex export` against an independent anchor, whole processes side by side
(`python -m bench.export_anchor [--quick] [--rows N …] [--pairs N] [--keep DIR]`).

Issue 15, target 1: the DATEV export at most 1.5× the time of a bare script that reads the
same rows with stdlib `sqlite3` and writes 125-column DATEV-shaped rows with `csv.writer`
(cp1252), at 1,000,000 and 3,000,000 bookings; buchex's peak RSS at most 100 MB.

- The anchor is `bench/anchor_export.py` (module docstring there): it imports no buchex
  code, so nothing buchex makes slower or faster changes the yardstick. (The older
  `bench/export_datev.py` baseline reads through buchex's own `Ledger.bookings`.)
- Data: a temporary data directory per size with demo bookings
  (`engine.ledger_demo.generate(months=24, total=N, seed=1, end=2026-03-31)`) and the
  config `stb` of `bench/journal.py` (every client, every outgoing document type, incoming
  bookings into their own files, all DATEV-Format).
- buchex: `python -m engine --home HOME export stb --out DIR` (no journal writes); anchor:
  `python bench/anchor_export.py HOME/ledger.sqlite DIR`. Each a whole process, wall time
  from spawn to exit, peak RSS = the child's VmHWM sampled every 10 ms (not ru_maxrss: the
  child inherits the parent's at fork). Pairs alternate the order (AB, BA, AB, …) so a busy
  neighbour or page-cache write-back hits both alike; output directories are removed
  after each run (not timed).
- Checked once per size: both wrote the same number of booking rows, and in the first
  2,000 rows of the first file of client 1 the lines agree except where buchex mended a
  value (transliterated or shortened text; the anchor replaces and cuts instead).
- Figures per size: medians, the ratio buchex / anchor (target ≤ 1.5), µs per row, peak RSS
  (buchex target ≤ 100 MB; the anchor's for information), and the load average before and
  after.

Default: 1,000,000 rows, 3 pairs (~1 min); `--rows 1000000 3000000` for both sizes
(~5 min); `--quick`: 100,000 rows, 2 pairs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT, Figure, emit, mark, median, status_kb, table

BENCH = "export_anchor"
ROWS = (1_000_000,)
QUICK_ROWS = (100_000,)
PAIRS = 3
TARGET_RATIO = 1.5
TARGET_RSS_MB = 100.0
TIMEOUT_S = 900.0
CHECK_LINES = 2000
ANCHOR = Path(__file__).resolve().parent / "anchor_export.py"


class BenchFailed(Exception):
    pass


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu: float  # user + system seconds of the child (wait4), less sensitive to load
    peak_mb: float
    stdout: str


def run_process(argv: list[str], *, timeout: float = TIMEOUT_S) -> Run:
    """A whole process: wall time spawn → exit (a thread blocks in wait4), VmHWM sampled
    every 10 ms (the last reading counts: it only grows)."""
    reaped: list[tuple[int, float, float]] = []
    peak_kb = 0
    os.sync()  # not timed: the last run's dirty pages go out before this one starts
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )

        def reap() -> None:
            _pid, status, usage = os.wait4(proc.pid, 0)
            reaped.append((status, time.perf_counter(), usage.ru_utime + usage.ru_stime))

        waiter = threading.Thread(target=reap, name="bench-wait4", daemon=True)
        waiter.start()
        deadline = time.monotonic() + timeout
        while waiter.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(OSError, KeyError, ValueError):  # exiting: no mm
                peak_kb = max(peak_kb, status_kb(proc.pid, "VmHWM"))
            waiter.join(0.01)
        if waiter.is_alive():
            proc.kill()
            waiter.join(30)
            raise BenchFailed(f"{' '.join(argv[1:])}: nach {timeout:g} s abgebrochen")
        status, ended, cpu = reaped[0]
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise BenchFailed(f"{' '.join(argv[1:])}: Exit-Code {proc.returncode}\n{text[-3000:]}")
    return Run(ended - started, cpu, peak_kb / 1024, text)


def buchex_argv(home: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "engine", "--home", str(home), "export", "stb", "--out", str(out)]


def anchor_argv(home: Path, out: Path) -> list[str]:
    return [sys.executable, str(ANCHOR), str(home / "ledger.sqlite"), str(out)]


def booking_rows(out: Path) -> int:
    """Data lines of the Buchungsstapel files in `out` (each file: header + headings)."""
    total = 0
    for path in out.glob("EXTF_Buchungsstapel_*.csv"):
        with path.open("rb") as fh:
            total += sum(1 for _ in fh) - 2
    return total


def first_lines(path: Path, n: int) -> list[bytes]:
    with path.open("rb") as fh:
        fh.readline(), fh.readline()
        return [fh.readline() for _ in range(n)]


def agreement(buchex_out: Path, anchor_out: Path, client_no: str) -> float:
    """Share of equal lines among the first CHECK_LINES rows of client `client_no`'s
    first outgoing file (buchex splits by fiscal year: its first file starts the same)."""
    ours = sorted(buchex_out.glob(f"EXTF_Buchungsstapel_{client_no}_*.csv"))
    theirs = anchor_out / f"EXTF_Buchungsstapel_{client_no}.csv"
    if not ours or not theirs.exists():
        return 0.0
    a, b = first_lines(ours[0], CHECK_LINES), first_lines(theirs, CHECK_LINES)
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def load() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def measure(rows: int, pairs: int, tmp: Path, keep: Path | None) -> list[Figure]:
    from bench.journal import make_home

    home = (keep / f"home-{rows}") if keep else tmp / "home"
    if not (home / "ledger.sqlite").exists():
        facts = make_home(home, rows)
        print(f"Demo-Buchhaltung: {facts['bookings']:,} Buchungen in {facts['seconds']:.1f} s")
    client_no = _first_client_no(home / "ledger.sqlite")
    load_before = load()
    runs: dict[str, list[Run]] = {"buchex": [], "anchor": []}
    checked: dict[str, float] = {}
    for pair in range(pairs):
        order = ("buchex", "anchor") if pair % 2 == 0 else ("anchor", "buchex")
        outs = {name: tmp / f"out-{name}" for name in order}
        for name in order:
            argv = (buchex_argv if name == "buchex" else anchor_argv)(home, outs[name])
            run = run_process(argv)
            runs[name].append(run)
            print(
                f"  Paar {pair + 1}: {name:6s} {run.seconds:7.2f} s  CPU {run.cpu:6.2f} s  "
                f"{run.peak_mb:5.0f} MB"
            )
        if pair == 0:
            anchor_rows = json.loads(runs["anchor"][0].stdout.strip().splitlines()[-1])["rows"]
            ours = booking_rows(outs["buchex"])
            if ours != rows or anchor_rows != rows:
                raise BenchFailed(f"Zeilen: buchex {ours}, Anker {anchor_rows}, erwartet {rows}")
            checked["agree"] = agreement(outs["buchex"], outs["anchor"], client_no)
        for out in outs.values():
            shutil.rmtree(out, ignore_errors=True)
    load_after = load()
    ours_s = median([r.seconds for r in runs["buchex"]])
    anchor_s = median([r.seconds for r in runs["anchor"]])
    ratio = ours_s / anchor_s
    ours_cpu = median([r.cpu for r in runs["buchex"]])
    anchor_cpu = median([r.cpu for r in runs["anchor"]])
    pair_ratios = [
        a.seconds / b.seconds for a, b in zip(runs["buchex"], runs["anchor"], strict=True)
    ]
    ours_mb = max(r.peak_mb for r in runs["buchex"])
    anchor_mb = max(r.peak_mb for r in runs["anchor"])
    size = f"{rows:,}".replace(",", ".")
    print(
        table(
            ["", "Median s", "CPU s", "µs/Zeile", "Spitze RSS MB"],
            [
                [
                    "buchex export",
                    f"{ours_s:.2f}",
                    f"{ours_cpu:.2f}",
                    f"{ours_s / rows * 1e6:.1f}",
                    f"{ours_mb:.0f}",
                ],
                [
                    "Anker",
                    f"{anchor_s:.2f}",
                    f"{anchor_cpu:.2f}",
                    f"{anchor_s / rows * 1e6:.1f}",
                    f"{anchor_mb:.0f}",
                ],
            ],
            align="lrrrr",
        )
    )
    print(
        f"{size} Zeilen, {pairs} Paare; gleiche Zeilen (erste {CHECK_LINES}): "
        f"{checked['agree']:.0%}; Last vorher {load_before}, nachher {load_after}"
    )
    note = f"{size} Zeilen, Last {load_before} → {load_after}"
    figures = [
        Figure(
            BENCH,
            f"Export / Anker bei {size} ({ours_s:.2f} / {anchor_s:.2f} s)",
            ratio,
            "",
            f"≤ {TARGET_RATIO}",
            ratio <= TARGET_RATIO,
            note,
        ),
        Figure(
            BENCH,
            f"CPU-Zeit Export / Anker bei {size} ({ours_cpu:.2f} / {anchor_cpu:.2f} s)",
            ours_cpu / anchor_cpu,
            "",
            "",
            None,
            "Paare (Wandzeit): " + ", ".join(f"{r:.2f}" for r in pair_ratios),
        ),
        Figure(
            BENCH,
            f"Spitze RSS Export bei {size}",
            ours_mb,
            "MB",
            f"≤ {TARGET_RSS_MB:.0f} MB",
            ours_mb <= TARGET_RSS_MB,
            f"Anker {anchor_mb:.0f} MB",
            0,
        ),
    ]
    print(f"Verhältnis {mark(ratio <= TARGET_RATIO)} {ratio:.2f}")
    return figures


def _first_client_no(ledger: Path) -> str:
    import sqlite3

    db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
    try:
        return str(db.execute("SELECT client_no FROM clients ORDER BY id").fetchone()[0])
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export_anchor")
    parser.add_argument("--quick", action="store_true", help="100.000 Zeilen, 2 Paare")
    parser.add_argument("--rows", type=int, nargs="+", default=None, help="Größen (Zeilen)")
    parser.add_argument("--pairs", type=int, default=None, help=f"Paare (Standard {PAIRS})")
    parser.add_argument(
        "--keep", type=Path, default=None, help="Datenverzeichnisse hier anlegen und behalten"
    )
    args = parser.parse_args(argv)
    sizes = args.rows or (QUICK_ROWS if args.quick else ROWS)
    pairs = args.pairs or (2 if args.quick else PAIRS)
    figures: list[Figure] = []
    try:
        for rows in sizes:
            with tempfile.TemporaryDirectory(prefix="buchex-bench-anchor-") as tmp:
                figures += measure(rows, pairs, Path(tmp), args.keep)
    except BenchFailed as exc:
        print(f"!!! {exc}", flush=True)
        return 2
    for figure in figures:
        emit(figure)
    return 0 if all(f.ok is not False for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
