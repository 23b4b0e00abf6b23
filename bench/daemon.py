"""Benchmark: the scheduler daemon with 1000 configs (`python -m bench.daemon [--quick]`).

Issue 15, target 5: with 1000 configs each holding 1000 runs of history: idle CPU < 0.5 %,
RSS < 80 MB, start-up < 2 s, a burst of 50 due configs starts median < 0.5 s, max < 1 s;
a reload after one edit costs ≤ 10 ms CPU.

Set-up: a temporary data directory with small demo books (`ledger_demo.generate(months=1,
per_day=5)`), time zone Europe/Berlin, no SMTP (so no failure mails), and 1000 valid
configs whose targets point at one pyftpdlib FTP server on 127.0.0.1 (its own process):

- 50 hourly configs (every 60 minutes: due 06:00, 07:00, …) — the burst at 07:00;
- 2 × 50 daily configs at 07:20 and at 07:40 — two more bursts;
- 5 daily configs at 06:40, 06:43, … 06:52 — lone due times;
- 845 daily configs spread over 08:01–21:59 (never on the full hour).

History (`seed_history`, `--history N`, default 1000 = engine.runs.RETENTION): every config
gets the journal state of 1000 earlier runs, 1,000,000 run records (~1 GB journal), written
in the journal's own rows in one transaction: one real run is the template (record,
delivery, `delivered` rows with kept values, watermark, config state); older records, one
per earlier due time, are 5 % deliveries (with their `deliveries` row), 3 % failed, 1 %
skipped, the rest "nothing new". Then 10 new bookings arrive in the ledger, so every run
of the bursts exports and uploads them (status ok).

`python -m tests.daemon_clock --clock-file FILE --home DIR daemon` (the `buchex daemon`
command with a FileClock injected; tests/daemon_clock.py) runs as a child process: its
"now" is the moment in that file. The clock starts at 2026-11-24 06:30 (nothing due).
Log lines on its stderr are timestamped (monotonic) by a reader thread as they arrive.

1. start-up: process spawn → the line "buchex-Daemon läuft" (after a "geplant" line for
   every config).
2. idle CPU: utime+stime from /proc/<pid>/stat over 60 s (30 s with --quick), clock
   standing still at 06:30, after a 3 s settle → percent of one core.
3. pick-up of an edited config: `Workspace.save_config` with a new time for one config;
   time from the save's return to the daemon's line "<id> (…) geplant, nächste Ausführung
   <new time>"; 5 edits (3 with --quick) at random phases of the 1 s store poll, median;
   and the CPU time of the daemon's main thread (/proc/<pid>/schedstat, ns) over the same
   span: the reload's cost, whole process (target ≤ 10 ms).
4. lone due times: clock set to 06:40, 06:43, …; time from the clock write to the line
   "Lauf für <id> (…) beginnt"; median (information).
5. bursts: clock set to 07:00:00, then 07:20:00, then 07:40:00, 50 configs due at once
   each time (after a random wait); time from the clock write to each "Lauf für …
   beginnt" line; median and max over all 150 (targets < 0.5 s, < 1 s). Every run must
   finish (log line + run record ok/nothing).
6. peak RSS: VmHWM from /proc/<pid>/status after all of that.
7. SIGTERM: the daemon must exit with 0.
8. system clock (as in production): the same data directory, the configs starting in
   2099 (nothing due, nothing to make up): start-up and idle CPU again.

Load averages before and after are printed: the machine may be shared.
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

TARGET_IDLE_CPU = 0.5  # %
TARGET_RSS_MB = 80.0
TARGET_DELAY_S = 0.5  # median of the bursts
TARGET_DELAY_MAX_S = 1.0
TARGET_PICKUP_S = 2.0
TARGET_START_S = 2.0
TARGET_RELOAD_MS = 10.0

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


def main_thread_cpu_ns(pid: int) -> int:
    """CPU time of the process's main thread in ns (/proc/<pid>/schedstat): the daemon's
    reload runs there; finer than the 10 ms ticks of /proc/<pid>/stat."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


