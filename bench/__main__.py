"""Run the benchmarks: `python -m bench [--quick] [NAME ...]` (`make bench` runs them all).

Benchmarks: ledger_demo, export_datev (if present), export_anchor, transfer, daemon, tui,
journal, then any other module of bench/ that runs as a script (`if __name__ == "__main__"`),
by name (config_reload, …; HELPERS such as the export anchor script are not benchmarks). Each
benchmark runs as its own child process (`python -m bench.NAME`), one after the other,
so none inherits another's memory, threads or page-cache warmth in its own process. Its
report is shown as it comes; at the end a summary table lists every figure against its
target with ✓ / ✗.

Figures come from the `BENCH-RESULT {json}` lines the benchmarks print (bench/common.py);
for benchmarks that print none, from their text: ledger_demo's "… Buchungen in S s" and
any line of the form "Name: value unit (Ziel …) OK|VERFEHLT" (export_datev).

--quick: smaller sizes for a smoke check (ledger_demo and export_datev with 100,000 rows,
ledger_demo's time projected to 1,000,000; the others get `--quick`: transfer 16 MiB,
daemon 30 s idle, journal 300,000 bookings).

Exit code: 0 every target met, 1 a target missed, 2 a benchmark failed or timed out.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import RESULT_PREFIX, ROOT, Figure, mark, parse_results, table

HERE = Path(__file__).resolve().parent
ORDER = ("ledger_demo", "export_datev", "export_anchor", "transfer", "daemon", "tui", "journal")
#: scripts of bench/ that other benchmarks run, not benchmarks themselves
HELPERS = ("anchor_export",)
QUICK_ROWS = 100_000
FULL_ROWS = 1_000_000
LEDGER_TARGET_S = 30.0  # bench/ledger_demo.py: "well under 30 s on a 2-core machine"
TIMEOUT_S = {
    "ledger_demo": 600.0,
    "export_datev": 1800.0,
    "export_anchor": 1800.0,
    "transfer": 600.0,
    "daemon": 900.0,
    "tui": 600.0,
    "journal": 1800.0,  # 3,000,000 bookings: ~10 min
}
DEFAULT_TIMEOUT_S = 900.0  # another module of bench/


@dataclass
class Outcome:
    name: str
    code: int | None  # None: timed out and killed
    seconds: float
    figures: list[Figure]
    traceback: bool = False  # the child died of an exception (exit code 1 as well)

    @property
    def failed(self) -> bool:
        """Crashed or timed out; 1 alone is a benchmark's "target missed"."""
        return self.code not in (0, 1) or self.traceback or (self.code == 1 and not self.figures)


def available() -> list[str]:
    """The known benchmarks in ORDER, then any other runnable module of bench/ by name."""
    known = [name for name in ORDER if (HERE / f"{name}.py").exists()]
    others = sorted(
        path.stem
        for path in HERE.glob("*.py")
        if path.stem not in (*ORDER, *HELPERS, "__init__", "__main__", "common")
        and '__name__ == "__main__"' in path.read_text(encoding="utf-8", errors="replace")
    )
    return known + others


def child_args(name: str, quick: bool) -> list[str]:
    if not quick:
        return []
    if name in ("ledger_demo", "export_datev"):
        return [str(QUICK_ROWS)]
    return ["--quick"]


def run_child(name: str, quick: bool) -> Outcome:
    argv = [sys.executable, "-m", f"bench.{name}", *child_args(name, quick)]
    print(f"\n=== {name}: {' '.join(argv[1:])}", flush=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, name=f"bench-{name}", daemon=True)
    reader.start()
    output: list[str] = []
    limit = TIMEOUT_S.get(name, DEFAULT_TIMEOUT_S) * (0.5 if quick else 1.0)
    deadline = started + limit
    timed_out = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        try:
            line = lines.get(timeout=min(remaining, 1.0))
        except queue.Empty:
            continue
        if line is None:
            break
        output.append(line)
        if not line.startswith(RESULT_PREFIX):
            print(line, end="", flush=True)
    if timed_out:
        print(f"!!! {name}: nach {limit:g} s abgebrochen", flush=True)
        proc.kill()
    code = proc.wait(30)
    reader.join(5)
    if proc.stdout is not None:
        proc.stdout.close()
    text = "".join(output)
    figures = parse_results(text) or text_figures(name, text, quick)
    return Outcome(
        name,
        None if timed_out else code,
        time.monotonic() - started,
        figures,
        traceback="Traceback (most recent call last)" in text,
    )


