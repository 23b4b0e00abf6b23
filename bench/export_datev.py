"""Benchmark: buchex's DATEV export against a bare csv.writer (`python -m bench.export_datev`).

Generates 1,000,000 demo bookings (`engine.ledger_demo.generate(total=...)`), then times,
each in its own child process so peak memory is the step's own:

(a) `engine.export.export()` of all of them (every client, all document types, incoming
    bookings too) in DATEV-Format to a temporary directory;
(b) a bare `csv.writer` writing the same 125-column rows: read from the same ledger via
    `Ledger.bookings`, mapped to the same values, no validation, no mending, no file
    planning (one file per client, encoding errors replaced).

Targets (issue): wall time (a) / (b) <= 1.5, peak RSS of (a) <= 150 MB. Peak RSS is the
child's VmHWM from /proc/self/status (Linux), else getrusage(RUSAGE_SELF).ru_maxrss.

Usage: python -m bench.export_datev [ROWS] [--repeat N] (default 1,000,000 rows, 1 run;
with --repeat the best time of N runs each is reported).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

ROWS = 1_000_000
TARGET_RATIO = 1.5
TARGET_RSS_MB = 150.0


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _config() -> Any:
    from engine.config import ExportConfig

    return ExportConfig(
        id="bench",
        name="Benchmark",
        clients=("1", "2"),
        document_types=("BV", "KR", "KT", "ZA", "GS", "EA"),
        format="datev",
        incoming_export=True,
        incoming_format="datev",
        export_debtors=False,
    )


def child_export(ledger_path: Path, out: Path) -> dict[str, Any]:
    from engine.export import export
    from engine.ledger import Ledger

    ledger = Ledger(f"sqlite:///{ledger_path}")
    started = time.perf_counter()
    result = export(_config(), ledger, {}, out, now=datetime(2026, 4, 1, 6, 30))
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": sum(f.rows for f in result.files),
        "files": len(result.files),
        "bytes": sum(f.size for f in result.files),
        "warnings": len(result.warnings),
        "peak_mb": _peak_rss_mb(),
    }


def child_baseline(ledger_path: Path, out: Path) -> dict[str, Any]:
    from engine.formats.datev import BARE_EMPTY, BS, I_INFO, I_INFO_ART, Bare, DatevDialect
    from engine.formats.datev import I_BELEGDATUM as DAT
    from engine.formats.datev import I_BELEGFELD1 as BF1
    from engine.formats.datev import I_BU as BU
    from engine.formats.datev import I_GEGENKONTO as GK
    from engine.formats.datev import I_KONTO as KTO
    from engine.formats.datev import I_KOST1 as KOST
    from engine.formats.datev import I_SH as SH
    from engine.formats.datev import I_TEXT as TXT
    from engine.formats.datev import I_UMSATZ as UMS
    from engine.ledger import Ledger

    ledger = Ledger(f"sqlite:///{ledger_path}")
    started = time.perf_counter()
    catalog = ledger.catalog()
    types = {code: t.name for code, t in catalog.document_types.items()}
    branches = {b.id: b.name for b in catalog.branches.values()}
    methods = {code: m.name for code, m in catalog.payment_methods.items()}
    template: list[Any] = ["" if c.quoted else BARE_EMPTY for c in BS]
    template[I_INFO_ART[0]], template[I_INFO_ART[1]] = "Journalnummer", "Belegart"
    template[I_INFO_ART[2]] = "Filiale"
    rows = 0
    out.mkdir(parents=True, exist_ok=True)
    for client_id in catalog.clients:
        path = out / f"baseline_{client_id}.csv"
        with open(path, "w", encoding="cp1252", errors="replace", newline="") as fh:
            writerow = csv.writer(fh, DatevDialect).writerow
            for b in ledger.bookings(client_id):
                row = template.copy()
                euros, cents = divmod(b.amount_cents, 100)
                row[UMS] = Bare(f"{euros},{cents:02d}")
                row[SH] = b.debit_credit
                row[KTO] = Bare(b.account)
                row[GK] = Bare(b.contra_account)
                row[BU] = b.tax_key or ""
                row[DAT] = Bare(f"{b.document_date.day:02d}{b.document_date.month:02d}")
                row[BF1] = b.document_no
                row[TXT] = b.text or ""
                row[KOST] = b.cost_center or ""
                row[I_INFO[0]] = str(b.journal_no)
                row[I_INFO[1]] = types[b.document_type]
                row[I_INFO[2]] = branches[b.branch_id]
                if b.payment_method is not None:
                    row[I_INFO_ART[3]] = "Zahlungsart"
                    row[I_INFO[3]] = methods[b.payment_method]
                writerow(row)
                rows += 1
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": rows, "peak_mb": _peak_rss_mb()}


def _run_child(step: str, ledger_path: Path, out: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.export_datev", "--child", step, str(ledger_path), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{step} failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export_datev")
    parser.add_argument("rows", nargs="?", type=int, default=ROWS)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", nargs=3, metavar=("STEP", "LEDGER", "OUT"))
    args = parser.parse_args(argv)

    if args.child:
        step, ledger_path, out = args.child
        fn = child_export if step == "export" else child_baseline
        print(json.dumps(fn(Path(ledger_path), Path(out))))
        return 0

    from engine.ledger_demo import generate

    with tempfile.TemporaryDirectory(prefix="buchex-bench-export-") as tmp:
        ledger_path = Path(tmp) / "ledger.sqlite"
        started = time.perf_counter()
        summary = generate(ledger_path, months=24, total=args.rows, seed=1, end=date(2026, 3, 31))
        print(
            f"Demo-Buchhaltung: {summary.bookings:,} Buchungen in "
            f"{time.perf_counter() - started:.1f} s".replace(",", ".")
        )
        best: dict[str, dict[str, Any]] = {}
        for i in range(args.repeat):
            for step in ("baseline", "export"):
                out = Path(tmp) / f"{step}-{i}"
                result = _run_child(step, ledger_path, out)
                if step not in best or result["seconds"] < best[step]["seconds"]:
                    best[step] = result
                for path in out.iterdir():  # keep the disk footprint small between runs
                    os.unlink(path)
        exp, base = best["export"], best["baseline"]
    ratio = exp["seconds"] / base["seconds"]

    def de(n: float) -> str:  # German thousands separator
        return f"{n:,.0f}".replace(",", ".")

    rows = [
        ("Schritt", "Zeilen", "Zeit s", "Zeilen/s", "Spitze RSS MB"),
        (
            "csv.writer (bare)",
            de(base["rows"]),
            f"{base['seconds']:.2f}",
            de(base["rows"] / base["seconds"]),
            f"{base['peak_mb']:.0f}",
        ),
        (
            "buchex DATEV-Export",
            de(exp["rows"]),
            f"{exp['seconds']:.2f}",
            de(exp["rows"] / exp["seconds"]),
            f"{exp['peak_mb']:.0f}",
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print(
            "  ".join(
                [
                    r[0].ljust(widths[0]),
                    *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)),
                ]
            )
        )
    print(
        f"Verhältnis Export/csv.writer: {ratio:.2f} (Ziel ≤ {TARGET_RATIO}) "
        f"{'OK' if ratio <= TARGET_RATIO else 'VERFEHLT'}"
    )
    print(
        f"Spitze RSS Export: {exp['peak_mb']:.0f} MB (Ziel ≤ {TARGET_RSS_MB:.0f} MB) "
        f"{'OK' if exp['peak_mb'] <= TARGET_RSS_MB else 'VERFEHLT'}"
    )
    print(
        f"Export: {exp['files']} Dateien, {exp['bytes'] / 1e6:.0f} MB, "
        f"{exp['warnings']} Warnungen (ab 1.000 je Feld zusammengefasst)"
    )
    ok = ratio <= TARGET_RATIO and exp["peak_mb"] <= TARGET_RSS_MB
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