def pickups(
    daemon: DaemonProcess, ws: Any, ftp: ChildFTP, edits: int, rng: random.Random
) -> tuple[list[float], list[float]]:
    """(seconds from save_config's return to the daemon's "geplant" line, CPU ms of the
    daemon's main thread from the save to that line), per edit."""
    delays, costs = [], []
    for i in range(edits):
        time.sleep(rng.uniform(0.0, 1.0))  # a random phase of the daemon's 1 s poll
        hhmm = f"12:{10 + i:02d}"
        since = daemon.mark()
        cpu_before = main_thread_cpu_ns(daemon.pid)
        ws.save_config(raw_config(ftp, EDIT_ID, time=hhmm, interval={"kind": "daily"}))
        saved = time.monotonic()
        stamp, _ = daemon.wait(
            rf"Schnittstelle {EDIT_ID} \(.*\) geplant, nächste Ausführung "
            rf"{DAY.date().isoformat()}T{hhmm}",
            since,
            WAIT_S,
        )
        delays.append(stamp - saved)
        costs.append((main_thread_cpu_ns(daemon.pid) - cpu_before) / 1e6)
    return delays, costs


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
        for run in ws.runs.runs(cfg_id, limit=1):  # this burst's run
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


# -- run history: 1000 configs × 1000 run records ------------------------------------------

HISTORY = 1000  # run records per config: engine.runs.RETENTION, what a year of runs leaves
NEW_BOOKINGS = 10  # arrive in the ledger after the history's last delivery
_OK_EVERY = 20  # every 20th older run delivered files (the rest found nothing new) …
_FAILED_EVERY = 25  # … the other 25ths failed, every 100th was skipped
_SKIPPED_EVERY = 100


def _run_id(moment: dt.datetime, rng: random.Random) -> str:
    """engine.runs.new_run_id's format, for a given moment."""
    return f"{moment.astimezone(dt.UTC):%Y%m%dT%H%M%S%f}-{rng.getrandbits(24):06x}"


def _history_dues(newest: dt.datetime, count: int, tz: Any, *, hourly: bool) -> list[dt.datetime]:
    """`count` due times ending at `newest`, newest first: the same wall-clock time on
    earlier days (daily), or each full hour of the window (hourly, every 60 minutes)."""
    local = newest.astimezone(tz).replace(tzinfo=None)
    slots = [dt.time(h) for h in range(22, 5, -1)] if hourly else [local.time()]
    dues: list[dt.datetime] = []
    day = local.date()
    while len(dues) < count:
        for slot in slots:
            if len(dues) < count and (day, slot) <= (local.date(), local.time()):
                dues.append(dt.datetime.combine(day, slot, tzinfo=tz))
        day -= dt.timedelta(days=1)
    return dues


