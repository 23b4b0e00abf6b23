"""The Protokoll (live run log), manual runs outside the window, and SFTP host keys in the TUI.

Pilot tests on a real data directory with the engine's `Service` against local servers
(pyftpdlib, a paramiko SFTP server). Runs written by other processes must appear without a
key press: every wait polls the screen with a deadline.
"""

from __future__ import annotations

import copy
import datetime as dt
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.widgets import Button, Checkbox, Select

from engine.config import ExportConfig
from engine.paths import DataDir
from engine.runs import RunRecord
from engine.service import Service
from engine.transports import ChangedHostKey, KnownHosts, StepResult, UnknownHostKey
from engine.workspace import Workspace
from tests.conftest import ROOT
from tests.servers import FTPServer, make_ssh_key, paramiko_sftp_server
from tests.test_tui_support import (
    FixedClock,
    Notes,
    demo_raw,
    make_workspace,
    pilot_test,
    seed_configs,
    settle,
    until,
)
from tui.app import BuchexApp
from tui.screens.configs import ConfigListScreen
from tui.screens.editor import EditorScreen
from tui.screens.hostkey import HostKeyDialog, HostKeyTestDialog
from tui.screens.outside_window import OutsideWindowDialog
from tui.screens.protocol import (
    ProtocolScreen,
    RunDetail,
    RunDetailScreen,
    RunTable,
    duration,
    euro,
    make_row,
    short_time,
    thousands,
)
from tui.widgets.config_table import ConfigTable
from tui.widgets.step_log import StepLog

SIZE = (120, 40)
BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 11, 20, 9, 15, tzinfo=dt.UTC)  # 10:15 in Berlin

# --- fixed run records (also used by the snapshots) ---------------------------------------

FOLDER = "/Automatischer_Buchhaltungsexport_2026-11-20"
FILES: list[dict[str, Any]] = [
    {
        "name": "EXTF_Buchungsstapel_29098_55003_20261120_001.csv",
        "remote_path": f"{FOLDER}/EXTF_Buchungsstapel_29098_55003_20261120_001.csv",
        "size": 48213,
        "sha256": "9f2c4e1ab37d55e0c1f4a8b2d6e7f90112233445566778899aabbccddeeff00",
        "rows": 212,
        "debit_cents": 1834590,
        "credit_cents": 1834590,
    },
    {
        "name": "EXTF_Debitoren_29098_55003_20261120.csv",
        "remote_path": f"{FOLDER}/EXTF_Debitoren_29098_55003_20261120.csv",
        "size": 9120,
        "sha256": "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "rows": 37,
    },
]
SCHROEDER = "Steuerbüro Schröder"
KASSE = "Filiale Würzburg (Kasse)"
WEISS = "Hörgeräte Weiß monatlich"
RUNNING_ID = "20261120T091500000000-aa0007"
FAILED_ID = "20261120T090000000000-aa0006"
OK_ID = "20261120T063000000000-aa0005"
SKIPPED_ID = "20261120T060000000000-aa0004"
NOTHING_ID = "20261120T053000000000-aa0003"
CATCHUP_ID = "20261120T050000000000-aa0002"
CLI_ID = "20261119T163000000000-aa0001"


def record(ws: Workspace, **fields: Any) -> RunRecord:
    """Store a run as the runner does: start, and finish unless it is still running."""
    run = RunRecord(**fields)
    ws.runs.start(run)
    if run.status != "running":
        ws.runs.finish(run)
    return run


def _run(run_id: str, cfg_id: str, name: str, trigger: str, **fields: Any) -> dict[str, Any]:
    return {"id": run_id, "config_id": cfg_id, "config_name": name, "trigger": trigger, **fields}


