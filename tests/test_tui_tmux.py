"""Smoke tests of the real program in a real terminal: `buchex tui` and `buchex demo` in tmux.

Each test runs its own tmux server (`-L <unique name>`, no user config, status line off,
`remain-on-exit` so that the last screen can still be read), types with `send-keys` and
reads the screen with `capture-pane -p`; a `sh` wrapper writes the program's exit status.
Waiting is always "poll until the screen (or the disk) shows it, with a deadline", never a
fixed sleep.

Skipped only when `tmux` is missing (CI installs it via .ci/run).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal, TypeVar

import pytest

from engine.workspace import Workspace
from tests.test_tui_support import demo_raw, make_workspace

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(
    TMUX is None, reason="tmux ist nicht installiert (CI installiert es über .ci/run)"
)

COLS, ROWS = 100, 30
START_TIMEOUT = 60.0  # the first start compiles .pyc files; CI machines can be slow
DEMO_TIMEOUT = 180.0  # the demo writes a year of demo books before the UI starts
STEP_TIMEOUT = 15.0
# "1 von 2 Schnittstellen", "2 Schnittstellen", "1 Schnittstelle" (the list's status line)
STATUS = re.compile(r"^\s*(\d+ von \d+ Schnittstellen|\d+ Schnittstellen?)\s*$", re.MULTILINE)
# pyftpdlib's default log format, e.g. "[I 2026-11-24 08:05:12] 127.0.0.1:… failed login."
FTP_LOG_LINE = re.compile(r"\[[DIWE] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]")

T = TypeVar("T")


def buchex_command() -> str:
    """The console script of the Python running the tests (the venv's `buchex`)."""
    script = Path(sys.executable).with_name("buchex")
    if script.exists():
        return str(script)
    found = shutil.which("buchex")
    if found is None:
        pytest.skip("das Programm `buchex` ist nicht installiert (pip install -e .)")
    return found


def poll(probe: Callable[[], T | None], what: str, timeout: float, last: Callable[[], str]) -> T:
    """Call `probe` until it returns something not None; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"nach {timeout:g} s nicht erreicht: {what}\n{last()}")
        time.sleep(0.05)


class Tmux:
    """One private tmux server with one session of COLS×ROWS running `command`."""

    def __init__(self, workdir: Path, command: Sequence[str]) -> None:
        assert TMUX is not None
        self.socket = f"buchex-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.target = "buchex"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TEXTUAL", "TMUX")) and k not in ("BUCHEX_HOME", "NO_COLOR")
        }
        # UTF-8 (umlauts, box drawing) for tmux and the program; a known TERM for tmux.
        self.env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color")
        # The TUI's own preferences (theme): the test's, not the user's (tui/preferences.py).
        self.env["BUCHEX_TUI_CONFIG"] = str(workdir / "tui.json")
        config = workdir / "tmux.conf"
        config.write_text("set -g remain-on-exit on\nset -g status off\nset -g history-limit 0\n")
        self.screens: list[str] = []  # every screen read, for checks across the whole run
        # `sh` runs the program and writes its exit status (128+N: ended by signal N).
        self.status_file = workdir / f"{self.socket}.exit"
        wrapped = ["sh", "-c", '"$@"; echo $? > "$0"', str(self.status_file), *command]
        self._run(
            "-f",
            str(config),
            "new-session",
            "-d",
            "-x",
            str(COLS),
            "-y",
            str(ROWS),
            "-s",
            self.target,
            shlex.join(wrapped),
        )
        self.socket_path = Path(self._run("display-message", "-p", "#{socket_path}").strip())

    def _run(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run(
            [TMUX, "-u", "-L", self.socket, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    def screen(self) -> str:
        text = self._run("capture-pane", "-p", "-t", self.target)
        self.screens.append(text)
        return text

    def keys(self, *keys: str) -> None:
        """tmux key names: "Enter", "BSpace", "C-q", "/", "a", …"""
        self._run("send-keys", "-t", self.target, *keys)

    def type(self, text: str) -> None:
        self._run("send-keys", "-t", self.target, "-l", text)

    def wait_screen(
        self,
        contains: Sequence[str] = (),
        lacks: Sequence[str] = (),
        status: str | None = None,
        focus: Literal["table", "filter"] | None = None,
        timeout: float = STEP_TIMEOUT,
    ) -> str:
        """Until the screen shows every `contains`, none of `lacks`, the list's `status` and
        the focus on the list's table or its filter (read from the footer)."""

        def probe() -> str | None:
            text = self.screen()
            ok = all(s in text for s in contains) and not any(s in text for s in lacks)
            if ok and status is not None:
                found = STATUS.search(text)
                ok = found is not None and found.group(1) == status
            if ok and focus is not None:
                ok = focused(text) == focus
            return text if ok else None

        what = (
            f"Bildschirm mit {list(contains)}, ohne {list(lacks)}, Status {status!r}, "
            f"Fokus {focus!r}"
        )
        return poll(probe, what, timeout, lambda: self.screens[-1] if self.screens else "")

    def exit_status(self) -> int | None:
        """The program's exit status once it has ended, else None (from the wrapper's
        file: tmux 3.3 sometimes marks the pane dead without filling in its status)."""
        try:
            text = self.status_file.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text else None  # empty: the shell is writing it right now

    def wait_exit(self, timeout: float = STEP_TIMEOUT) -> int:
        return poll(self.exit_status, "Programmende", timeout, self.screen)

    def kill(self) -> None:
        subprocess.run(
            [TMUX or "tmux", "-L", self.socket, "kill-server"],
            env=self.env,
            capture_output=True,
            timeout=30,
            check=False,
        )
        self.socket_path.unlink(missing_ok=True)  # kill-server leaves it behind


def focused(screen: str) -> str | None:
    """Where the list's focus is, from its footer (the last line): the table's bindings
    ("⏎ Bearbeiten", "n Neu", …) are shown only while the table has the focus; with the
    filter focused the footer keeps "/ Suchen" and drops the letter keys."""
    lines = [line for line in screen.splitlines() if line.strip()]
    footer = lines[-1] if lines else ""
    if "Bearbeiten" in footer:
        return "table"
    if "Suchen" in footer:
        return "filter"
    return None


def processes_with(*parts: str) -> list[int]:
    """PIDs whose command line contains every one of `parts` (from /proc, no pgrep)."""
    pids: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if all(p in cmdline for p in parts):
            pids.append(int(entry.name))
    return pids


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:  # a zombie has ended; only its parent has not collected it yet
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.fixture
def tmux_session() -> Iterator[Callable[[Path, Sequence[str]], Tmux]]:
    started: list[Tmux] = []

    def start(workdir: Path, command: Sequence[str]) -> Tmux:
        session = Tmux(workdir, command)
        started.append(session)
        return session

    yield start
    for session in started:
        session.kill()


def two_configs(home: Path) -> Workspace:
    """Demo books and two configs, one of them bound to a workstation."""
    ws = make_workspace(home)
    ws.save_configs(
        [
            demo_raw("stb-schroeder"),
            demo_raw(
                "wuerzburg-kasse",
                name="Filiale Würzburg (Kasse)",
                branch="1",
                workstation="KASSE-WUE-01",
                server_side=False,
                target={"protocol": "sftp", "host": "sftp.datev-kanzlei.example", "port": 2222},
                payment_methods=["BAR", "EC"],
                interval={"kind": "hourly", "every_minutes": 15},
                time=None,
            ),
        ]
    )
    return ws


SCHROEDER = "Steuerbüro Schröder"
WUERZBURG = "Filiale Würzburg"  # the Name column crops "… (Kasse)" at 100 columns


def test_buchex_tui_filters_and_quits(
    tmp_path: Path, tmux_session: Callable[[Path, Sequence[str]], Tmux]
) -> None:
    home = tmp_path / "home"
    two_configs(home)
    tmux = tmux_session(tmp_path, [buchex_command(), "--home", str(home), "tui"])

    tmux.wait_screen(
        ["Schnittstellen", SCHROEDER, WUERZBURG, "Mit Arbeitsplatz-einstellungen"],
        status="2 Schnittstellen",
        focus="table",  # the footer lags behind the first focus change: wait for it
        timeout=START_TIMEOUT,
    )

    # "/" focuses the filter; "kasse" is in the Würzburg config's name and id only. Typing
    # waits for the focus to arrive (see test_keys_right_after_slash_go_to_the_filter).
    tmux.keys("/")
    tmux.wait_screen(focus="filter")
    tmux.type("kasse")
    tmux.wait_screen(["kasse", WUERZBURG], [SCHROEDER], status="1 von 2 Schnittstellen")
    tmux.keys(*["BSpace"] * len("kasse"))
    tmux.wait_screen(
        [SCHROEDER, WUERZBURG, "Suchen: Name, Host oder ID"], status="2 Schnittstellen"
    )

    # Enter leaves the filter for the table; "a" toggles "Mit Arbeitsplatz-einstellungen".
    tmux.keys("Enter")
    tmux.wait_screen(focus="table")
    tmux.keys("a")
    # (The Rechner column "KASSE-WUE-01" now sits behind the status columns at this width.)
    tmux.wait_screen([WUERZBURG], [SCHROEDER], status="1 von 2 Schnittstellen")
    tmux.keys("a")
    tmux.wait_screen([SCHROEDER, WUERZBURG], status="2 Schnittstellen")

    tmux.keys("q")
    assert tmux.wait_exit() == 0
    assert "Traceback" not in tmux.screen()


def test_keys_right_after_slash_go_to_the_filter(
    tmp_path: Path, tmux_session: Callable[[Path, Sequence[str]], Tmux]
) -> None:
    home = tmp_path / "home"
    two_configs(home)
    tmux = tmux_session(tmp_path, [buchex_command(), "--home", str(home), "tui"])
    tmux.wait_screen([SCHROEDER, WUERZBURG], status="2 Schnittstellen", timeout=START_TIMEOUT)
    tmux.type("/kasse")  # one write: the program reads "/" and "kasse" at once
    tmux.wait_screen(["kasse", WUERZBURG], [SCHROEDER], status="1 von 2 Schnittstellen", timeout=5)


def test_buchex_demo_delivers_mails_and_stops_everything(
    tmp_path: Path, tmux_session: Callable[[Path, Sequence[str]], Tmux]
) -> None:
    home = tmp_path / "demo"
    home.mkdir()
    daemon_cmdline = ("engine", "--home", str(home), "daemon")
    tmux = tmux_session(tmp_path, [buchex_command(), "--home", str(home), "demo"])
    try:
        tmux.wait_screen(
            ["Schnittstellen", "Steuerbüro Schröder", "Kanzlei Weiß, CSV"],
            status="4 Schnittstellen",
            timeout=DEMO_TIMEOUT,
        )
        first_tui = len(tmux.screens) - 1
        ftp_root = home / "ftp-root"
        delivered = poll(
            lambda: sorted(ftp_root.rglob("EXTF_*.csv")) or None,
            f"gelieferte EXTF_*.csv unter {ftp_root}",
            DEMO_TIMEOUT,
            tmux.screen,
        )
        assert all(p.stat().st_size > 0 for p in delivered)

        def daemon_pid() -> int | None:
            try:
                return int(json.loads((home / "daemon.json").read_text())["pid"])
            except (OSError, ValueError, KeyError):
                return None

        pid = poll(daemon_pid, "daemon.json mit der PID des Daemons", DEMO_TIMEOUT, tmux.screen)
        assert alive(pid)
        # The second first run ("falsches Passwort") fails and mails; the TUI is still up.
        mail_dir = home / "mails"
        poll(
            lambda: sorted(mail_dir.glob("*.eml")) or None,
            f"Fehler-Mail in {mail_dir}",
            DEMO_TIMEOUT,
            tmux.screen,
        )
        tmux.screen()  # the TUI as it is when quitting
        tui_screens = tmux.screens[first_tui:]  # the alternate screen, nothing before or after

        tmux.keys("C-q")
        # The demo stops the daemon (SIGTERM, up to 40 s) and waits for its first runs.
        assert tmux.wait_exit(timeout=90) == 0
        final = tmux.screen()
        assert "Demo beendet" in final, final
        assert "Traceback" not in final, final
        assert "=?utf-8?" not in final.lower(), final  # subjects decoded for people
        assert not alive(pid)
        assert processes_with(*daemon_cmdline) == []
        mails = sorted(mail_dir.glob("*.eml"))
        assert mails, "keine Fehler-Mail für „Kanzlei Weiß, CSV (falsches Passwort)“"
        assert "Kanzlei" in mails[0].read_text(errors="replace")
        # Every file the demo leaves (mails, logs, delivered files, the data) is 0600.
        loose = [f"{oct(p.stat().st_mode & 0o777)} {p}" for p in home.rglob("*")
                 if p.is_file() and p.stat().st_mode & 0o077]  # fmt: skip
        assert not loose, loose
    finally:
        tmux.kill()
        for leftover in processes_with(*daemon_cmdline):  # only after a failure above
            os.kill(leftover, signal.SIGTERM)

    # The demo's servers log to a file: nothing of pyftpdlib's is drawn into the TUI.
    garbled = [s for s in tui_screens if FTP_LOG_LINE.search(s)]
    assert not garbled, garbled[0] if garbled else ""


def test_closing_the_terminal_stops_the_demo_daemon(
    tmp_path: Path, tmux_session: Callable[[Path, Sequence[str]], Tmux]
) -> None:
    home = tmp_path / "demo"
    home.mkdir()
    daemon_cmdline = ("engine", "--home", str(home), "daemon")
    tmux = tmux_session(tmp_path, [buchex_command(), "--home", str(home), "demo"])
    try:
        tmux.wait_screen(["Schnittstellen"], status="4 Schnittstellen", timeout=DEMO_TIMEOUT)
        poll(lambda: processes_with(*daemon_cmdline) or None, "der Daemon", DEMO_TIMEOUT,
             tmux.screen)  # fmt: skip
        tmux.kill()  # the terminal goes away: SIGHUP to everything in it
        poll(lambda: processes_with(*daemon_cmdline) == [] or None, "kein Daemon mehr", 60,
             lambda: str(processes_with(*daemon_cmdline)))  # fmt: skip
    finally:
        for leftover in processes_with(*daemon_cmdline):
            os.kill(leftover, signal.SIGTERM)


# --- a run owned by a TUI whose terminal goes away (issue 14) ---------------------------------

HUNG_NAME = "Hängt am Server"


def _start_run(tmux: Tmux, ws: Workspace, cfg_id: str) -> None:
    """r on the only row; outside 06:00–22:00 (real clock) answer the question with j."""
    tmux.keys("r")

    def probe() -> bool | None:
        if "außerhalb 06:00–22:00" in tmux.screen():  # the question wraps at 80 columns
            tmux.keys("j")
        return True if ws.runs.running(cfg_id) else None

    poll(probe, "der Lauf hat begonnen", 30, tmux.screen)


def _delivering(ws: Workspace, cfg_id: str) -> bool | None:
    running = ws.runs.running(cfg_id)
    return True if running and running[0].progress.get("step") == "Übertragung" else None


def _ended(ws: Workspace, cfg_id: str) -> str | None:
    """The stored record's reason once the run wrote its end (not a reader's liveness
    verdict: `running` reads the stored status)."""
    if ws.runs.running(cfg_id):
        return None
    [run] = ws.runs.runs(cfg_id)
    return f"{run.status} | {run.step} | {run.reason}"


@pytest.mark.parametrize("how", ["kill-server", "SIGHUP"])
def test_closing_the_terminal_cancels_the_tuis_hanging_run(
    tmp_path: Path, tmux_session: Callable[[Path, Sequence[str]], Tmux], how: str
) -> None:
    from tests.servers import silent_listener

    home = tmp_path / "home"
    ws = make_workspace(home)
    with silent_listener() as port:
        target = {"protocol": "ftp", "host": "127.0.0.1", "port": port, "user": "kanzlei"}
        ws.save_config(demo_raw("haengt", name=HUNG_NAME, target=target))
        tmux = tmux_session(tmp_path, [buchex_command(), "--home", str(home), "tui"])
        tmux.wait_screen([HUNG_NAME], status="1 Schnittstelle", focus="table",
                         timeout=START_TIMEOUT)  # fmt: skip
        _start_run(tmux, ws, "haengt")
        poll(lambda: _delivering(ws, "haengt"), "der Lauf verbindet sich", 30, tmux.screen)
        [pid] = processes_with("-m", "tui", "--home", str(home))
        if how == "SIGHUP":
            os.kill(pid, signal.SIGHUP)
        else:
            tmux.kill()  # the terminal goes away: SIGHUP to everything in it
        ended = poll(lambda: _ended(ws, "haengt"), "Lauf als abgebrochen vermerkt", 20,
                     lambda: str(ws.runs.runs("haengt")))  # fmt: skip
        poll(lambda: not alive(pid) or None, "die TUI hat sich beendet", 20, lambda: str(pid))
    assert ended == "failed | Verbinden | abgebrochen: Terminal geschlossen (SIGHUP)"


def test_closing_the_terminal_mid_upload_leaves_no_file_on_the_server(
    tmp_path: Path, tmux_session: Callable[[Path, Sequence[str]], Tmux]
) -> None:
    from tests.servers import serve_ftp_handler
    from tests.test_tui_progress import PASSWORD, USER, _slow_handler

    home = tmp_path / "home"
    ws = make_workspace(home)
    root = tmp_path / "ftp"
    root.mkdir()
    with serve_ftp_handler(_slow_handler(root)) as port:
        target = {"protocol": "ftp", "host": "127.0.0.1", "port": port, "user": USER,
                  "password": PASSWORD}  # fmt: skip
        ws.save_config(demo_raw("langsam", name="Langsamer Server", target=target))
        tmux = tmux_session(tmp_path, [buchex_command(), "--home", str(home), "tui"])
        tmux.wait_screen(["Langsamer Server"], status="1 Schnittstelle", focus="table",
                         timeout=START_TIMEOUT)  # fmt: skip
        _start_run(tmux, ws, "langsam")
        poll(lambda: any(p.stat().st_size > 0 for p in root.rglob("*.buchex-tmp")) or None,
             "Bytes des ersten Uploads auf dem Server", 30, tmux.screen)  # fmt: skip
        tmux.kill()
        ended = poll(lambda: _ended(ws, "langsam"), "Lauf als abgebrochen vermerkt", 20,
                     lambda: str(ws.runs.runs("langsam")))  # fmt: skip
        left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert ended.startswith("failed | Hochladen | abgebrochen: Terminal geschlossen (SIGHUP)")
    # No final file, partial or whole. A temporary upload name may stay when the cancel
    # had to cut the connection (a loaded machine misses the 2 s grace): the next run's
    # reconcile removes it (tests/test_delivery_crash.py).
    assert [name for name in left if not name.endswith(".buchex-tmp")] == []
    assert ws.runs.watermarks("langsam") == {}


def test_quitting_does_not_wait_for_a_hanging_connection_test(
    tmp_path: Path, tmux_session: Callable[[Path, Sequence[str]], Tmux]
) -> None:
    from tests.servers import silent_listener

    home = tmp_path / "home"
    ws = make_workspace(home)
    with silent_listener() as port:
        target = {"protocol": "ftp", "host": "127.0.0.1", "port": port, "user": "kanzlei"}
        ws.save_config(demo_raw("haengt", name=HUNG_NAME, target=target))
        tmux = tmux_session(tmp_path, [buchex_command(), "--home", str(home), "tui"])
        tmux.wait_screen([HUNG_NAME], status="1 Schnittstelle", focus="table",
                         timeout=START_TIMEOUT)  # fmt: skip
        tmux.keys("t")  # the test's worker hangs in the silent server (30 s timeout)
        tmux.wait_screen(["Verbindungstest läuft"])
        tmux.keys("C-q")
        started = time.monotonic()
        assert tmux.wait_exit(timeout=10) == 0
    assert time.monotonic() - started < 10