def seed_history(ws: Any, ftp: ChildFTP, per_config: int = HISTORY) -> dict[str, Any]:
    """Give every config of `ws` the journal state of `per_config` earlier runs, as the
    daemon would have left it by 06:30 on the measured day.

    One real run (`run_config`, config h000, due 06:00, to the FTP server) is the template:
    its run record, delivery (state done), `delivered` rows with kept values, watermark and
    config state are copied to every config, in the journal's own format (the rows
    `Journal.plan_delivery` and `Journal.finish` write). Older records, newest first, one
    per earlier due time of the config (engine.due): every 20th delivered files (its
    `deliveries` row too), the 25th, 50th and 75th of each hundred failed, every 100th
    was skipped, the rest found nothing new. Every config's newest scheduled run is its
    latest due time before 06:30, so the daemon has nothing to make up at start. All of it
    in one transaction on the journal's connection. Then `NEW_BOOKINGS` bookings of
    client 1, document type KR (copies of earlier ones under the next journal numbers)
    arrive in the ledger: every run in the measured bursts exports and uploads them."""
    import json
    import sqlite3

    from engine.runner import RunOptions, run_config

    tz = ws.time_zone()
    configs = {c.id: c for c in ws.list_configs()}
    rng = random.Random(2)
    template_id = "h000"
    first_due = IDLE_AT.replace(hour=6, minute=0)
    moment = first_due + dt.timedelta(seconds=5)
    record = run_config(
        ws,
        configs[template_id],
        RunOptions(trigger="schedule", due_at=first_due),
        clock=lambda: moment,
    )
    if record.status != "ok":
        raise RuntimeError(f"template run: {record.status} {record.reason}")
    conn = ws.runs._conn()  # the journal's own connection (bench only)
    (ok_doc,) = conn.execute("SELECT doc FROM runs WHERE id = ?", (record.id,)).fetchone()
    delivery = conn.execute(
        "SELECT folder, files, watermarks FROM deliveries WHERE run_id = ?", (record.id,)
    ).fetchone()
    delivered = conn.execute(
        "SELECT journal_no, fingerprint, file_no FROM delivered ORDER BY journal_no"
    ).fetchall()
    values = conn.execute(
        "SELECT client_id, journal_no, doc FROM delivered_values WHERE config_id = ?",
        (template_id,),
    ).fetchall()
    marks = conn.execute(
        "SELECT client_id, journal_no, baseline, selection FROM watermarks WHERE config_id = ?",
        (template_id,),
    ).fetchall()
    alert, full_check = conn.execute(
        "SELECT alert, last_full_check FROM config_state WHERE config_id = ?", (template_id,)
    ).fetchone()
    conn.execute("DELETE FROM delivered_values")
    conn.execute("DELETE FROM delivered")
    conn.execute("DELETE FROM streams")
    conn.execute("DELETE FROM deliveries")
    conn.execute("DELETE FROM watermarks")
    conn.execute("DELETE FROM config_state")
    conn.execute("DELETE FROM runs")

    ok = json.loads(ok_doc)
    nothing = {**ok, "files": [], "warnings": [], "steps": [], "attempts": 0,
               "status": "nothing", "reason": "nichts zu exportieren",
               "progress": {"step": "Export"}}  # fmt: skip
    failed = {**nothing, "status": "failed", "step": "Übertragung", "attempts": 3,
              "progress": {"step": "Übertragung", "files_total": 2, "files_done": 0},
              "reason": "Der FTP-Server ist nicht erreichbar: die Verbindung wurde "
                        "abgelehnt. Läuft der Server, stimmen Adresse und Port?",
              "detail": "[Errno 111] Connection refused"}  # fmt: skip
    skipped = {**nothing, "status": "skipped", "reason": "die vorige Ausführung läuft noch",
               "progress": {}}  # fmt: skip

    def dumps(doc: dict[str, Any]) -> str:
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))

    deliveries: list[tuple[Any, ...]] = []
    newest_runs: dict[str, str] = {}
    count = 0

    def history() -> Iterator[tuple[Any, ...]]:
        """The run rows, generated while SQLite inserts them (a list of 1,000,000 docs
        would hold ~1 GB); the deliveries and newest runs are collected on the way."""
        nonlocal count
        for cfg_id, cfg in configs.items():
            newest = _history_dues(
                previous_due_before(cfg, IDLE_AT, tz),
                per_config,
                tz,
                hourly=cfg.interval.kind == "hourly",
            )
            for k, due in enumerate(newest):
                started = due + dt.timedelta(seconds=5)
                if k == 0 or k % _OK_EVERY == 0:
                    base = ok
                elif k % _SKIPPED_EVERY == 1:
                    base = skipped
                elif k % _FAILED_EVERY == 0:
                    base = failed
                else:
                    base = nothing
                run_id = _run_id(started, rng)
                stamp = started.isoformat(timespec="seconds")
                doc = {
                    **base,
                    "id": run_id,
                    "config_id": cfg_id,
                    "config_name": f"Steuerbüro {cfg_id}",
                    "started_at": stamp,
                    "finished_at": stamp,
                    "due_at": due.isoformat(timespec="seconds"),
                }
                text = dumps(doc)
                if base is ok:
                    text = text.replace(f"/{template_id}/", f"/{cfg_id}/").replace(
                        f"_{template_id}_", f"_{cfg_id}_"
                    )
                    files = delivery[1].replace(f"_{template_id}_", f"_{cfg_id}_")
                    folder = delivery[0].replace(template_id, cfg_id, 1)
                    deliveries.append((run_id, cfg_id, folder, files, delivery[2], stamp))
                if k == 0:
                    newest_runs[cfg_id] = run_id
                count += 1
                yield (run_id, cfg_id, doc["status"], stamp, stamp, text)

    writing = time.monotonic()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO runs (id, config_id, status, started_at, finished_at, doc) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        history(),
    )
    conn.executemany(
        "INSERT INTO deliveries (run_id, config_id, state, folder, files, watermarks, "
        "created_at) VALUES (?, ?, 'done', ?, ?, ?, ?)",
        sorted(deliveries),  # numbered in time order, as the runs made them
    )
    for cfg_id, run_id in newest_runs.items():
        conn.execute("INSERT INTO streams (config_id, client_id) VALUES (?, '1')", (cfg_id,))
        conn.executemany(
            "INSERT INTO delivered (stream, journal_no, fingerprint, delivery, file_no) "
            "VALUES ((SELECT no FROM streams WHERE config_id = ?), ?, ?, "
            "(SELECT no FROM deliveries WHERE run_id = ?), ?)",
            [(cfg_id, j, f, run_id, n) for j, f, n in delivered],
        )
        conn.executemany(
            "INSERT INTO delivered_values (config_id, client_id, journal_no, doc) "
            "VALUES (?, ?, ?, ?)",
            [(cfg_id, c, j, d) for c, j, d in values],
        )
        conn.executemany(
            "INSERT INTO watermarks (config_id, client_id, journal_no, baseline, selection) "
            "VALUES (?, ?, ?, ?, ?)",
            [(cfg_id, *m) for m in marks],
        )
        conn.execute(
            "INSERT INTO config_state (config_id, alert, last_full_check, rev) VALUES (?, ?, ?, ?)",
            (cfg_id, alert, full_check, 3 * per_config),
        )
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rev'")
    conn.execute("COMMIT")
    written = time.monotonic() - writing
    ws.runs.close()

    ledger = sqlite3.connect(ws.data_dir.root / "ledger.sqlite")
    with ledger:
        top = ledger.execute("SELECT max(journal_no) FROM bookings").fetchone()[0]
        rows = ledger.execute(
            "SELECT * FROM bookings WHERE client_id = 1 AND document_type = 'KR' "
            "ORDER BY journal_no LIMIT ?",
            (NEW_BOOKINGS,),
        ).fetchall()
        ledger.executemany(
            f"INSERT INTO bookings VALUES ({', '.join('?' * len(rows[0]))})",
            [(top + 1 + i, *row[1:]) for i, row in enumerate(rows)],
        )
    ledger.close()
    size = ws.data_dir.journal_path.stat().st_size
    return {"runs": count, "deliveries": len(deliveries), "seconds": written,
            "journal_mb": size / 1e6}  # fmt: skip


