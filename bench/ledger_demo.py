"""Benchmark: write 1,000,000 demo bookings (`python -m bench.ledger_demo [N]`).

Target (SPEC / issue): well under 30 s on a 2-core machine, aim < 15 s.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from engine.ledger_demo import generate

ROWS = 1_000_000


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    rows = int(args[0]) if args else ROWS
    with tempfile.TemporaryDirectory(prefix="buchex-bench-") as tmp:
        path = Path(tmp) / "ledger.sqlite"
        started = time.perf_counter()
        summary = generate(path, months=24, total=rows, seed=1, end=date(2026, 3, 31))
        seconds = time.perf_counter() - started
        size = path.stat().st_size
    print(f"ledger demo: {summary.bookings:,} Buchungen in {seconds:.2f} s")
    print(f"  {summary.bookings / seconds:,.0f} Buchungen/s")
    print(
        f"  Dateigröße {size / 1_000_000:.1f} MB ({size / max(summary.bookings, 1):.0f} B/Buchung)"
    )
    print(f"  Zeitraum {summary.first_date} … {summary.last_date}, {summary.partners} Partner")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
