"""Benchmark: the TUI with 1000 configs and 10,000 runs (`python -m bench.tui [--quick]
[--keep] [--runs N]`).

Issue 15, target 4: "TUI start to the complete list ≤ 1.5× the minimal Textual app, both
measured in tmux from process start to the list on screen; keys during a reload ≤ 50 ms
worst case." (Before: issue 11's cold start to the first drawn list, and per-keystroke
filter time < 50 ms, both still reported.) `--runs N`: N run records per config instead of
10 (the daemon's realistic state is RETENTION, 1000 per config: 1,000,000 records take
minutes to write).

Set-up: a temporary data directory with small demo books (`ledger_demo.generate(months=1,
per_day=5)`), 1000 valid configs saved with `Workspace.save_configs` (names, hosts,
intervals, formats and branches varied; every fifth bound to a workstation) and 10 run
records per config (10,000), written per config in one `engine.store.Store` transaction
but the newest, which goes through `Journal.finish` as the daemon's would.

1. Cold start. Every start is a fresh `python` process in its own pseudo terminal of
   120×40 (TERM=xterm-256color) with Textual's real Linux driver, so the time includes the
   escape sequences written to the terminal. A short prelude (`python -c`) wraps
   `LinuxDriver.write`: the first write whose text contains the marker — the name in the
   list's first row, i.e. the list drawn with its rows — records `time.monotonic()` (one
   system-wide clock on Linux) and exits the app. The figure is that instant minus the
   parent's `time.monotonic()` just before `Popen`. Variants:
   - buchex: the prelude then runs the module `tui` with `--home DIR`, exactly what
     `python -m tui --home DIR` (and `buchex tui`, which execs it) does, service included.
     The child records the first frame with the first row's name ("Liste gezeichnet") and
     the first frame after the list has every cell worked out, Filiale, Nächste Ausführung
     and Letzter Lauf ("Liste vollständig": the target's figure). `python -m tui` works
     out the list's first load before the app runs (tui/__main__.py, `preload`), so both
     are the same frame; a list that draws its rows first would show two figures.
   - the minimal Textual app (the target's denominator): one stock `DataTable` with 1000
     rows of 7 short columns, filled in `on_mount`; marker its first cell. It draws the
     same list with nothing behind it, so the ratio is what buchex costs on top of Textual
     for the same job (imports, store, ledger catalog, run history, its own widgets).
   - for context: a Textual app with one `Label`, Textual's floor (interpreter, imports,
     driver, first frame). Against it the target would leave buchex ~90 ms for reading
     1000 configs and 10,000 runs and drawing them, which no version of it can meet; its
     ratio is printed as a note.
   One unmeasured warm-up start of each, then REPS rounds (5; 3 with --quick) with the
   variants interleaved; medians. The page cache is warm: "cold" means a new process.
   engine/ and tui/ are byte-compiled first, as pip does for an installed package (and as
   Textual's files are): with PYTHONDONTWRITEBYTECODE set, a checkout would otherwise
   compile them on every start. The child also records when its first frame was written.
2. Keystrokes, in this process: `BuchexApp.run_test(size=(120, 40))`, list loaded, filter
   focused; the garbage collector as `python -m tui` sets it (off during start-up, then
   what start-up built frozen: `tui.__main__.collect_after_start`). Each key event is
   handed to the driver like a real key; the time runs until the first frame, rendered
   down to the terminal's escape sequences (`render_segments`), in which the table shows
   the filtered row count. Pilot's `press()` is not used for timing:
   it sleeps at least 3 × 20 ms per key waiting for idle. Between keys the app settles (a
   typist's gap). Typing NEEDLE (10 characters), then 10 × backspace; median and max each.
   Then RELOAD_KEYS keys, each sent right after a run of one config starts (written with
   `Journal.start`, as the daemon does) and the list's reload worker is started (what
   the app's watcher makes the list do on `RunsChanged`), so that the reload redraws a
   changed row.
3. Context: `Journal.last_run` for all 1000 configs — what `Service.last_run` ("Letzter
   Lauf") costs for a config whose runs changed (a list's first load reads them all in one
   query, `Journal.last_run_table`); and projected for RETENTION (1000) runs per config,
   from one config with that many.

Prints a table (figure, value, target, ✓/✗) and the `BENCH-RESULT` lines for `python -m
bench`; exits 0 even when a target is missed (this is a report), 2 if a measurement broke.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import dataclasses
import datetime as dt
import fcntl
import gc
import json
import os
import pty
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import ROOT, Figure, emit, mark, median, table
from engine.runs import RETENTION as RETENTION_RUNS

if TYPE_CHECKING:
    from engine.journal import Journal
    from engine.service import Service
    from engine.workspace import Workspace

N_CONFIGS = 1000
RUNS_PER_CONFIG = 10
COLS, ROWS = 120, 40
REPS, QUICK_REPS = 5, 3
NEEDLE = "kanzlei ha"  # 10 keys; narrows step by step (names, hosts and ids are searched)
RATIO_TARGET = 1.5
KEY_TARGET_MS = 50.0
RELOAD_KEYS = 5  # keystrokes measured while the list reloads
CHILD_TIMEOUT_S = 60.0
DEMO_END = dt.date(2026, 11, 20)
BENCH = "tui"

KINDS = ("Kanzlei", "Steuerbüro", "Filiale", "Kasse", "Lohnbüro", "Zentrale", "Optik", "Hörakustik")
CITIES = (
    "Hamburg", "Hannover", "Kiel", "Bremen", "Würzburg", "Fürth", "Bad Tölz", "Lüneburg",
    "Göttingen", "Halle", "Hagen", "Kassel", "Münster", "Passau", "Ulm", "Trier",
)  # fmt: skip
BRANCHES = ("1", "2", "3")  # the demo books' branches of client 1
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat")


# -- the data directory ------------------------------------------------------------------


def raw_configs(n: int = N_CONFIGS, seed: int = 7) -> list[dict[str, Any]]:
    """n valid configs (client 1, Kundenrechnungen) with varied names, hosts, intervals."""
    rnd = random.Random(seed)
    raws: list[dict[str, Any]] = []
    for i in range(n):
        kind, city = KINDS[i % len(KINDS)], CITIES[(i // len(KINDS)) % len(CITIES)]
        slug = city.lower().replace(" ", "-").replace("ü", "ue").replace("ö", "oe")
        raw: dict[str, Any] = {
            "id": f"cfg-{i:04d}",
            "name": f"{kind} {city} {i:04d}",
            "target": {
                "protocol": ("ftp", "ftps", "sftp")[i % 3],
                "host": f"ftp{i % 37}.{slug}.example",
                "user": f"nutzer{i % 50}",
                "password": f"Geheim-{i:04d}",
                "directory": f"export/{i:04d}",
            },
            "clients": ["1"],
            "document_types": ["KR"],
            "format": "datev" if i % 4 else "csv",
            "time": f"{6 + i % 14:02d}:{(i * 7) % 60:02d}",
            "email": f"buchhaltung{i % 9}@optik-mueller.example",
        }
        match i % 5:
            case 0:
                raw["interval"] = {"kind": "hourly", "every_minutes": rnd.choice((15, 30, 60))}
                raw["time"] = None
            case 1:
                raw["interval"] = {"kind": "weekly", "days": sorted(rnd.sample(WEEKDAYS, 2))}
            case 2:
                raw["interval"] = {"kind": "monthly", "day": 1 + i % 28}
            case _:
                raw["interval"] = {"kind": "daily"}
        if i % 3 == 0:
            raw["branch"] = BRANCHES[i % len(BRANCHES)]
        if i % 5 == 4:
            raw["workstation"] = f"KASSE-{slug.upper()}-{i % 10:02d}"
            raw["server_side"] = False
        raws.append(raw)
    return raws


def run_docs(cfg_id: str, name: str, count: int, rnd: random.Random) -> list[dict[str, Any]]:
    """`count` finished run records of one config over the last days (newest last)."""
    from engine.runs import RunRecord, new_run_id

    docs: list[dict[str, Any]] = []
    start = dt.datetime.combine(DEMO_END, dt.time(6, 30)).astimezone()
    for n in range(count):
        started = start - dt.timedelta(hours=6 * (count - n), minutes=rnd.randrange(60))
        status = rnd.choices(("ok", "nothing", "failed"), (8, 1, 1))[0]
        files = (
            [
                {
                    "name": f"EXTF_Buchungsstapel_{n:03d}.csv",
                    "remote_path": f"export/EXTF_Buchungsstapel_{n:03d}.csv",
                    "size": 20_000 + rnd.randrange(5000),
                    "sha256": f"{rnd.getrandbits(256):064x}",
                    "rows": 120 + rnd.randrange(40),
                }
            ]
            if status == "ok"
            else []
        )
        record = RunRecord(
            id=new_run_id(started),
            config_id=cfg_id,
            config_name=name,
            trigger="schedule",
            started_at=started.isoformat(),
            status=status,
            due_at=started.isoformat(),
            finished_at=(started + dt.timedelta(seconds=3)).isoformat(),
            step="Anmelden" if status == "failed" else None,
            reason="530 Login incorrect." if status == "failed" else None,
            files=files,
            steps=["Buchungen lesen", "Datei schreiben", "Übertragen"],
            attempts=1,
        )
        docs.append(asdict(record))
    return docs


def build_home(root: Path, runs_per_config: int = RUNS_PER_CONFIG) -> Workspace:
    """Demo books, N_CONFIGS configs, `runs_per_config` run records each."""
    from engine.ledger_demo import generate
    from engine.paths import DataDir
    from engine.workspace import Workspace

    root.mkdir(parents=True, exist_ok=True)
    generate(root / "ledger.sqlite", months=1, per_day=5, seed=7, end=DEMO_END)
    ws = Workspace(DataDir.open(root))
    configs = ws.save_configs(raw_configs())
    rnd = random.Random(11)
    for cfg in configs:
        write_runs(ws.runs, cfg.id, run_docs(cfg.id, cfg.name or cfg.id, runs_per_config, rnd))
    return ws


def write_runs(runs: Journal, cfg_id: str, docs: list[dict[str, Any]]) -> None:
    """All but the newest in one transaction, the newest through `Journal.finish`, as the
    daemon writes it."""
    from engine.runs import RunRecord

    runs.import_legacy(cfg_id, [RunRecord.from_doc(d) for d in docs[:-1]], {}, None)
    runs.finish(RunRecord.from_doc(docs[-1]))


# -- cold start in a pseudo terminal -----------------------------------------------------

# Runs in the child before anything else. Records (time.monotonic) the prelude's start, the
# first frame written and the first write that contains the marker; then exits the app.
PRELUDE = textwrap.dedent(
    """
    import json, os, sys, time
    _t = {"start": time.monotonic()}
    from textual.app import App
    from textual.drivers.linux_driver import LinuxDriver
    _marker, _out = os.environ["BENCH_TUI_MARKER"], os.environ["BENCH_TUI_OUT"]
    _display, _write = App._display, LinuxDriver.write
    _complete = [False] if os.environ.get("BENCH_TUI_COMPLETE") else None  # set by the app

    def _traced_display(self, screen, renderable):
        if renderable is not None and "first_frame" not in _t and self._running:
            _t["first_frame"] = time.monotonic()
        return _display(self, screen, renderable)

    _written = []

    def _traced_write(self, data):
        _write(self, data)
        now = time.monotonic()
        if "marker" not in _t and _marker in data:
            _t["marker"] = now
        if _complete is not None and _complete[0] and "complete" not in _t:
            _t["complete"] = now  # the first frame after every cell was worked out
        waiting = "marker" not in _t or (_complete is not None and "complete" not in _t)
        if not waiting and not _written:
            _written.append(True)
            with open(_out, "w") as fh:
                json.dump(_t, fh)
            self._app.exit()

    App._display, LinuxDriver.write = _traced_display, _traced_write
    """
)

BUCHEX_CHILD = PRELUDE + textwrap.dedent(
    """
    from tui.screens.configs import ConfigListScreen
    _refresh = ConfigListScreen.refresh_rows

    def _traced_refresh(self, *args, **kwargs):
        _refresh(self, *args, **kwargs)
        if self.loaded:  # the second pass is in: Filiale, Nächste Ausführung, Letzter Lauf
            _complete[0] = True

    ConfigListScreen.refresh_rows = _traced_refresh
    import runpy
    runpy.run_module("tui", run_name="__main__", alter_sys=True)
    """
)

LABEL_MARKER = "Hallo, buchex"
LABEL_CHILD = PRELUDE + textwrap.dedent(
    f"""
    from textual.widgets import Label

    class Minimal(App[None]):
        def compose(self):
            yield Label({LABEL_MARKER!r})

    Minimal().run()
    """
)

TABLE_MARKER = "Zeile 0000"
TABLE_CHILD = PRELUDE + textwrap.dedent(
    """
    from textual.widgets import DataTable

    class MinimalTable(App[None]):
        def compose(self):
            yield DataTable()

        def on_mount(self):
            table = self.query_one(DataTable)
            table.add_columns("Name", "Filiale", "Rechner", "Format", "Intervall",
                              "Nächste Ausführung", "Letzter Lauf")
            table.add_rows(
                (f"Zeile {i:04d}", "Würzburg", "KASSE-01", "DATEV", "täglich 06:30",
                 "morgen 06:30", "OK, heute 06:31") for i in range(1000)
            )

    MinimalTable().run()
    """
)


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    code: str
    args: tuple[str, ...]
    marker: str
    complete: bool = False  # also wait for the list's second pass (buchex only)


@dataclass(frozen=True)
class Start:
    total: float  # spawn → marker drawn
    first_frame: float  # spawn → first frame of anything
    interpreter: float  # spawn → prelude running (interpreter up)
    complete: float | None = None  # spawn → every cell of the list worked out and drawn


class ChildFailed(RuntimeError):
    pass


def child_env(out: Path, marker: str, *, complete: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
    if complete:
        env["BENCH_TUI_COMPLETE"] = "1"
    env.update(
        TERM="xterm-256color",
        COLORTERM="truecolor",
        BENCH_TUI_OUT=str(out),
        BENCH_TUI_MARKER=marker,
        PYTHONUNBUFFERED="1",
    )
    env.pop("NO_COLOR", None)
    env.pop("BUCHEX_HOME", None)
    return env


def start_once(variant: Variant, work: Path) -> Start:
    """One fresh process in a new 120×40 pty; time from spawn to the marker on screen."""
    out = work / f"{variant.key}.json"
    out.unlink(missing_ok=True)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    screen = bytearray()

    def drain() -> None:  # the terminal: read everything so the child never blocks
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return  # EIO: every slave end is closed
            if not chunk:
                return
            screen.extend(chunk)
            del screen[:-65536]

    argv = [sys.executable, "-c", variant.code, *variant.args]
    env = child_env(out, variant.marker, complete=variant.complete)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, start_new_session=True
    )
    os.close(slave)
    reader = threading.Thread(target=drain, name="pty-drain", daemon=True)
    reader.start()
    try:
        code = proc.wait(CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = None
        proc.wait(10)
    reader.join(10)
    os.close(master)
    if not out.exists():
        tail = _plain(bytes(screen))[-1500:]
        why = "timed out" if code is None else f"exit code {code}"
        raise ChildFailed(f"{variant.label}: marker {variant.marker!r} never drawn ({why})\n{tail}")
    t = json.loads(out.read_text())
    complete = t["complete"] - t0 if "complete" in t else None
    return Start(
        t["marker"] - t0, t.get("first_frame", t["marker"]) - t0, t["start"] - t0, complete
    )


def _plain(data: bytes) -> str:
    """Terminal output without escape sequences (for error messages)."""
    import re

    text = data.decode("utf-8", "replace")
    text = re.sub(
        r"\x1b\[[0-9;?<>=$]*[A-Za-z~]|\x1b[()][A-Z0-9]|\x1b[=>78]|\x1b\][^\x07]*\x07", "", text
    )
    return re.sub(r"[ \t]+", " ", text)


def first_row_name(ws: Workspace) -> str:
    """The list's first row (it sorts by name, then id)."""
    return ws.list_configs()[0].name or ""


