"""Issue 14, "status that cannot be missed" (defect 3), and the frictions of defect 10 and
the focus of defect 5: Pilot tests against a real data dir with a faked run history."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from engine.runs import RunRecord, RunSummary
from engine.service import Service, Stamps
from engine.workspace import Workspace
from tests.test_tui_support import (
    FixedClock,
    Notes,
    make_workspace,
    open_editor,
    pilot_test,
    seed_configs,
    settle,
    until,
)
from tui.app import BuchexApp
from tui.formatting import MARKS
from tui.preferences import ENV, Preferences
from tui.screens.configs import ConfigListScreen
from tui.screens.confirm import ConfirmDialog
from tui.screens.editor import EditorScreen, copy_name
from tui.widgets.config_table import ConfigTable
from tui.widgets.fields import MultiRow, TextRow

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def seeded(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path / "home")
    seed_configs(ws)
    return ws


class History(Service):
    """The run log as the test says: `failed` config ids end in a failed run (started by
    the daemon), the others succeed; `bump()` makes the app's watcher see a change."""

    def __init__(self, ws: Workspace, failed: set[str]) -> None:
        super().__init__(ws, clock=FixedClock(NOW))
        self.failed = set(failed)
        self.revision = 0

    def stamps(self) -> Stamps:
        return Stamps(super().stamps().configs, ("test", self.revision))

    def bump(self) -> None:
        self.revision += 1

    def _record(self, cfg_id: str) -> RunRecord:
        status = "failed" if cfg_id in self.failed else "ok"
        return RunRecord(
            id=f"{cfg_id}-{status}-{self.revision}",
            config_id=cfg_id,
            config_name=cfg_id,
            trigger="schedule",
            started_at=(NOW - dt.timedelta(hours=1)).isoformat(),
            finished_at=(NOW - dt.timedelta(minutes=59)).isoformat(),
            status=status,
            step="Übertragung",
            reason="Anmeldung abgelehnt",
        )

    def last_run(self, cfg_id: str) -> RunSummary | None:
        r = self._record(cfg_id)
        return RunSummary(r.id, r.status, r.started_at, r.finished_at)

    def runs(self, config_id: str | None = None, **_: Any) -> list[RunRecord]:
        return [self._record(config_id)] if config_id else []

    def run(self, run_id: str) -> RunRecord | None:
        return self._record(run_id.rsplit("-", 2)[0])


async def loaded(pilot: Any) -> ConfigListScreen:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, ConfigListScreen)
    return screen


def screen_text(table: ConfigTable) -> list[str]:
    """The table's lines as drawn (header first)."""
    height = table.scrollable_content_region.height
    return [table.render_line(y).text for y in range(height)]


# --- defect 3: status columns, marks, colours, background failures ------------------------


@pilot_test
async def test_status_columns_are_whole_at_80x24(seeded: Workspace) -> None:
    app = BuchexApp(History(seeded, {"stb-schroeder"}))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        table = screen.query_one(ConfigTable)
        lines = screen_text(table)
        assert "Nächste Ausführung" in lines[0] and "Letzter Lauf" in lines[0]
        row = 1 + screen.shown_ids().index("stb-schroeder")
        assert "✗ fehlgeschlagen · heute 11:01" in lines[row], lines[row]
        ok_row = 1 + screen.shown_ids().index("wuerzburg-kasse")
        assert "✓ erfolgreich · heute 11:01" in lines[ok_row]
        labels = [label for label, _ in table.shown_columns]
        assert labels[:1] == ["Name"] and labels.index("Letzter Lauf") < 4
        # the name gives way (ellipsized), the status cells do not
        assert "…" in lines[row] or "Steuerbüro Schröder" in lines[row]