SEED_RUNS: list[dict[str, Any]] = [
    _run(
        CLI_ID,
        "stb-schroeder",
        SCHROEDER,
        "cli",
        started_at="2026-11-19T17:30:00+01:00",
        finished_at="2026-11-19T17:30:07+01:00",
        status="ok",
        files=FILES[:1],
        attempts=1,
        steps=["Export: 1 Datei(en), 212 Zeilen"],
    ),
    _run(
        CATCHUP_ID,
        "wuerzburg-kasse",
        KASSE,
        "catchup",
        due_at="2026-11-19T21:45:00+01:00",
        started_at="2026-11-20T06:00:02+01:00",
        finished_at="2026-11-20T06:00:33+01:00",
        status="failed",
        step="Verbinden",
        reason="Server nicht erreichbar (sftp.datev-kanzlei.example:2222)",
        attempts=3,
        mail="gesendet an buchhaltung@optik-mueller.example",
        steps=[
            "Export: 1 Datei(en), 14 Zeilen",
            "Versuch 1 fehlgeschlagen (Verbinden: Zeitüberschreitung); neuer Versuch",
            "Versuch 2 fehlgeschlagen (Verbinden: Zeitüberschreitung); neuer Versuch",
        ],
    ),
    _run(
        NOTHING_ID,
        "stb-schroeder",
        SCHROEDER,
        "schedule",
        due_at="2026-11-20T06:30:00+01:00",
        started_at="2026-11-20T06:30:00+01:00",
        finished_at="2026-11-20T06:30:01+01:00",
        status="nothing",
        reason="nichts zu exportieren",
    ),
    _run(
        SKIPPED_ID,
        "weiss-monatlich",
        WEISS,
        "schedule",
        due_at="2026-11-20T07:00:00+01:00",
        started_at="2026-11-20T07:00:00+01:00",
        finished_at="2026-11-20T07:00:00+01:00",
        status="skipped",
        reason="die vorige Ausführung läuft noch",
    ),
    _run(
        OK_ID,
        "stb-schroeder",
        SCHROEDER,
        "manual",
        started_at="2026-11-20T07:30:12+01:00",
        finished_at="2026-11-20T07:30:19+01:00",
        status="ok",
        files=FILES,
        attempts=1,
        steps=[
            "Export: 2 Datei(en), 249 Zeilen",
            f"übertragen: {FILES[0]['remote_path']} (48213 B)",
            f"übertragen: {FILES[1]['remote_path']} (9120 B)",
        ],
        warnings=[
            "Journal-Nr. 1042, Buchungstext: auf 60 Zeichen gekürzt",
            "Journal-Nr. 1057, Belegfeld 1: Leerzeichen und Umlaute ersetzt",
        ],
    ),
    _run(
        FAILED_ID,
        "wuerzburg-kasse",
        KASSE,
        "schedule",
        due_at="2026-11-20T10:00:00+01:00",
        started_at="2026-11-20T10:00:01+01:00",
        finished_at="2026-11-20T10:00:04+01:00",
        status="failed",
        step="Anmelden",
        reason="Anmeldung abgelehnt (Passwort oder Schlüssel falsch)",
        attempts=1,
        mail="nicht gesendet: SMTP-Server nicht erreichbar",
        steps=["Export: 1 Datei(en), 18 Zeilen"],
        warnings=["Journal-Nr. 2201, KOST1: auf 36 Zeichen gekürzt"],
    ),
    _run(
        RUNNING_ID,
        "wuerzburg-kasse",
        KASSE,
        "schedule",
        due_at="2026-11-20T10:15:00+01:00",
        started_at="2026-11-20T10:15:00+01:00",
        status="running",
        steps=["Export: 1 Datei(en), 9 Zeilen"],
    ),
]


def seed_runs(ws: Workspace) -> None:
    """Seven runs of the three `seed_configs` configs: every status and trigger."""
    for fields in SEED_RUNS:
        record(ws, **copy.deepcopy(fields))


class Ticking:
    """A clock that starts at `start` and runs in real time: runs get increasing ids, and
    the tests do not depend on the hour they run at (manual runs need 06:00–22:00)."""

    def __init__(self, start: dt.datetime) -> None:
        self._start = start
        self._t0 = time.monotonic()

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=time.monotonic() - self._t0)


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path / "home")
    ws.save_chain_settings({"timezone": "Europe/Berlin"})
    return ws


@pytest.fixture
def seeded(ws: Workspace) -> Workspace:
    seed_configs(ws)
    seed_runs(ws)
    return ws