def previous_due_before(cfg: Any, moment: dt.datetime, tz: Any) -> dt.datetime:
    from engine.due import previous_due

    due = previous_due(cfg, moment, tz=tz)
    if due is None:
        raise RuntimeError(f"{cfg.id}: never due before {moment}")
    return due


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


def load() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def start_daemon(daemon: DaemonProcess, spawned: float, configs: int) -> float:
    """Seconds from spawning the process to "buchex-Daemon läuft", after a "geplant" line
    for every config (the daemon logs them while it plans, before that line)."""
    stamp, _ = daemon.wait("buchex-Daemon läuft", 0, START_TIMEOUT_S)
    planned = sum(" geplant, nächste Ausführung " in line for _, line in daemon.lines)
    if planned < configs:
        raise RuntimeError(f"only {planned} of {configs} configs planned at start")
    return stamp - spawned


def measure_clock_file(
    home: Path, ws: Any, ftp: ChildFTP, idle_s: float, edits: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Steps 1–7 of the module docstring against a daemon driven by a clock file."""
    rng = random.Random(1)
    clock = home.parent / "clock"
    set_clock(clock, IDLE_AT)
    configs = len(ws.list_configs())
    out: dict[str, Any] = {"load_before": load()}
    spawned = time.monotonic()
    with running_daemon(
        home, clock, tuple(args.daemon_args), args.env, tuple(args.variant)
    ) as daemon:
        out["startup"] = start_daemon(daemon, spawned, configs)

        def memory() -> str:
            rss = status_kb(daemon.pid, "VmRSS") / 1024
            return f"RSS {rss:.0f} MB, Spitze {status_kb(daemon.pid, 'VmHWM') / 1024:.0f} MB"

        print(f"  Testuhr: Start bis „Daemon läuft“: {out['startup']:.2f} s; {memory()}")

        time.sleep(3.0)  # let start-up work (first heartbeat, stray imports) settle
        out["cpu"], peak = idle_cpu(daemon.pid, idle_s)
        print(f"  Leerlauf {idle_s:.0f} s: {out['cpu']:.2f} % CPU (teuerste Sekunde {peak:.1f} %)")

        out["pickup"], out["reload_ms"] = pickups(daemon, ws, ftp, edits, rng)
        shown = ", ".join(f"{d:.2f}" for d in out["pickup"])
        costs = ", ".join(f"{c:.1f}" for c in out["reload_ms"])
        print(f"  Änderung übernommen nach: {shown} s; CPU {costs} ms; {memory()}")

        out["solo"] = solo_delays(daemon, clock, rng)
        shown = ", ".join(f"{d:.2f}" for d in out["solo"])
        print(f"  einzeln fällig → Start: {shown} s; {memory()}")

        out["delays"], out["statuses"] = [], {}
        for hhmm, prefix in BURSTS:
            time.sleep(rng.uniform(0.0, 1.0))  # a random phase of the daemon's sleep
            cpu_before = cpu_seconds(daemon.pid)
            delays, finished, statuses = burst(daemon, clock, ws, at(hhmm), burst_ids(prefix))
            busy = (cpu_seconds(daemon.pid) - cpu_before) / finished
            out["delays"] += delays
            for status, n in statuses.items():
                out["statuses"][status] = out["statuses"].get(status, 0) + n
            print(
                f"  {BURST} fällig um {hhmm}: Start nach {min(delays):.2f} … {max(delays):.2f} s"
                f" (Median {median(delays):.2f} s), alle beendet nach {finished:.2f} s "
                f"({BURST / finished:.1f} Läufe/s, Daemon-CPU {busy:.2f} Kerne), "
                f"Status {statuses}; {memory()}; Last {load()}"
            )
        out["peak_mb"] = status_kb(daemon.pid, "VmHWM") / 1024
        out["code"] = daemon.terminate(STOP_TIMEOUT_S)
        code = out["code"]
        print(f"  SIGTERM: Exit-Code {code if code is not None else 'keiner (getötet)'}")
    out["load_after"] = load()
    return out


def measure_system_clock(
    home: Path, ws: Any, raws: list[dict[str, Any]], idle_s: float, args: argparse.Namespace
) -> dict[str, Any]:
    """Start-up and idle CPU of a daemon on the system clock (as in production): the same
    data directory and history afterwards, the configs starting in 2099, so none is due
    (nor to be made up) while we watch."""
    ws.save_configs([{**raw, "start": "2099-01-01"} for raw in raws])
    out: dict[str, Any] = {"load_before": load()}
    spawned = time.monotonic()
    with running_daemon(
        home, None, tuple(args.daemon_args), args.env, tuple(args.variant)
    ) as daemon:
        out["startup"] = start_daemon(daemon, spawned, len(raws))
        time.sleep(3.0)
        out["cpu"], peak = idle_cpu(daemon.pid, idle_s)
        out["peak_mb"] = status_kb(daemon.pid, "VmHWM") / 1024
        print(
            f"  Systemuhr: Start bis „Daemon läuft“ {out['startup']:.2f} s; Leerlauf "
            f"{idle_s:.0f} s: {out['cpu']:.2f} % CPU (teuerste Sekunde {peak:.1f} %), "
            f"Spitze {out['peak_mb']:.0f} MB"
        )
        code = daemon.terminate(STOP_TIMEOUT_S)
        if code != 0:
            print(f"  Systemuhr-Daemon: Exit-Code {code}")
    out["load_after"] = load()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.daemon")
    parser.add_argument("--quick", action="store_true", help="30 s Leerlauf, 3 Änderungen")
    parser.add_argument("--configs", type=int, default=CONFIGS)
    parser.add_argument(
        "--history", type=int, default=HISTORY, help="Lauf-Einträge je Schnittstelle (1000)"
    )
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
            home = tmp / "home"
            ws = make_home(home)
            raws = build_configs(ftp, total)
            ws.save_configs(raws)
            history = seed_history(ws, ftp, args.history) if args.history else {}
            print(
                f"Daemon: {len(raws)} Schnittstellen ({BURST} stündlich, {len(raws) - BURST} "
                f"täglich), je {args.history} Lauf-Einträge: {history.get('runs', 0):,} Läufe, "
                f"{history.get('deliveries', 0):,} Lieferungen, Journal "
                f"{history.get('journal_mb', 0):.0f} MB (geschrieben in "
                f"{history.get('seconds', 0):.1f} s); {os.cpu_count()} Kerne, "
                f"Daemon-Optionen {' '.join(args.daemon_args) or '–'}, "
                f"Bench-Varianten {', '.join(args.variant) or 'keine'}"
            )
            out = measure_clock_file(home, ws, ftp, idle_s, edits, args)
            system: dict[str, Any] = {}
            if not args.no_system_clock:
                system = measure_system_clock(home, ws, raws, idle_s, args)
    print(f"Last (1/5/15 min) vorher {out['load_before']}, nachher "
          f"{system.get('load_after', out['load_after'])}")  # fmt: skip

    delays, pickup, solo, statuses = out["delays"], out["pickup"], out["solo"], out["statuses"]
    runs_ok = statuses.get("ok", 0) + statuses.get("nothing", 0)
    cpu, peak_mb, code = out["cpu"], out["peak_mb"], out["code"]
    reload_ms = median(out["reload_ms"])
    hist = f"{args.history} Läufe je Schnittstelle"
    figures = [
        Figure("daemon", f"Start bis „läuft“, Testuhr ({hist})", out["startup"], "s",
               f"< {TARGET_START_S:g} s", out["startup"] < TARGET_START_S),
        Figure("daemon", f"Leerlauf-CPU {idle_s:.0f} s, Uhr aus Datei", cpu, "%",
               f"< {TARGET_IDLE_CPU:g} %", cpu < TARGET_IDLE_CPU, "Testuhr tests.daemon_clock"),
    ]  # fmt: skip
    if system:
        figures += [
            Figure("daemon", f"Start bis „läuft“, Systemuhr ({hist})", system["startup"], "s",
                   f"< {TARGET_START_S:g} s", system["startup"] < TARGET_START_S),
            Figure("daemon", f"Leerlauf-CPU {idle_s:.0f} s, Systemuhr", system["cpu"], "%",
                   f"< {TARGET_IDLE_CPU:g} %", system["cpu"] < TARGET_IDLE_CPU,
                   "wie im Betrieb"),
        ]  # fmt: skip
    n_runs = BURST * len(BURSTS)
    bursts = f"{len(BURSTS)}×{BURST} gleichzeitig"
    figures += [
        Figure("daemon", "Spitzen-RSS (VmHWM)", peak_mb, "MB", f"< {TARGET_RSS_MB:g} MB",
               peak_mb < TARGET_RSS_MB),
        Figure("daemon", f"fällig → Start, Median ({bursts})", median(delays), "s",
               f"< {TARGET_DELAY_S:g} s", median(delays) < TARGET_DELAY_S),
        Figure("daemon", f"fällig → Start, Max ({bursts})", max(delays), "s",
               f"< {TARGET_DELAY_MAX_S:g} s", max(delays) < TARGET_DELAY_MAX_S),
        Figure("daemon", f"fällig → Start, Median (einzeln, {len(solo)}×)", median(solo), "s",
               "", None),
        Figure("daemon", f"Änderung übernommen, Median ({edits}×)", median(pickup), "s",
               f"< {TARGET_PICKUP_S:g} s", median(pickup) < TARGET_PICKUP_S),
        Figure("daemon", f"Neu einlesen nach 1 Änderung, CPU-Median ({edits}×, Daemon)",
               reload_ms, "ms", f"≤ {TARGET_RELOAD_MS:g} ms", reload_ms <= TARGET_RELOAD_MS,
               "Hauptthread, Speichern → „geplant“", 1),
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