@pilot_test
async def test_extra_width_goes_to_the_name_after_the_status_columns(seeded: Workspace) -> None:
    app = BuchexApp(History(seeded, set()))
    async with app.run_test(size=(200, 40)) as pilot:
        screen = await loaded(pilot)
        table = screen.query_one(ConfigTable)
        columns = dict(table.shown_columns)
        assert [label for label, _ in table.shown_columns][-2:] == [
            "Nächste Ausführung",
            "Letzter Lauf",
        ]
        assert columns["Name"] > 60  # every column shown, the rest to the name
        assert columns["Letzter Lauf"] == len("✓ erfolgreich · heute 11:01")


@pilot_test
async def test_a_failed_last_run_is_red_with_its_mark(seeded: Workspace) -> None:
    app = BuchexApp(History(seeded, {"stb-schroeder"}))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        table = screen.query_one(ConfigTable)
        assert table.is_failing("stb-schroeder") and not table.is_failing("wuerzburg-kasse")
        table.move_cursor(row=screen.shown_ids().index("wuerzburg-kasse"))  # not on it
        await pilot.pause()
        row = 1 + screen.shown_ids().index("stb-schroeder")
        strip = table.render_line(row)
        red = table.get_component_rich_style("config-table--failed", partial=True)
        failed = [s for s in strip if s.text.startswith(MARKS["failed"])]
        assert failed and failed[0].style is not None
        assert failed[0].style.color == red.color and failed[0].style.bold
        name = [s for s in strip if s.text.startswith("Steuerbüro")]
        assert name and name[0].style is not None and name[0].style.color == red.color