def ftp_raw(ftp: FTPServer, cfg_id: str = "stb", **changes: Any) -> dict[str, Any]:
    target = {
        "protocol": "ftp",
        "host": ftp.host,
        "port": ftp.port,
        "user": ftp.user,
        "password": ftp.password,
    }
    return demo_raw(cfg_id, name="Kanzlei per FTP", target=target, **changes)


def protocol(app: BuchexApp) -> ProtocolScreen:
    screen = app.screen
    assert isinstance(screen, ProtocolScreen)
    return screen


async def open_protocol(pilot: Any) -> ProtocolScreen:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
    await pilot.press("p")
    await until(
        pilot, lambda: isinstance(app.screen, ProtocolScreen) and app.screen.loaded, "Protokoll"
    )
    await settle(pilot)
    return protocol(app)


def cells(screen: ProtocolScreen, run_id: str) -> tuple[str, ...]:
    return screen.query_one(RunTable).get_row(run_id).cells


def status_of(screen: ProtocolScreen, run_id: str) -> str | None:
    table = screen.query_one(RunTable)
    return table.get_row(run_id).cells[3] if run_id in table.keys else None


async def select_list_row(pilot: Any, cfg_id: str) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, ConfigListScreen)
    await until(pilot, lambda: screen.loaded)
    table = screen.query_one(ConfigTable)
    table.move_cursor(row=screen.shown_ids().index(cfg_id))
    table.focus()
    await pilot.pause()


def child(code: str, home: Path) -> subprocess.Popen[str]:
    """A second process writing to the same data directory."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), str(home)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# --- pure display helpers -----------------------------------------------------------------


def test_display_texts_are_german() -> None:
    assert thousands(1234567) == "1.234.567"
    assert euro(1834590) == "18.345,90 €" and euro(5) == "0,05 €" and euro(-12345) == "-123,45 €"
    assert short_time("2026-11-20T10:00:01+01:00") == "20.11. 10:00:01"
    assert short_time(None) == "–"
    assert duration("2026-11-20T10:00:01+01:00", "2026-11-20T10:02:06+01:00") == "2 min 5 s"
    failed = RunRecord(
        id="x",
        config_id="c",
        config_name="Kanzlei",
        trigger="catchup",
        started_at="2026-11-20T06:00:02+01:00",
        status="failed",
        step="Anmelden",
        reason="Anmeldung abgelehnt",
    )
    assert make_row(failed).cells == (
        "20.11. 06:00:02",
        "Kanzlei",
        "Nachholung",
        "✗ fehlgeschlagen",
        "–",
        "–",
        "Anmelden: Anmeldung abgelehnt",
    )
    ok = RunRecord(
        id="y",
        config_id="c",
        config_name="Kanzlei",
        trigger="schedule",
        started_at="2026-11-20T06:30:00+01:00",
        status="ok",
        files=FILES,
    )
    assert make_row(ok).cells[2:6] == ("Plan", "✓ erfolgreich", "2", "249")


# --- live ---------------------------------------------------------------------------------


@pilot_test
async def test_a_run_by_another_process_appears_without_a_key_press(
    ws: Workspace, ftp: FTPServer
) -> None:
    ws.save_config(ftp_raw(ftp))
    app = BuchexApp(Service(ws, clock=FixedClock(NOW)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_protocol(pilot)
        assert screen.shown_ids() == []
        # The real CLI in a child process, as the daemon or an admin's shell would run it.
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "engine",
                "--home",
                str(ws.data_dir.root),
                "run",
                "stb",
                "--force",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            await until(
                pilot,
                lambda: any(status_of(screen, k) == "✓ erfolgreich" for k in screen.shown_ids()),
                "the child's run, finished, in the open Protokoll",
                timeout=60,
            )
        finally:
            out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, out + err
        [run_id] = screen.shown_ids()
        row = cells(screen, run_id)
        assert row[1:4] == ("Kanzlei per FTP", "CLI", "✓ erfolgreich")
        assert int(row[4]) >= 1 and int(row[5].replace(".", "")) > 0
        assert list(ftp.root.glob("Automatischer_Buchhaltungsexport_*/EXTF_*.csv"))


RUN_IN_CHILD = """
    import sys, time
    from pathlib import Path
    from engine.paths import DataDir
    from engine.runs import RunRecord
    from engine.workspace import Workspace

    home = Path(sys.argv[1])
    ws = Workspace(DataDir.open(home))
    run = RunRecord(id="20261120T093000000000-cc0001", config_id="stb-schroeder",
                    config_name="Steuerbüro Schröder", trigger="schedule",
                    started_at="2026-11-20T10:30:00+01:00", due_at="2026-11-20T10:30:00+01:00")
    ws.runs.start(run)
    deadline = time.monotonic() + 60
    while not (home / "go").exists():  # the test says when it saw "läuft"
        if time.monotonic() > deadline:
            sys.exit("no go")
        time.sleep(0.01)
    run.steps.append("Export: 1 Datei(en), 5 Zeilen")
    ws.runs.update(run)
    run.status, run.step, run.reason = "failed", "Verbinden", "Verbindung abgelehnt"
    run.finished_at = "2026-11-20T10:30:02+01:00"
    ws.runs.finish(run)