def cold_starts(variants: Sequence[Variant], reps: int, work: Path) -> dict[str, list[Start]]:
    for v in variants:  # warm-up: page cache, .pyc files
        start_once(v, work)
    results: dict[str, list[Start]] = {v.key: [] for v in variants}
    for n in range(reps):
        order = list(variants) if n % 2 == 0 else list(reversed(variants))
        for v in order:
            results[v.key].append(start_once(v, work))
    return results


# -- keystrokes ----------------------------------------------------------------------------


@dataclass
class Keystrokes:
    typed_ms: list[float]
    deleted_ms: list[float]
    rows_typed: list[int]
    rows_deleted: list[int]
    reloads: int = 0  # list reloads (store/runs/minute change) during a measured key
    during_reload_ms: list[float] = dataclasses.field(default_factory=list)


def production_service(ws: Workspace) -> Service:
    """The service `python -m tui` opens (next due, last run from the journal, …)."""
    from engine.service import Service

    return Service(ws)


async def measure_keystrokes(ws: Workspace, needle: str = NEEDLE) -> Keystrokes:
    from textual import events
    from textual._compositor import CompositorUpdate
    from textual.screen import Screen
    from textual.widgets import Input

    from tui.__main__ import collect_after_start
    from tui.app import BuchexApp
    from tui.screens.configs import ConfigListScreen
    from tui.widgets.config_table import ConfigTable

    # As `python -m tui` runs it: the collector off during start-up, frozen and back on
    # after the first frame (a collection walking the whole heap mid-key took 20–60 ms).
    gc.disable()
    app = BuchexApp(production_service(ws), cursor_blink=False, started=collect_after_start)
    frame = asyncio.Event()
    expected: list[int] = [-1]  # row count the next frame must show
    done_at: list[float] = [0.0]
    table_box: list[ConfigTable] = []
    original = app._display

    def display(screen: Screen[Any], renderable: Any) -> None:
        original(screen, renderable)
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(app.console)  # what the terminal would be sent
            if table_box and table_box[0].row_count == expected[0] and not frame.is_set():
                done_at[0] = time.perf_counter()
                frame.set()

    app._display = display  # type: ignore[method-assign]

    async with app.run_test(size=(COLS, ROWS)) as pilot:
        screen = app.screen
        assert isinstance(screen, ConfigListScreen), screen
        table = screen.query_one(ConfigTable)
        table_box.append(table)
        deadline = time.monotonic() + 60
        while not (screen.loaded and table.row_count == N_CONFIGS):
            if time.monotonic() > deadline:
                raise ChildFailed(f"list not loaded: {table.row_count} rows")
            await pilot.pause(0.05)
        await pilot.press("slash")
        await pilot.pause()
        assert isinstance(app.focused, Input) and app.focused.id == "filter", app.focused

        def rows_for(text: str) -> int:
            folded = text.strip().casefold()
            return sum(1 for e in screen.entries if not folded or folded in e.haystack)

        result = Keystrokes([], [], [], [])

        async def key(
            name: str, char: str | None, text_after: str, *, settle: bool = True
        ) -> tuple[float, int]:
            if settle:
                await pilot.pause()  # idle, as between a typist's keys
            expected[0] = rows_for(text_after)
            frame.clear()
            assert app._driver is not None
            event = events.Key(name, char)
            event.set_sender(app)
            entries = screen.entries
            start = time.perf_counter()
            app._driver.send_message(event)
            await asyncio.wait_for(frame.wait(), 10)
            elapsed = (done_at[0] - start) * 1000
            if settle and screen.entries is not entries:
                result.reloads += 1
            await pilot.pause()
            shown = len(screen.shown_ids())
            if shown != expected[0] or screen.query_one("#filter", Input).value != text_after:
                raise ChildFailed(f"filter {text_after!r}: {shown} rows, expected {expected[0]}")
            return elapsed, shown

        for n, ch in enumerate(needle):
            ms, shown = await key("space" if ch == " " else ch, ch, needle[: n + 1])
            result.typed_ms.append(ms)
            result.rows_typed.append(shown)
        for n in range(len(needle)):
            ms, shown = await key("backspace", None, needle[: len(needle) - n - 1])
            result.deleted_ms.append(ms)
            result.rows_deleted.append(shown)

        # A key while the list reloads (what every run of the daemon causes via the app's
        # watcher, and every minute): the reload runs in a worker thread. Each
        # reload follows a run that starts, as the daemon writes it, so one row's "Letzter
        # Lauf" changes and the list is redrawn (a reload that changes nothing draws
        # nothing).
        from engine.runs import RunRecord, new_run_id

        configs = ws.list_configs()
        for n in range(RELOAD_KEYS):
            await pilot.pause()
            before = screen.entries
            cfg = configs[n * 97 % len(configs)]
            now = dt.datetime.now().astimezone()
            ws.runs.start(
                RunRecord(new_run_id(now), cfg.id, cfg.name or "", "schedule", now.isoformat())
            )
            screen.reload()
            await asyncio.sleep(0.005)  # the worker has started
            ms, _shown = await key(needle[0], needle[0], needle[0], settle=False)
            result.during_reload_ms.append(ms)
            deadline = time.monotonic() + 30
            while screen.entries is before:
                if time.monotonic() > deadline:
                    raise ChildFailed("the list did not reload")
                await pilot.pause(0.01)
            await key("backspace", None, "")
    gc.enable()  # (if the app never drew a frame)
    return result