@pilot_test
async def test_a_background_failure_toasts_and_the_header_counts(seeded: Workspace) -> None:
    service = History(seeded, set())
    app = BuchexApp(service)
    notes = Notes(app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        assert "fehlgeschlagen" not in app.title
        service.failed = {"stb-schroeder", "weiss-monatlich"}
        service.bump()  # the daemon's runs fail while the TUI is open
        await until(pilot, lambda: "2 Schnittstellen fehlgeschlagen" in app.title, "count")
        await until(pilot, lambda: "Schritt: Übertragung" in notes.text(), "toast")
        errors = [m for m, severity in notes.messages if severity == "error"]
        assert any("Steuerbüro Schröder" in m for m in errors)
        assert app.has_class("-failing")
        await until(pilot, lambda: screen.query_one(ConfigTable).is_failing("stb-schroeder"))
        # visible on every screen: the Protokoll's header shows the same title
        await pilot.press("p")
        await until(pilot, lambda: type(app.screen).__name__ == "ProtocolScreen")
        assert "2 Schnittstellen fehlgeschlagen" in str(
            app.screen.query_one("HeaderTitle").render()
        )
        # fixed: the count goes, no new toast
        count = len(notes.messages)
        service.failed = set()
        service.bump()
        await until(pilot, lambda: "fehlgeschlagen" not in app.title, "count cleared")
        assert len(notes.messages) == count and not app.has_class("-failing")


@pilot_test
async def test_failures_seen_at_start_set_the_count_without_a_toast(seeded: Workspace) -> None:
    app = BuchexApp(History(seeded, {"stb-schroeder"}))
    notes = Notes(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: "1 Schnittstelle fehlgeschlagen" in app.title, "count")
        assert not any(severity == "error" for _, severity in notes.messages)


# --- defect 5: focus in forms -------------------------------------------------------------


@pilot_test
async def test_tab_into_mandant_highlights_a_row_and_space_toggles(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        _, form = await open_editor(pilot, "n")
        row = form.rows["clients"]
        assert isinstance(row, MultiRow)
        await until(pilot, lambda: row.selection_list.option_count > 0, "Mandanten")
        visible = form.visible_paths()
        form.rows[visible[visible.index("clients") - 1]].focus_control()
        await pilot.pause()
        for _ in range(4):  # the protocol's choices, the FTP Test button, …
            await pilot.press("tab")
            if app.focused is row.selection_list:
                break
        assert app.focused is row.selection_list
        assert row.selection_list.highlighted == 0
        await pilot.press("space")
        assert row.raw() == [row.selection_list.get_option_at_index(0).value]


@pilot_test
async def test_the_focused_fields_label_is_marked_and_follows_the_focus(
    seeded: Workspace,
) -> None:
    app = BuchexApp(Service(seeded))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        _, form = await open_editor(pilot, "n")
        await pilot.pause()
        marked = [p for p, r in form.rows.items() if r.has_class("-focused")]
        assert marked == ["name"]
        await pilot.press("tab")
        await pilot.pause()
        marked = [p for p, r in form.rows.items() if r.has_class("-focused")]
        assert marked == ["branch"]
        # strong, not a grey step: the label takes the cursor colours, the row a bar
        label = form.rows["branch"].query_one(".field-label")
        other = form.rows["name"].query_one(".field-label")
        assert label.styles.background != other.styles.background
        assert form.rows["branch"].styles.border_left[0] == "thick"


# --- defect 10: frictions -----------------------------------------------------------------


@pilot_test
async def test_escape_in_the_filter_clears_it_then_goes_to_the_table(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("slash", "k", "a", "s", "s", "e")
        filter_input = screen.query_one("#filter", Input)
        await until(pilot, lambda: filter_input.value == "kasse")
        assert len(screen.shown_ids()) == 1
        await pilot.press("escape")
        assert filter_input.value == "" and app.focused is filter_input
        await until(pilot, lambda: len(screen.shown_ids()) == 3, "all rows again")
        await pilot.press("escape")
        assert isinstance(app.focused, ConfigTable)


@pilot_test
async def test_left_and_right_move_between_dialog_buttons(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert app.focused is not None and app.focused.id == "cancel"  # danger: Nein default
        await pilot.press("left")
        assert app.focused is not None and app.focused.id == "confirm"
        await pilot.press("right")
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("right")  # wraps
        assert app.focused is not None and app.focused.id == "confirm"
        await pilot.press("escape")


@pilot_test
async def test_a_dialog_clears_the_toasts_of_the_screen_below(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        app.notify("Eine Meldung der Liste", timeout=60)
        await pilot.pause()
        assert list(app._notifications)
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.pause()
        assert not list(app._notifications)


@pilot_test
async def test_duplicates_get_distinct_names(seeded: Workspace) -> None:
    assert copy_name("Kasse", []) == "Kasse (Kopie)"
    assert copy_name("Kasse", ["Kasse (Kopie)"]) == "Kasse (Kopie 2)"
    assert copy_name("Kasse (Kopie)", ["Kasse (Kopie)", "Kasse (kopie 2)"]) == "Kasse (Kopie 3)"
    assert len(copy_name("x" * 80, [])) == 80
    app = BuchexApp(Service(seeded))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        for expected in ("Steuerbüro Schröder (Kopie)", "Steuerbüro Schröder (Kopie 2)"):
            table = screen.query_one(ConfigTable)
            table.move_cursor(row=screen.shown_ids().index("stb-schroeder"))
            table.focus()
            await pilot.pause()
            _, form = await open_editor(pilot, "d")
            name = form.rows["name"]
            assert isinstance(name, TextRow) and name.input.value == expected
            await pilot.press("ctrl+s")
            await until(pilot, lambda e=expected: e in {c.name for c in seeded.list_configs()})
            screen = await loaded(pilot)


@pilot_test
async def test_the_editor_never_shows_an_empty_frame(seeded: Workspace) -> None:
    """Every frame drawn for the editor shows the loading text or the form, from the first
    one on (the form area was empty for 0.1–2 s while the form was laid out)."""
    app = BuchexApp(Service(seeded))
    frames: list[set[str]] = []
    display = app._display

    def record(screen: Any, update: Any) -> None:
        if isinstance(screen, EditorScreen) and type(update).__name__ == "LayoutUpdate":
            frames.append({type(w).__name__ for w in screen._compositor.visible_widgets})
            frames[-1] |= {f"#{w.id}" for w in screen._compositor.visible_widgets if w.id}
        display(screen, update)

    app._display = record  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await open_editor(pilot, "enter")
        await settle(pilot)
    assert frames and "Header" in frames[0]
    for frame in frames:
        assert "#form-loading" in frame or "FieldForm" in frame, frame


# --- theme per OS user --------------------------------------------------------------------


@pilot_test
async def test_the_theme_persists_per_user(seeded: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "config" / "tui.json"
    app = BuchexApp(Service(seeded), preferences=Preferences(path).load())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        app.theme = "nord"
        await pilot.pause()
    assert json.loads(path.read_text(encoding="utf-8"))["theme"] == "nord"
    again = BuchexApp(Service(seeded), preferences=Preferences(path).load())
    async with again.run_test(size=(80, 24)) as pilot:
        assert again.theme == "nord"


@pilot_test
async def test_an_unreadable_preferences_file_is_ignored(
    seeded: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tui.json"
    path.write_text("{kaputt", encoding="utf-8")
    monkeypatch.setenv(ENV, str(path))
    prefs = Preferences.default()
    assert prefs.path == path and prefs.theme is None
    path.write_text('{"theme": "gibt-es-nicht"}', encoding="utf-8")
    app = BuchexApp(Service(seeded), preferences=Preferences(path).load())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        assert app.theme == "textual-dark"
    unwritable = Preferences(tmp_path / "file" / "tui.json")
    (tmp_path / "file").write_text("", encoding="utf-8")  # a file where the dir should be
    assert not unwritable.set(theme="nord") and unwritable.theme == "nord"


# --- defect 5 in a real terminal: 256 colours, as over SSH --------------------------------

GREYS = {0, 7, 8, 15, 16, 59, 102, 145, 188, 231, *range(232, 256)}  # xterm-256 greys


def test_the_focused_label_stands_out_in_256_colours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_tui_tmux import START_TIMEOUT, TMUX, Tmux, buchex_command, two_configs

    if TMUX is None:
        pytest.skip("tmux ist nicht installiert")
    monkeypatch.delenv("COLORTERM", raising=False)  # no truecolor: Textual downsamples
    home = tmp_path / "home"
    two_configs(home)
    tmux = Tmux(tmp_path, [buchex_command(), "--home", str(home), "tui"])
    try:
        tmux.wait_screen(["Steuerbüro Schröder"], timeout=START_TIMEOUT)
        tmux.keys("Enter")
        tmux.wait_screen(["Konfiguration", "FTP Hostname"], timeout=START_TIMEOUT)
        tmux.keys("Tab")  # Name → Filiale

        def label_line() -> str | None:
            """The raw (escaped) line of the Filiale row, once its label is marked."""
            text = tmux._run("capture-pane", "-p", "-e", "-t", tmux.target)
            for raw in text.splitlines():
                plain = re.sub(r"\x1b\[[0-9;]*m", "", raw)
                if "│" in plain and plain.split("│")[1].strip(" █").startswith("Filiale"):
                    return raw if "█" in plain else None
            return None

        deadline = time.monotonic() + 15
        line = label_line()
        while line is None and time.monotonic() < deadline:
            time.sleep(0.1)
            line = label_line()
        assert line is not None, "no mark on the focused row"
        head = line[: line.index("Filiale")]
        backgrounds = re.findall(r"48;5;(\d+)", head)
        bar = re.findall(r"38;5;(\d+)m█", head)
        # the label's own background (the last one set before its text) and the bar left
        # of the row are colours, not one of the greys a focused Select differed by
        assert backgrounds and int(backgrounds[-1]) not in GREYS, repr(line)
        assert bar and int(bar[-1]) not in GREYS, repr(line)
    finally:
        tmux.kill()