"""


@pilot_test
async def test_a_running_run_turns_into_its_result_live(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded, clock=FixedClock(NOW)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_protocol(pilot)
        table = screen.query_one(RunTable)
        table.move_to_key(OK_ID)
        await pilot.pause()
        proc = child(RUN_IN_CHILD, seeded.data_dir.root)
        new = "20261120T093000000000-cc0001"
        try:
            await until(pilot, lambda: status_of(screen, new) == "▶ läuft", "running", timeout=30)
            assert screen.shown_ids()[0] == new  # newest first
            assert table.current_key == OK_ID  # the cursor stayed on its run
            (seeded.data_dir.root / "go").touch()
            await until(
                pilot, lambda: status_of(screen, new) == "✗ fehlgeschlagen", "failed", timeout=30
            )
        finally:
            out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, out + err
        assert cells(screen, new)[6] == "Verbinden: Verbindung abgelehnt"
        assert table.current_key == OK_ID


@pilot_test
async def test_quick_successive_changes_all_arrive(seeded: Workspace) -> None:
    """Many quick changes (start, update, finish within milliseconds) all arrive: the
    directory stamp's coarse clock must not swallow the last one."""
    other = Workspace(DataDir.open(seeded.data_dir.root))
    app = BuchexApp(Service(seeded, clock=FixedClock(NOW)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_protocol(pilot)
        for n in range(5):
            run = RunRecord(
                id=f"20261120T1000000000{n:02d}-dd0001",
                config_id="weiss-monatlich",
                config_name=WEISS,
                trigger="schedule",
                started_at=f"2026-11-20T11:00:{n:02d}+01:00",
            )
            other.runs.start(run)
            run.steps.append("Export: 1 Datei(en), 3 Zeilen")
            other.runs.update(run)
            run.status, run.finished_at = "ok", run.started_at
            other.runs.finish(run)
        await until(
            pilot,
            lambda: all(
                status_of(screen, f"20261120T1000000000{n:02d}-dd0001") == "✓ erfolgreich"
                for n in range(5)
            ),
            "all five finished runs",
        )


# --- failures, filters, detail ------------------------------------------------------------


@pilot_test
async def test_failures_stand_out_and_can_be_filtered(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded, clock=FixedClock(NOW)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_protocol(pilot)
        assert screen.shown_ids() == [
            RUNNING_ID,
            FAILED_ID,
            OK_ID,
            SKIPPED_ID,
            NOTHING_ID,
            CATCHUP_ID,
            CLI_ID,
        ]
        table = screen.query_one(RunTable)
        assert table.column_labels == [
            "Beginn",
            "Schnittstelle",
            "Auslöser",
            "Status",
            "Dateien",
            "Zeilen",
            "Schritt/Grund",
        ]
        assert [status_of(screen, k) for k in screen.shown_ids()] == [
            "▶ läuft",
            "✗ fehlgeschlagen",
            "✓ erfolgreich",
            "↷ übersprungen",
            "○ nichts zu exportieren",
            "✗ fehlgeschlagen",
            "✓ erfolgreich",
        ]
        # The rendered status cell of a failure (not under the cursor) is bold and red.
        table.move_to_key(RUNNING_ID)
        await pilot.pause()
        line = table.render_line(1 + screen.shown_ids().index(FAILED_ID))
        [segment] = [s for s in line if "fehlgeschlagen" in s.text]
        assert segment.style is not None and segment.style.bold
        assert segment.style.color is not None
        red, green, blue = segment.style.color.get_truecolor()
        assert red > max(green, blue) + 50  # the theme's error colour
        [ok] = [s for s in table.render_line(3) if "erfolgreich" in s.text]
        assert ok.style is not None and not ok.style.bold
        assert "7 Läufe · 2 fehlgeschlagen · 1 läuft" in str(
            screen.query_one("#protocol-status").render()
        )

        await pilot.press("f")  # Nur Fehler
        await until(pilot, lambda: screen.shown_ids() == [FAILED_ID, CATCHUP_ID], "failures")
        assert screen.query_one("#only-failed", Checkbox).value
        assert "2 von 7 Läufen" in str(screen.query_one("#protocol-status").render())

        select: Select[str] = screen.query_one("#config-filter", Select)
        select.value = "stb-schroeder"
        await until(pilot, lambda: screen.shown_ids() == [], "no failures of Schröder")
        await pilot.click("#only-failed")
        await until(pilot, lambda: screen.shown_ids() == [OK_ID, NOTHING_ID, CLI_ID], "Schröder")
        assert screen.sub_title == f"Protokoll: {SCHROEDER}"
        select.clear()
        await until(pilot, lambda: len(screen.shown_ids()) == 7, "all again")


@pilot_test
async def test_list_opens_the_protocol_of_one_config(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded, clock=FixedClock(NOW)))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
        await select_list_row(pilot, "wuerzburg-kasse")
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, ProtocolScreen) and app.screen.loaded)
        screen = protocol(app)
        await until(pilot, lambda: screen.shown_ids() == [RUNNING_ID, FAILED_ID, CATCHUP_ID])
        assert screen.query_one("#config-filter", Select).value == "wuerzburg-kasse"
        assert screen.sub_title == f"Protokoll: {KASSE}"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen))