@dataclass(frozen=True)
class RunCosts:
    measured_s: float  # Journal.last_run over every config of the data directory
    at_retention_s: float  # the same with RETENTION runs per config, projected


def last_run_costs(ws: Workspace, work: Path) -> RunCosts:
    """What "Letzter Lauf" (`Service.last_run`, Journal.last_run) costs per list load: over
    the 1000 configs as built, and projected from one config holding RETENTION runs."""
    from engine.journal import Journal

    ids = [c.id for c in ws.list_configs()]
    start = time.perf_counter()
    found = sum(1 for cfg_id in ids if ws.runs.last_run(cfg_id) is not None)
    measured = time.perf_counter() - start
    assert found == len(ids), (found, len(ids))

    full = Journal(work / "journal-full.sqlite", work / "locks-full")
    write_runs(full, "voll", run_docs("voll", "voll", RETENTION_RUNS, random.Random(3)))
    times = []
    for _ in range(5):
        start = time.perf_counter()
        full.last_run("voll")
        times.append(time.perf_counter() - start)
    return RunCosts(measured, median(times) * len(ids))


# -- report ------------------------------------------------------------------------------


def timed(what: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = fn()
    print(f"  {what}: {time.perf_counter() - start:.1f} s", flush=True)
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tui", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REPS} statt {REPS} Starts")
    parser.add_argument("--keep", action="store_true", help="Datenverzeichnis nicht löschen")
    parser.add_argument(
        "--runs",
        type=int,
        default=RUNS_PER_CONFIG,
        help=f"Läufe je Schnittstelle (Standard {RUNS_PER_CONFIG}; der Daemon hält bis "
        f"{RETENTION_RUNS})",
    )
    args = parser.parse_args(argv)
    reps = QUICK_REPS if args.quick else REPS

    work = Path(tempfile.mkdtemp(prefix="buchex-bench-tui-"))
    home = work / "home"
    try:
        print(f"Datenverzeichnis {home}", flush=True)
        ws = timed(
            f"{N_CONFIGS} Schnittstellen, {N_CONFIGS * args.runs} Läufe angelegt",
            lambda: build_home(home, args.runs),
        )
        # An installed buchex has its .pyc files (pip writes them, as it did Textual's);
        # a checkout run with PYTHONDONTWRITEBYTECODE would compile engine/ and tui/ on
        # every start and measure the compiler.
        for package in ("engine", "tui"):
            compileall.compile_dir(ROOT / package, quiet=1)
        variants = [
            Variant(
                "buchex",
                "python -m tui",
                BUCHEX_CHILD,
                ("--home", str(home)),
                first_row_name(ws),
                complete=True,
            ),
            Variant("label", "Textual, ein Label", LABEL_CHILD, (), LABEL_MARKER),
            Variant("datatable", "Textual, DataTable 1000×7", TABLE_CHILD, (), TABLE_MARKER),
        ]
        print(f"Kaltstarts ({reps}× je Variante, {COLS}×{ROWS} pty) …", flush=True)
        load_before = os.getloadavg()
        starts = cold_starts(variants, reps, work)
        load_after = os.getloadavg()
        print(f"  Last (1 min) vorher/nachher: {load_before[0]:.2f} / {load_after[0]:.2f}")
        pairs = [  # per round: buchex's complete list / the minimal app (same round)
            b.complete / d.total
            for b, d in zip(starts["buchex"], starts["datatable"], strict=True)
            if b.complete is not None
        ]
        print(f"  je Runde buchex (vollständig) / minimale App: {[round(r, 2) for r in pairs]}")
        for v in variants:
            shown = ", ".join(f"{s.total * 1000:.0f}" for s in starts[v.key])
            done = [f"{s.complete * 1000:.0f}" for s in starts[v.key] if s.complete is not None]
            extra = f" (vollständig: {', '.join(done)} ms)" if done else ""
            print(f"  {v.label}: {shown} ms{extra}", flush=True)
        print(f"Tastendrücke im Filter („{NEEDLE}“, dann {len(NEEDLE)}× Rücktaste) …", flush=True)
        keys = asyncio.run(measure_keystrokes(ws))
        print(f"  Zeilen beim Tippen: {keys.rows_typed}")
        print(f"  Zeilen beim Löschen: {keys.rows_deleted}")
        print(f"  ms beim Tippen: {[round(x, 1) for x in keys.typed_ms]}")
        print(f"  ms beim Löschen: {[round(x, 1) for x in keys.deleted_ms]}", flush=True)
        print(f"  ms während Neuladen: {[round(x, 1) for x in keys.during_reload_ms]}")
        if keys.reloads:
            print(f"  (die Liste wurde während {keys.reloads} Tastendrücken neu geladen)")
        runs = last_run_costs(ws, work)
    except ChildFailed as exc:
        print(f"!!! Messung fehlgeschlagen: {exc}", flush=True)
        return 2
    finally:
        if args.keep:
            print(f"(behalten: {work})")
        else:
            shutil.rmtree(work, ignore_errors=True)

    figures = build_figures(starts, keys, runs, reps, args.runs)
    print()
    rows = [[f.name, f.shown(), f.target or "–", mark(f.ok), f.note] for f in figures]
    print(table(["Messgröße", "Wert", "Ziel", "", "Hinweis"], rows, align="lrrll"))
    missed = [f.name for f in figures if f.ok is False]
    print("\nAlle Ziele erreicht." if not missed else f"\nZIEL VERFEHLT: {'; '.join(missed)}")
    for f in figures:
        emit(f)
    return 0