_SECONDS = re.compile(r"ledger demo: ([\d,.]+) Buchungen in ([\d.]+) s")
_TARGET_LINE = re.compile(
    r"^(?P<name>[^:\n]+): (?P<value>[\d.,]+) ?(?P<unit>[^\s(]*) \(Ziel (?P<target>[^)]+)\) "
    r"(?P<verdict>OK|VERFEHLT)\s*$",
    re.MULTILINE,
)


def text_figures(name: str, text: str, quick: bool) -> list[Figure]:
    """Figures of a benchmark that prints no BENCH-RESULT lines."""
    figures: list[Figure] = []
    match = _SECONDS.search(text)
    if match:
        rows = int(re.sub(r"[,.]", "", match.group(1)))
        seconds = float(match.group(2))
        projected = seconds * FULL_ROWS / rows if rows else float("nan")
        figures.append(
            Figure(
                bench=name,
                name="1.000.000 Demo-Buchungen schreiben",
                value=projected,
                unit="s",
                target=f"< {LEDGER_TARGET_S:g} s",
                ok=projected < LEDGER_TARGET_S,
                note=f"hochgerechnet aus {rows:,} in {seconds:.2f} s".replace(",", ".")
                if rows != FULL_ROWS
                else "",
            )
        )
    for m in _TARGET_LINE.finditer(text):
        value = float(m.group("value").replace(",", "."))
        figures.append(
            Figure(
                bench=name,
                name=m.group("name").strip(),
                value=value,
                unit=m.group("unit"),
                target=m.group("target").strip(),
                ok=m.group("verdict") == "OK",
                note=f"{QUICK_ROWS:,} Zeilen".replace(",", ".") if quick else "",
            )
        )
    return figures


def summary(outcomes: list[Outcome]) -> str:
    rows: list[list[str]] = []
    for outcome in outcomes:
        for f in outcome.figures:
            rows.append([f.bench, f.name, f.shown(), f.target or "–", mark(f.ok), f.note])
        if outcome.failed:
            status = "abgebrochen (Zeit)" if outcome.code is None else f"Exit-Code {outcome.code}"
            if outcome.traceback:
                status += ", Ausnahme (siehe oben)"
            rows.append([outcome.name, status, "–", "–", "✗", ""])
        elif not outcome.figures:
            rows.append([outcome.name, "keine Messwerte erkannt", "–", "–", "–", ""])
    return table(["Benchmark", "Messgröße", "Wert", "Ziel", "", "Hinweis"], rows, align="llrrll")


def main(argv: list[str] | None = None) -> int:
    names = available()
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="buchex benchmarks, each in its own process"
    )
    parser.add_argument("--quick", action="store_true", help="kleinere Größen (Rauchtest)")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"Auswahl aus {', '.join(names)}")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in names]
    if unknown:
        parser.error(f"unbekannt: {', '.join(unknown)} (vorhanden: {', '.join(names)})")
    selected = [n for n in names if n in args.names] if args.names else names

    started = time.monotonic()
    outcomes = [run_child(name, args.quick) for name in selected]
    print(f"\n=== Zusammenfassung ({'--quick, ' if args.quick else ''}"
          f"{time.monotonic() - started:.0f} s, {os.cpu_count()} Kerne)")  # fmt: skip
    print(summary(outcomes))
    if any(o.failed for o in outcomes):
        return 2
    missed = any(f.ok is False for o in outcomes for f in o.figures)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