@pilot_test
async def test_detail_shows_error_steps_files_and_warnings(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded, clock=FixedClock(NOW)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_protocol(pilot)
        table = screen.query_one(RunTable)
        # 120×40: the pane below the table follows the cursor.
        table.move_to_key(FAILED_ID)
        await pilot.pause()
        pane = screen.query_one("#run-pane", RunDetail)
        assert pane.display and pane.record is not None and pane.record.id == FAILED_ID
        text = pane.text
        assert text.splitlines()[:3] == [
            "✗ fehlgeschlagen",
            "Fehlgeschlagen bei: Anmelden",  # the failed step first (issue 14, defect 6)
            "Anmeldung abgelehnt (Passwort oder Schlüssel falsch)",
        ]
        for expected in (
            f"Lauf           {FAILED_ID}",
            "Fällig         20.11.2026 10:00:00",
            "Beginn         20.11.2026 10:00:01",
            "Ende           20.11.2026 10:00:04 (Dauer 3 s)",
            "Versuche       1",
            "E-Mail         nicht gesendet: SMTP-Server nicht erreichbar",
            "  · Export: 1 Datei(en), 18 Zeilen",
            "Warnungen (1)",
            "  ! Journal-Nr. 2201, KOST1: auf 36 Zeichen gekürzt",
        ):
            assert expected in text, expected
        # Enter: the details on a screen of their own (the only way at 80×24).
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen), "detail screen")
        detail = app.screen.query_one(RunDetail)
        assert detail.text == text
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ProtocolScreen))
        # Files of a successful run: paths, sizes, rows, sums with decimal comma, short sha256.
        table.move_to_key(OK_ID)
        await pilot.pause()
        text = pane.text
        assert "Dateien (2)" in text
        assert f"  {FILES[0]['name']}" in text
        assert f"    → {FILES[0]['remote_path']}" in text
        assert (
            "    48.213 B · 212 Zeilen · Soll 18.345,90 € · Haben 18.345,90 € · "
            "SHA-256 9f2c4e1ab37d…"
        ) in text
        assert "Warnungen (2)" in text


