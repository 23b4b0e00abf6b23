"""Benchmark: re-reading 1000 configs after one edit (`python -m bench.config_reload [--quick]`).

Issue 15, target 5 (first part): a daemon reload after one edit costs ≤ 10 ms CPU with 1000
configs. What the daemon does on a store change (engine/daemon.py `_reload`) is
`Workspace.time_zone()` and `Workspace.list_configs()`; this measures exactly those two calls,
in this process, on a second `Workspace` of the same data directory (as the daemon's is),
after another `Workspace` saved one edited config (as the TUI or CLI would).

- A temporary data directory with small demo books, time zone Europe/Berlin and the 1000
  configs of `bench/daemon.py` (`build_configs`: FTP targets that are never contacted).
- The reader's caches are warmed (first reload, not counted); then 9 edits (5 `--quick`),
  each a new time of day for another config, each followed by the reload, timed with
  `time.process_time()` (CPU of this process: the JSON read of the store, the configs that
  changed parsed again, the time zone). Figure: the median (target ≤ 10 ms), and the max.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.common import FTP_PASSWORD, FTP_USER, HOST, Figure, emit

BENCH = "config_reload"
CONFIGS = 1000
EDITS = 9
TARGET_MS = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.config_reload")
    parser.add_argument("--quick", action="store_true", help="5 Änderungen statt 9")
    args = parser.parse_args(argv)
    edits = 5 if args.quick else EDITS

    from bench.daemon import build_configs, make_home
    from engine.paths import DataDir
    from engine.workspace import Workspace

    server: Any = SimpleNamespace(host=HOST, port=2121, user=FTP_USER, password=FTP_PASSWORD)
    raws = build_configs(server, CONFIGS)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="buchex-bench-reload-") as tmp:
        home = Path(tmp) / "home"
        writer = make_home(home)
        writer.save_configs(raws)
        reader = Workspace(DataDir.open(str(home)))
        reader.time_zone()
        assert len(reader.list_configs()) == len(raws)
        costs: list[float] = []
        for i in range(edits):
            raw = dict(raws[-1 - i])
            raw["time"] = f"{8 + i % 10:02d}:{17 + i:02d}"
            writer.save_configs([raw])
            started = time.process_time()
            reader.time_zone()
            configs = reader.list_configs()
            costs.append((time.process_time() - started) * 1000)
            changed = next(c for c in configs if c.id == raw["id"])
            assert f"{changed.time}"[:5] == raw["time"], (changed.time, raw["time"])
    median = statistics.median(costs)
    load = " / ".join(f"{v:.2f}" for v in load_before)
    print(
        f"Neu einlesen nach einer Änderung, {CONFIGS} Schnittstellen, {edits} Änderungen: "
        f"Median {median:.1f} ms CPU, max {max(costs):.1f} ms "
        f"({', '.join(f'{c:.1f}' for c in costs)}); Last vorher {load}"
    )
    emit(
        Figure(
            BENCH,
            f"Neu einlesen nach 1 Änderung ({CONFIGS} Schnittstellen), CPU-Median",
            median,
            "ms",
            f"≤ {TARGET_MS:g} ms",
            median <= TARGET_MS,
            f"max {max(costs):.1f} ms, Last {load}",
            1,
        )
    )
    return 0 if median <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
