"""Benchmark: the scheduler daemon with 1000 configs (`python -m bench.daemon [--quick]`).

Issue: "a daemon with 1000 configs: idle CPU over 60 s (target < 1 %), peak RSS (target
< 80 MB), median delay from due time to run start (target < 1 s), and time to pick up an
edited config (target < 2 s)".

Set-up: a temporary data directory with small demo books (`ledger_demo.generate(months=1,
per_day=5)`), time zone Europe/Berlin, no SMTP (so no failure mails), and 1000 valid
configs whose targets point at one pyftpdlib FTP server on 127.0.0.1 (its own process),
so runs succeed quickly:

- 50 hourly configs (every 60 minutes: due 06:00, 07:00, …) — the burst at 07:00;
- 2 × 50 daily configs at 07:20 and at 07:40 — two more bursts;
- 5 daily configs at 06:40, 06:43, … 06:52 — lone due times;
- 845 daily configs spread over 08:01–21:59 (never on the full hour).

`python -m tests.daemon_clock --clock-file FILE --home DIR daemon` (the `buchex daemon`
command with a FileClock injected; tests/daemon_clock.py) runs as a child process: its
"now" is the moment in that file. The clock starts at 2026-11-24 06:30 (nothing due).
Log lines on its stderr are timestamped (monotonic) by a reader thread as they arrive.

1. idle CPU: utime+stime from /proc/<pid>/stat over 60 s (30 s with --quick), clock
   standing still at 06:30, after a 3 s settle → percent of one core.
2. pick-up of an edited config: `Workspace.save_config` with a new time for one config;
   time from the save's return to the daemon's line "<id> (…) geplant, nächste Ausführung
   <new time>"; 5 edits (3 with --quick) at random phases of the 1 s poll, median.
3. lone due times: clock set to 06:40, 06:43, …; time from the clock write to the line
   "Lauf für <id> (…) beginnt"; median (information: the poll interval's share).
4. bursts: clock set to 07:00:00, then 07:20:00, then 07:40:00, 50 configs due at once
   each time (after a random wait, so the write falls at a random phase of the poll);
   time from the clock write to each "Lauf für … beginnt" line; median over all 150 (the
   target figure) and max. Every run must finish (log line + run record ok/nothing).
5. peak RSS: VmHWM from /proc/<pid>/status after all of that.
6. SIGTERM: the daemon must exit with 0.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    ChildFTP,
    Figure,
    cpu_seconds,
    emit,
    ftp_server_process,
    mark,
    median,
    status_kb,
    stop_process,
    table,
)

CONFIGS = 1000
BURST = 50  # configs due at the same moment, in each of the bursts below
# (due time, config id prefix): the hourly configs at 07:00, two groups of daily ones
BURSTS = (("07:00", "h"), ("07:20", "a"), ("07:40", "b"))
SOLO_TIMES = ("06:40", "06:43", "06:46", "06:49", "06:52")
EDIT_ID = "d0000"
BERLIN = dt.timezone(dt.timedelta(hours=1))  # 24 Nov: CET, as Europe/Berlin
DAY = dt.datetime(2026, 11, 24, tzinfo=BERLIN)
IDLE_AT = DAY.replace(hour=6, minute=30)

TARGET_IDLE_CPU = 1.0  # %
TARGET_RSS_MB = 80.0
TARGET_DELAY_S = 1.0
TARGET_PICKUP_S = 2.0

START_TIMEOUT_S = 120.0
WAIT_S = 30.0  # one edit or one lone run
BURST_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0


def at(hhmm: str) -> dt.datetime:
    hh, mm = hhmm.split(":")
    return DAY.replace(hour=int(hh), minute=int(mm))


def set_clock(path: Path, moment: dt.datetime) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(moment.isoformat())
    os.replace(tmp, path)  # the daemon never reads a half-written time


# -- configs -----------------------------------------------------------------------------


def raw_config(ftp: ChildFTP, cfg_id: str, **schedule: Any) -> dict[str, Any]:
    return {
        "id": cfg_id,
        "name": f"Steuerbüro {cfg_id}",
        "target": {
            "protocol": "ftp",
            "host": ftp.host,
            "port": ftp.port,
            "user": ftp.user,
            "password": ftp.password,
            "directory": cfg_id,
        },
        "clients": ["1"],
        "document_types": ["KR"],
        "format": "datev",
        **schedule,
    }


def daily_times(count: int) -> list[str]:
    """`count` times over 08:01–21:59, never on a full hour (the hourly configs' slots)."""
    minutes = [m for m in range(8 * 60 + 1, 22 * 60) if m % 60]
    return [f"{minutes[i % len(minutes)] // 60:02d}:{minutes[i % len(minutes)] % 60:02d}"
            for i in range(count)]  # fmt: skip


def burst_ids(prefix: str) -> list[str]:
    return [f"{prefix}{i:03d}" for i in range(BURST)]


def build_configs(ftp: ChildFTP, total: int) -> list[dict[str, Any]]:
    raws = [
        raw_config(ftp, cfg_id, interval={"kind": "hourly", "every_minutes": 60})
        for cfg_id in burst_ids("h")
    ]
    raws += [
        raw_config(ftp, cfg_id, time=hhmm, interval={"kind": "daily"})
        for hhmm, prefix in BURSTS[1:]
        for cfg_id in burst_ids(prefix)
    ]
    raws += [
        raw_config(ftp, f"s{i}", time=t, interval={"kind": "daily"})
        for i, t in enumerate(SOLO_TIMES)
    ]
    rest = total - len(raws)
    raws += [
        raw_config(ftp, f"d{i:04d}", time=t, interval={"kind": "daily"})
        for i, t in enumerate(daily_times(rest))
    ]
    return raws


# -- the daemon process ------------------------------------------------------------------


class DaemonProcess:
    """`buchex daemon` on HOME, on a clock file if given (`python -m tests.daemon_clock`),
    else on the system clock (`python -m engine`); its stderr lines, each
    stamped with time.monotonic() when read, are kept in `lines`."""

    def __init__(
        self,
        home: Path,
        clock: Path | None,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        variants: tuple[str, ...] = (),
    ) -> None:
        full_env = {**os.environ, **(env or {})}
        full_env.pop("JOURNAL_STREAM", None)
        clock_args = [] if clock is None else ["--clock-file", str(clock)]
        entry = ["-m", "engine"] if clock is None else ["-m", "tests.daemon_clock", *clock_args]
        if variants:  # the same CLI, with bench-only patches applied first
            entry = ["-m", "bench.daemon", "serve-variant", ",".join(variants), *clock_args]
        self.proc = subprocess.Popen(
            [sys.executable, *entry, "--home", str(home), "daemon", *args],
            cwd=ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.pid = self.proc.pid
        self.lines: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._pump, name="daemon-stderr", daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            stamp = time.monotonic()
            with self._changed:
                self.lines.append((stamp, line.rstrip("\n")))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def mark(self) -> int:
        """A position in `lines`: later waits only look at lines after it."""
        with self._changed:
            return len(self.lines)

    def wait_all(
        self, pattern: str, count: int, since: int, timeout: float
    ) -> list[tuple[float, re.Match[str]]]:
        """The first `count` lines after `since` matching `pattern` (regex search)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        found: list[tuple[float, re.Match[str]]] = []
        index = since
        with self._changed:
            while True:
                while index < len(self.lines) and len(found) < count:
                    stamp, line = self.lines[index]
                    index += 1
                    match = regex.search(line)
                    if match:
                        found.append((stamp, match))
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and index >= len(self.lines)):
                    tail = "\n".join(line for _, line in self.lines[-15:])
                    raise TimeoutError(
                        f"{len(found)}/{count} lines /{pattern}/ within {timeout:g} s "
                        f"(daemon exit {self.proc.poll()}); last lines:\n{tail}"
                    )
                self._changed.wait(min(remaining, 0.5))

    def wait(self, pattern: str, since: int, timeout: float) -> tuple[float, re.Match[str]]:
        return self.wait_all(pattern, 1, since, timeout)[0]

    def terminate(self, timeout: float) -> int | None:
        """SIGTERM; the exit code, or None if it had to be killed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stop_process(self.proc, grace=5)
            return None
        self._reader.join(5)
        return code


@contextlib.contextmanager
def running_daemon(
    home: Path,
    clock: Path | None,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    variants: tuple[str, ...] = (),
) -> Iterator[DaemonProcess]:
    daemon = DaemonProcess(home, clock, args, env, variants)
    try:
        yield daemon
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait(10)
        if daemon.proc.stderr is not None:
            with contextlib.suppress(OSError):
                daemon.proc.stderr.close()


# -- measurements ------------------------------------------------------------------------


def idle_cpu(pid: int, seconds: float) -> tuple[float, float]:
    """(percent of one core over `seconds`, the busiest 1 s slice in percent)."""
    start_wall, start_cpu = time.monotonic(), cpu_seconds(pid)
    last_wall, last_cpu, peak = start_wall, start_cpu, 0.0
    end = start_wall + seconds
    while (now := time.monotonic()) < end:
        time.sleep(min(1.0, end - now))
        wall, cpu = time.monotonic(), cpu_seconds(pid)
        peak = max(peak, (cpu - last_cpu) / (wall - last_wall) * 100)
        last_wall, last_cpu = wall, cpu
    return (last_cpu - start_cpu) / (last_wall - start_wall) * 100, peak


def pickups(
    daemon: DaemonProcess, ws: Any, ftp: ChildFTP, edits: int, rng: random.Random
) -> list[float]:
    """Seconds from save_config's return to the daemon's "geplant" line, per edit."""
    delays = []
    for i in range(edits):
        time.sleep(rng.uniform(0.0, 1.0))  # a random phase of the daemon's 1 s poll
        hhmm = f"12:{10 + i:02d}"
        since = daemon.mark()
        ws.save_config(raw_config(ftp, EDIT_ID, time=hhmm, interval={"kind": "daily"}))
        saved = time.monotonic()
        stamp, _ = daemon.wait(
            rf"Schnittstelle {EDIT_ID} \(.*\) geplant, nächste Ausführung "
            rf"{DAY.date().isoformat()}T{hhmm}",
            since,
            WAIT_S,
        )
        delays.append(stamp - saved)
    return delays


def run_started(daemon: DaemonProcess, ids: list[str], since: int, timeout: float) -> list[float]:
    """Monotonic stamps of the "Lauf für <id> … beginnt" lines of `ids` after `since`."""
    alternatives = "|".join(re.escape(i) for i in ids)
    found = daemon.wait_all(rf"Lauf für ({alternatives}) \(.*\) beginnt", len(ids), since, timeout)
    started = {m.group(1) for _, m in found}
    if started != set(ids):
        raise RuntimeError(f"unexpected runs: {sorted(started ^ set(ids))}")
    return [stamp for stamp, _ in found]


def solo_delays(daemon: DaemonProcess, clock: Path, rng: random.Random) -> list[float]:
    delays = []
    for i, hhmm in enumerate(SOLO_TIMES):
        time.sleep(rng.uniform(0.0, 1.0))
        since = daemon.mark()
        set_clock(clock, at(hhmm))
        written = time.monotonic()
        [stamp] = run_started(daemon, [f"s{i}"], since, WAIT_S)
        delays.append(stamp - written)
        daemon.wait(rf"Lauf (?!für )\S+ für s{i}\b", since, WAIT_S)  # finished before the next
    return delays


def burst(
    daemon: DaemonProcess, clock: Path, ws: Any, due: dt.datetime, ids: list[str]
) -> tuple[list[float], float, dict[str, int]]:
    """(delays from the clock write to each run start, seconds until all finished,
    statuses of the run records)."""
    since = daemon.mark()
    set_clock(clock, due)
    written = time.monotonic()
    starts = run_started(daemon, ids, since, BURST_TIMEOUT_S)
    alternatives = "|".join(re.escape(i) for i in ids)
    ends = daemon.wait_all(rf"Lauf (?!für )\S+ für ({alternatives})\b", len(ids), since,
                           BURST_TIMEOUT_S)  # fmt: skip
    finished = max(stamp for stamp, _ in ends) - written
    statuses: dict[str, int] = {}
    for cfg_id in ids:
        for run in ws.runs.runs(cfg_id):
            statuses[run.status] = statuses.get(run.status, 0) + 1
    return [s - written for s in starts], finished, statuses


# -- variants: what an engine change would bring, measured before anyone makes it --------


def _settings_cache() -> None:
    """Workspace._settings_doc parsed once per store stamp instead of on every call (each
    run reads the chain settings twice; with 1000 configs the store is ~700 kB of JSON)."""
    from engine.workspace import Workspace

    original = Workspace._settings_doc
    cache: dict[int, tuple[object, dict[str, Any]]] = {}

    def cached(self: Workspace) -> dict[str, Any]:
        stamp = self.store.stamp()
        hit = cache.get(id(self))
        if hit is not None and hit[0] == stamp:
            return dict(hit[1])
        doc = original(self)
        cache[id(self)] = (stamp, doc)
        return dict(doc)

    Workspace._settings_doc = cached  # type: ignore[method-assign]


def _clock_cache() -> None:
    """FileClock.now parsed once per clock-file change (a stat instead of open+read+parse
    on every call; the scheduler asks once per config and tick)."""
    from tests.daemon_clock import FileClock

    original = FileClock.now
    cache: dict[Path, tuple[tuple[int, int, int], dt.datetime]] = {}

    def cached(self: FileClock) -> dt.datetime:
        st = os.stat(self.path)
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        hit = cache.get(self.path)
        if hit is not None and hit[0] == key:
            return hit[1]
        moment = original(self)
        cache[self.path] = (key, moment)
        return moment

    FileClock.now = cached  # type: ignore[method-assign]


VARIANTS = {"settings-cache": _settings_cache, "clock-cache": _clock_cache}


def _serve_variant(names: str, argv: list[str]) -> int:
    for name in filter(None, names.split(",")):
        VARIANTS[name]()
    if argv[:1] == ["--clock-file"]:
        from tests.daemon_clock import main as clock_main

        return clock_main(argv)
    from engine.cli import main as cli_main

    return cli_main(argv)


# -- main --------------------------------------------------------------------------------


def make_home(home: Path) -> Any:
    """A data directory with small demo books and the Berlin time zone; its Workspace."""
    from engine.ledger_demo import generate
    from engine.paths import DataDir
    from engine.workspace import Workspace

    home.mkdir()
    generate(home / "ledger.sqlite", months=1, per_day=5, seed=7, end=dt.date(2026, 11, 20))
    ws = Workspace(DataDir.open(home))
    ws.save_chain_settings({"timezone": "Europe/Berlin"})
    return ws


def measure_clock_file(
    tmp: Path, ftp: ChildFTP, total: int, idle_s: float, edits: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Steps 1–6 of the module docstring against a daemon driven by a clock file."""
    rng = random.Random(1)
    ws = make_home(tmp / "home")
    clock = tmp / "clock"
    set_clock(clock, IDLE_AT)
    raws = build_configs(ftp, total)
    started = time.monotonic()
    ws.save_configs(raws)
    print(
        f"Daemon: {len(raws)} Schnittstellen gespeichert in {time.monotonic() - started:.1f} s "
        f"({BURST} stündlich, {len(raws) - BURST} täglich), {os.cpu_count()} Kerne, "
        f"Daemon-Optionen {' '.join(args.daemon_args) or '–'}, "
        f"Bench-Varianten {', '.join(args.variant) or 'keine'}"
    )
    out: dict[str, Any] = {}
    with running_daemon(
        ws.data_dir.root, clock, tuple(args.daemon_args), args.env, tuple(args.variant)
    ) as daemon:
        started = time.monotonic()
        daemon.wait("buchex-Daemon läuft", 0, START_TIMEOUT_S)
        startup = time.monotonic() - started

        def memory() -> str:
            rss = status_kb(daemon.pid, "VmRSS") / 1024
            return f"RSS {rss:.0f} MB, Spitze {status_kb(daemon.pid, 'VmHWM') / 1024:.0f} MB"

        print(f"  Start bis „Daemon läuft“: {startup:.1f} s; {memory()}")

        time.sleep(3.0)  # let start-up work (first heartbeat, stray imports) settle
        out["cpu"], peak = idle_cpu(daemon.pid, idle_s)
        print(f"  Leerlauf {idle_s:.0f} s: {out['cpu']:.2f} % CPU (teuerste Sekunde {peak:.1f} %)")

        out["pickup"] = pickups(daemon, ws, ftp, edits, rng)
        shown = ", ".join(f"{d:.2f}" for d in out["pickup"])
        print(f"  Änderung übernommen nach: {shown} s; {memory()}")

        out["solo"] = solo_delays(daemon, clock, rng)
        shown = ", ".join(f"{d:.2f}" for d in out["solo"])
        print(f"  einzeln fällig → Start: {shown} s; {memory()}")

        out["delays"], out["statuses"] = [], {}
        for hhmm, prefix in BURSTS:
            time.sleep(rng.uniform(0.0, 1.0))  # a random phase of the daemon's 1 s poll
            cpu_before = cpu_seconds(daemon.pid)
            delays, finished, statuses = burst(daemon, clock, ws, at(hhmm), burst_ids(prefix))
            busy = (cpu_seconds(daemon.pid) - cpu_before) / finished
            out["delays"] += delays
            for status, n in statuses.items():
                out["statuses"][status] = out["statuses"].get(status, 0) + n
            print(
                f"  {BURST} fällig um {hhmm}: Start nach {min(delays):.2f} … {max(delays):.2f} s"
                f" (Median {median(delays):.2f} s), alle beendet nach {finished:.1f} s "
                f"({BURST / finished:.1f} Läufe/s, Daemon-CPU {busy:.2f} Kerne), "
                f"Status {statuses}; {memory()}"
            )
        out["peak_mb"] = status_kb(daemon.pid, "VmHWM") / 1024
        out["code"] = daemon.terminate(STOP_TIMEOUT_S)
        code = out["code"]
        print(f"  SIGTERM: Exit-Code {code if code is not None else 'keiner (getötet)'}")
    return out


def measure_system_clock(
    tmp: Path, ftp: ChildFTP, total: int, idle_s: float, args: argparse.Namespace
) -> float:
    """Idle CPU of a daemon on the system clock (as in production): the same 1000 configs,
    but starting in 2099, so none is due while we watch."""
    ws = make_home(tmp / "home-system-clock")
    raws = [{**raw, "start": "2099-01-01"} for raw in build_configs(ftp, total)]
    ws.save_configs(raws)
    with running_daemon(
        ws.data_dir.root, None, tuple(args.daemon_args), args.env, tuple(args.variant)
    ) as daemon:
        daemon.wait("buchex-Daemon läuft", 0, START_TIMEOUT_S)
        time.sleep(3.0)
        cpu, peak = idle_cpu(daemon.pid, idle_s)
        print(
            f"  Systemuhr, Leerlauf {idle_s:.0f} s: {cpu:.2f} % CPU (teuerste Sekunde {peak:.1f} %)"
        )
        code = daemon.terminate(STOP_TIMEOUT_S)
        if code != 0:
            print(f"  Systemuhr-Daemon: Exit-Code {code}")
    return cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.daemon")
    parser.add_argument("--quick", action="store_true", help="30 s Leerlauf, 3 Änderungen")
    parser.add_argument("--configs", type=int, default=CONFIGS)
    parser.add_argument("--idle-s", type=float, help="Dauer der Leerlaufmessung (60 s)")
    parser.add_argument(
        "--daemon-arg", dest="daemon_args", action="append", default=[],
        help="an `buchex daemon` weitergereicht, z. B. --daemon-arg=--workers=8",
    )  # fmt: skip
    parser.add_argument(
        "--daemon-env", action="append", default=[], metavar="NAME=WERT",
        help="Umgebungsvariable für den Daemon, z. B. MALLOC_ARENA_MAX=2",
    )  # fmt: skip
    parser.add_argument(
        "--variant", action="append", default=[], choices=sorted(VARIANTS),
        help="Daemon mit einer Bench-Änderung starten (zeigt, was eine Engine-Änderung brächte)",
    )  # fmt: skip
    parser.add_argument("--no-system-clock", action="store_true", help="ohne Systemuhr-Leerlauf")
    args = parser.parse_args(argv)
    args.env = dict(item.split("=", 1) for item in args.daemon_env)
    total = max(args.configs, BURST * len(BURSTS) + len(SOLO_TIMES) + 1)
    idle_s = args.idle_s or (30.0 if args.quick else 60.0)
    edits = 3 if args.quick else 5

    with tempfile.TemporaryDirectory(prefix="buchex-bench-daemon-") as tmp_name:
        tmp = Path(tmp_name)
        with ftp_server_process(tmp / "ftp-root") as ftp:
            out = measure_clock_file(tmp, ftp, total, idle_s, edits, args)
            system_cpu = None
            if not args.no_system_clock:
                system_cpu = measure_system_clock(tmp, ftp, total, idle_s, args)

    delays, pickup, solo, statuses = out["delays"], out["pickup"], out["solo"], out["statuses"]
    runs_ok = statuses.get("ok", 0) + statuses.get("nothing", 0)
    cpu, peak_mb, code = out["cpu"], out["peak_mb"], out["code"]
    figures = [
        Figure("daemon", f"Leerlauf-CPU {idle_s:.0f} s, Uhr aus Datei", cpu, "%",
               f"< {TARGET_IDLE_CPU:g} %", cpu < TARGET_IDLE_CPU, "Testuhr tests.daemon_clock"),
    ]  # fmt: skip
    if system_cpu is not None:
        figures.append(
            Figure("daemon", f"Leerlauf-CPU {idle_s:.0f} s, Systemuhr", system_cpu, "%",
                   f"< {TARGET_IDLE_CPU:g} %", system_cpu < TARGET_IDLE_CPU, "wie im Betrieb")
        )  # fmt: skip
    n_runs = BURST * len(BURSTS)
    bursts = f"{len(BURSTS)}×{BURST} gleichzeitig"
    figures += [
        Figure("daemon", "Spitzen-RSS (VmHWM)", peak_mb, "MB", f"< {TARGET_RSS_MB:g} MB",
               peak_mb < TARGET_RSS_MB),
        Figure("daemon", f"fällig → Start, Median ({bursts})", median(delays), "s",
               f"< {TARGET_DELAY_S:g} s", median(delays) < TARGET_DELAY_S),
        Figure("daemon", f"fällig → Start, Max ({bursts})", max(delays), "s", "", None),
        Figure("daemon", f"fällig → Start, Median (einzeln, {len(solo)}×)", median(solo), "s",
               "", None),
        Figure("daemon", f"Änderung übernommen, Median ({edits}×)", median(pickup), "s",
               f"< {TARGET_PICKUP_S:g} s", median(pickup) < TARGET_PICKUP_S),
        Figure("daemon", "Läufe ok (gleichzeitig fällige)", float(runs_ok), f"/ {n_runs}",
               f"= {n_runs}", runs_ok == n_runs, digits=0),
        Figure("daemon", "Exit-Code nach SIGTERM", None if code is None else float(code), "",
               "= 0", code == 0, digits=0),
    ]  # fmt: skip
    print()
    print(
        table(
            ["Messgröße", "Wert", "Ziel", "", "Hinweis"],
            [[f.name, f.shown(), f.target, mark(f.ok), f.note] for f in figures],
        )
    )
    for figure in figures:
        emit(figure)
    return 0 if all(f.ok is not False for f in figures) else 1


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "serve-variant":
        raise SystemExit(_serve_variant(sys.argv[2], sys.argv[3:]))
    raise SystemExit(main())