@pilot_test
async def test_detail_at_80x24_is_a_screen_that_follows_its_run(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded, clock=FixedClock(NOW)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_protocol(pilot)
        assert not screen.query_one("#run-pane").display  # no room: Enter instead
        assert screen.query_one(RunTable).column_labels == [
            "Beginn",
            "Schnittstelle",
            "Status",
            "Schritt/Grund",
        ]
        await pilot.press("enter")  # the newest: still running
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        detail = app.screen.query_one(RunDetail)
        assert "Ende           läuft noch" in detail.text
        other = Workspace(DataDir.open(seeded.data_dir.root))
        [run] = [r for r in other.runs.runs("wuerzburg-kasse") if r.id == RUNNING_ID]
        run.status, run.finished_at = "nothing", "2026-11-20T10:15:02+01:00"
        other.runs.finish(run)
        await until(pilot, lambda: detail.text.startswith("○ nichts zu exportieren"), "live")


# --- Erneut ausführen ---------------------------------------------------------------------


@pilot_test
async def test_rerun_starts_a_real_run_that_appears(ws: Workspace, ftp: FTPServer) -> None:
    ws.save_config(ftp_raw(ftp))
    failed = record(
        ws,
        id="20261120T050000000000-ee0001",
        config_id="stb",
        config_name="Kanzlei per FTP",
        trigger="schedule",
        started_at="2026-11-20T06:00:00+01:00",
        finished_at="2026-11-20T06:00:01+01:00",
        status="failed",
        step="Anmelden",
        reason="Anmeldung abgelehnt",
    )
    clock = Ticking(dt.datetime(2026, 11, 20, 12, 0, tzinfo=BERLIN))
    app = BuchexApp(Service(ws, clock=clock))
    notes = Notes(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_protocol(pilot)
        assert screen.shown_ids() == [failed.id]
        await pilot.click("#rerun")  # the button in the detail pane (e does the same)
        await until(pilot, lambda: len(screen.shown_ids()) == 2, "the new run", timeout=60)
        new = next(k for k in screen.shown_ids() if k != failed.id)
        table = screen.query_one(RunTable)
        assert table.current_key == new  # the cursor follows the run it started
        await until(pilot, lambda: status_of(screen, new) == "✓ erfolgreich", "done", timeout=60)
        assert cells(screen, new)[2] == "Manuell"
        await until(pilot, lambda: "erfolgreich –" in notes.text(), "summary")
        assert list(ftp.root.glob("Automatischer_Buchhaltungsexport_*/EXTF_*.csv"))
        # From the run's own screen (Enter, then e): once more; nothing new to send now.
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen), "detail screen")
        await pilot.press("e")
        await until(pilot, lambda: len(screen.shown_ids()) == 3, "third run", timeout=60)
        assert app.screen is screen
        await until(
            pilot,
            lambda: status_of(screen, table.current_key or "") == "○ nichts zu exportieren",
            "nothing to export",
            timeout=60,
        )


# --- outside 06:00–22:00 ------------------------------------------------------------------


@pilot_test
async def test_run_now_outside_the_window_asks_first(ws: Workspace, ftp: FTPServer) -> None:
    ws.save_config(ftp_raw(ftp))
    late = FixedClock(dt.datetime(2026, 11, 20, 23, 15, tzinfo=BERLIN))
    app = BuchexApp(Service(ws, clock=late))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
        await select_list_row(pilot, "stb")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, OutsideWindowDialog), "question")
        dialog = app.screen
        assert isinstance(dialog, OutsideWindowDialog)
        assert dialog.question == (
            "Es ist 23:15 Uhr – außerhalb 06:00–22:00. Trotzdem jetzt ausführen?"
        )
        assert app.focused is not None and app.focused.id == "cancel"  # Enter means Nein
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen))
        await settle(pilot)
        assert ws.runs.runs() == []  # Nein: nothing ran
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, OutsideWindowDialog))
        await pilot.click("#confirm")  # Ja
        await until(pilot, lambda: [r.status for r in ws.runs.runs()] == ["ok"], "forced run", 60)
        [run] = ws.runs.runs()
        assert run.trigger == "manual" and run.started_at.startswith("2026-11-20T23:15")