def build_figures(
    starts: dict[str, list[Start]],
    keys: Keystrokes,
    runs: RunCosts,
    reps: int,
    runs_per_config: int = RUNS_PER_CONFIG,
) -> list[Figure]:
    def med(key: str, attr: str = "total") -> float:
        return median([getattr(s, attr) for s in starts[key]]) * 1000

    drawn, label, datatable = med("buchex"), med("label"), med("datatable")
    # The target's figure: the complete list (every cell worked out) on screen.
    buchex = median([s.complete for s in starts["buchex"] if s.complete is not None]) * 1000
    ratio = buchex / datatable
    fig = _figure
    key_target = f"< {KEY_TARGET_MS:g} ms"
    return [
        fig(
            "Kaltstart buchex bis Liste vollständig",
            buchex,
            "ms",
            note=f"Filiale, Nächste Ausführung, Letzter Lauf; Median aus {reps}",
        ),
        fig(
            "Kaltstart minimale Textual-App",
            datatable,
            "ms",
            note=f"DataTable {N_CONFIGS}×7, Median aus {reps}",
        ),
        fig(
            "Kaltstart buchex / minimale App",
            ratio,
            "×",
            target=f"≤ {RATIO_TARGET:g}×",
            ok=ratio <= RATIO_TARGET,
            note="Liste vollständig",
        ),
        fig(
            "  buchex: Liste gezeichnet",
            drawn,
            "ms",
            note=f"erste Zeilen; {drawn / datatable:.2f}× die minimale App",
        ),
        fig(
            "  buchex: erstes Bild",
            med("buchex", "first_frame"),
            "ms",
        ),
        fig("  Interpreter bereit", med("label", "interpreter"), "ms"),
        fig(
            "  Textual-App nur mit Label",
            label,
            "ms",
            note=f"Textuals Boden; buchex = {buchex / label:.1f}×",
        ),
        fig(
            "Filter: Tastendruck (Median)",
            median(keys.typed_ms),
            "ms",
            target=key_target,
            ok=median(keys.typed_ms) < KEY_TARGET_MS,
            note=f"{len(keys.typed_ms)} Zeichen",
        ),
        fig(
            "Filter: Tastendruck (Max)",
            max(keys.typed_ms),
            "ms",
            target=key_target,
            ok=max(keys.typed_ms) < KEY_TARGET_MS,
        ),
        fig(
            "Filter: Rücktaste (Median)",
            median(keys.deleted_ms),
            "ms",
            target=key_target,
            ok=median(keys.deleted_ms) < KEY_TARGET_MS,
            note=f"{len(keys.deleted_ms)} Zeichen",
        ),
        fig(
            "Filter: Rücktaste (Max)",
            max(keys.deleted_ms),
            "ms",
            target=key_target,
            ok=max(keys.deleted_ms) < KEY_TARGET_MS,
        ),
        fig(
            "Filter: Taste während Neuladen (Median)",
            median(keys.during_reload_ms),
            "ms",
            target=key_target,
            ok=median(keys.during_reload_ms) < KEY_TARGET_MS,
            note=f"{len(keys.during_reload_ms)}×; jeder Lauf und jede Minute lädt neu",
        ),
        fig(
            "Filter: Taste während Neuladen (Max)",
            max(keys.during_reload_ms),
            "ms",
            target=key_target,
            ok=max(keys.during_reload_ms) < KEY_TARGET_MS,
        ),
        fig(
            f"„Letzter Lauf“ × {N_CONFIGS} ({runs_per_config} Läufe je)",
            runs.measured_s * 1000,
            "ms",
            note="Journal.last_run, bei jedem Laden der Liste",
        ),
        fig(
            f"„Letzter Lauf“ × {N_CONFIGS} ({RETENTION_RUNS} Läufe je)",
            runs.at_retention_s * 1000,
            "ms",
            note="hochgerechnet: RETENTION voll",
        ),
    ]


def _figure(
    name: str,
    value: float,
    unit: str,
    *,
    target: str = "",
    ok: bool | None = None,
    note: str = "",
) -> Figure:
    return Figure(BENCH, name, value, unit, target, ok, note, digits=2 if unit == "×" else 1)


if __name__ == "__main__":
    raise SystemExit(main())