@pilot_test
async def test_rerun_outside_the_window_asks_and_passes_force(seeded: Workspace) -> None:
    calls: list[tuple[str, bool]] = []

    class Fake(Service):
        def run_now(
            self, cfg_id: str, *, force: bool = False, trigger: str = "x", **_: Any
        ) -> RunRecord:
            calls.append((cfg_id, force))
            return RunRecord("r", cfg_id, KASSE, trigger, "2026-11-20T06:00", status="ok")

    late = FixedClock(dt.datetime(2026, 11, 20, 5, 40, tzinfo=BERLIN))
    app = BuchexApp(Fake(seeded, clock=late))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_protocol(pilot)
        screen.query_one(RunTable).move_to_key(FAILED_ID)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, OutsideWindowDialog))
        assert app.screen.question.startswith("Es ist 05:40 Uhr")  # type: ignore[attr-defined]
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ProtocolScreen))
        await settle(pilot)
        assert calls == []
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, OutsideWindowDialog))
        await pilot.press("j")
        await until(pilot, lambda: calls == [("wuerzburg-kasse", True)], "forced rerun")
        # Inside the window no question, and no force.
        app.service.clock = FixedClock(dt.datetime(2026, 11, 20, 6, 0, tzinfo=BERLIN))
        await pilot.press("e")
        await until(pilot, lambda: len(calls) == 2, "second rerun")
        assert calls[1] == ("wuerzburg-kasse", False)


# --- SFTP host keys -----------------------------------------------------------------------


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[Any]:
    with paramiko_sftp_server(tmp_path / "sftp") as server:
        yield server


def sftp_raw(server: Any) -> dict[str, Any]:
    target = {
        "protocol": "sftp",
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "password": server.password,
    }
    return demo_raw("sftp-kanzlei", name="Kanzlei per SFTP", target=target)


def trusts(ws: Workspace) -> list[dict[str, Any]]:
    return [e for e in ws.audit.entries() if e["action"] == "hostkey.trust"]


def stored_fingerprints(ws: Workspace, server: Any) -> list[str]:
    known = KnownHosts(ws.data_dir.known_hosts_path)
    return [k.fingerprint for k in known.keys_for(server.host, server.port)]


async def host_key_dialog(pilot: Any) -> HostKeyDialog:
    await until(pilot, lambda: isinstance(pilot.app.screen, HostKeyDialog), "host-key dialog", 30)
    await settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, HostKeyDialog)
    return dialog


def label_text(dialog: HostKeyDialog, selector: str) -> str:
    return str(dialog.query_one(selector).render())


@pilot_test
async def test_unknown_host_key_is_rejected_or_trusted(ws: Workspace, sftp: Any) -> None:
    ws.save_config(sftp_raw(sftp))
    app = BuchexApp(Service(ws, clock=FixedClock(NOW)))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
        await select_list_row(pilot, "sftp-kanzlei")
        await pilot.press("t")
        dialog = await host_key_dialog(pilot)
        assert label_text(dialog, "#hostkey-fingerprint") == sftp.host_key.fingerprint
        assert "ssh-ed25519" in str(dialog.query_one(".hostkey-facts").query("Label")[3].render())
        assert str(sftp.port) in label_text(dialog, ".hostkey-value")
        assert app.focused is not None and app.focused.id == "reject"  # Enter rejects
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HostKeyTestDialog))
        log = app.screen.query_one(StepLog)
        await until(pilot, lambda: log.status is None, "test over")
        assert log.lines[-1] == "✗ Test fehlgeschlagen"
        assert not ws.data_dir.known_hosts_path.exists() or stored_fingerprints(ws, sftp) == []
        assert trusts(ws) == []
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen))

        await pilot.press("t")
        await host_key_dialog(pilot)
        await pilot.click("#trust")
        await until(pilot, lambda: isinstance(app.screen, HostKeyTestDialog))
        log = app.screen.query_one(StepLog)
        await until(pilot, lambda: log.lines[-1:] == ["✓ Test erfolgreich"], "trusted test", 30)
        assert log.lines[0] == f"… Hostschlüssel {sftp.host_key.fingerprint} bestätigt – " + (
            "Test läuft erneut"
        )
        assert [line[:1] for line in log.lines[1:]] == ["✓"] * 6
        assert stored_fingerprints(ws, sftp) == [sftp.host_key.fingerprint]
        [entry] = trusts(ws)
        assert entry["config_id"] == "sftp-kanzlei"
        assert entry["detail"] == sftp.host_key.fingerprint


@pilot_test
async def test_trust_covers_only_the_confirmed_key(ws: Workspace, sftp: Any) -> None:
    """A key swapped in between the dialog and "Vertrauen" is not stored."""
    ws.save_config(sftp_raw(sftp))
    shown = UnknownHostKey("SHA256:" + "A" * 43, key_type="ssh-ed25519", host="x")

    class Swapped(Service):
        def test_connection(
            self, cfg: ExportConfig, *, trust: str | None = None
        ) -> Iterator[StepResult]:
            if trust is None:  # the first test sees a different key than the server has now
                yield StepResult("Verbinden", False, "Hostschlüssel unbekannt", shown)
                return
            yield from super().test_connection(cfg, trust=trust)

    app = BuchexApp(Swapped(ws, clock=FixedClock(NOW)))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
        await select_list_row(pilot, "sftp-kanzlei")
        await pilot.press("t")
        first = await host_key_dialog(pilot)
        await pilot.click("#trust")
        # The server's real key does not match what was confirmed: asked about afresh.
        await until(
            pilot,
            lambda: isinstance(app.screen, HostKeyDialog) and app.screen is not first,
            "a new question",
        )
        dialog = app.screen
        assert isinstance(dialog, HostKeyDialog)
        assert label_text(dialog, "#hostkey-fingerprint") == sftp.host_key.fingerprint
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HostKeyTestDialog))
        log = app.screen.query_one(StepLog)
        await until(pilot, lambda: log.lines[-1:] == ["✗ Test fehlgeschlagen"], "refused", 30)
        assert stored_fingerprints(ws, sftp) == []
        assert [e["detail"] for e in trusts(ws)] == [shown.fingerprint]


@pilot_test
async def test_changed_host_key_shows_both_and_offers_no_trust(
    ws: Workspace, sftp: Any, tmp_path: Path
) -> None:
    ws.save_config(sftp_raw(sftp))
    old = make_ssh_key(tmp_path / "old_host_key")
    KnownHosts(ws.data_dir.known_hosts_path).add(sftp.host, sftp.port, "ssh-ed25519", old.blob)
    app = BuchexApp(Service(ws, clock=FixedClock(NOW)))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
        await select_list_row(pilot, "sftp-kanzlei")
        await pilot.press("t")
        dialog = await host_key_dialog(pilot)
        assert isinstance(dialog.error, ChangedHostKey)
        assert str(dialog.query_one(".dialog-title").render()) == "Hostschlüssel geändert"
        assert old.fingerprint in label_text(dialog, "#hostkey-expected")
        assert sftp.host_key.fingerprint in label_text(dialog, "#hostkey-actual")
        assert not dialog.query("#trust")
        assert [b.label.plain for b in dialog.query(Button)] == ["Schließen"]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HostKeyTestDialog))
        assert stored_fingerprints(ws, sftp) == [old.fingerprint] and trusts(ws) == []


@pilot_test
async def test_editor_test_button_trusts_a_new_host_key(ws: Workspace, sftp: Any) -> None:
    ws.save_config(sftp_raw(sftp))
    app = BuchexApp(Service(ws, clock=FixedClock(NOW)))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
        await select_list_row(pilot, "sftp-kanzlei")
        await pilot.press("enter")
        await until(
            pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen.form is not None
        )
        editor = app.screen
        assert isinstance(editor, EditorScreen)
        editor.action_test_connection()
        dialog = await host_key_dialog(pilot)
        assert label_text(dialog, "#hostkey-fingerprint") == sftp.host_key.fingerprint
        await pilot.click("#trust")
        await until(pilot, lambda: app.screen is editor)
        log = editor.query_one("#ftp-steps", StepLog)
        await until(pilot, lambda: log.lines[-1:] == ["✓ Test erfolgreich"], "trusted test", 30)
        assert stored_fingerprints(ws, sftp) == [sftp.host_key.fingerprint]
        assert [e["detail"] for e in trusts(ws)] == [sftp.host_key.fingerprint]
