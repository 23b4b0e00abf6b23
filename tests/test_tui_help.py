"""Issue 14, defects 7 and 8: every action in the palette (German words find it), the
footer's priorities, German help (F1, ?) with the seed's field explanations, and no
English text of Textual's reaching the user."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandInput, CommandList, CommandPalette
from textual.widgets import Checkbox, Input
from textual.widgets._footer import FooterKey
from textual.widgets._header import HeaderIcon

from engine.config import FIELDS, FIELDS_BY_PATH
from engine.service import Service
from engine.settings import CHAIN_FIELDS, SMTP_FIELDS
from engine.workspace import Workspace
from tests.test_tui_support import (
    make_workspace,
    open_editor,
    open_form,
    pilot_test,
    seed_configs,
    settle,
    until,
)
from tui.app import BuchexApp
from tui.german import DESCRIPTIONS, GERMAN, HEADER_ICON_TOOLTIP, NO_MATCHES
from tui.screens.configs import ConfigListScreen
from tui.screens.confirm import ConfirmDialog
from tui.screens.editor import EditorScreen
from tui.screens.help import HelpScreen
from tui.screens.protocol import ProtocolScreen
from tui.screens.security import SecurityScreen
from tui.screens.smtp import SmtpScreen

SIZE = (120, 40)


@pytest.fixture
def seeded(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path / "home")
    seed_configs(ws)
    return ws


async def loaded_list(pilot: Any) -> ConfigListScreen:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, ConfigListScreen)
    return screen


async def palette_hits(pilot: Any, query: str) -> list[str]:
    """Open the palette, type `query`, return the entries it offers (then close it)."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await until(pilot, lambda: CommandPalette.is_open(app), "palette")
    await pilot.press(*query)
    await pilot.pause(0.7)  # Textual adds "nothing found" after 0.5 s
    options = app.screen.query_one(CommandList)
    hits = [str(getattr(o.prompt, "plain", o.prompt)) for o in options.options if not o.disabled]
    await pilot.press("escape")
    await until(pilot, lambda: not CommandPalette.is_open(app), "palette closed")
    return hits


# --- the palette holds every action --------------------------------------------------------


@pilot_test
async def test_the_palette_finds_every_list_action_by_its_german_word(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded), cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await loaded_list(pilot)
        for query in ("ausf", "test", "kopie", "lösch", "suchen", "arbeitsplatz"):
            assert await palette_hits(pilot, query), f"„{query}“ finds nothing"
        for query in ("bearbeiten", "neu", "läufe", "protokoll", "hilfe", "beenden"):
            assert await palette_hits(pilot, query), f"„{query}“ finds nothing"


@pilot_test
async def test_a_palette_entry_runs_the_screens_action(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded), cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded_list(pilot)
        box = screen.query_one("#with-workstation", Checkbox)
        assert not box.value
        await pilot.press("ctrl+p")
        await pilot.press(*"arbeitsplatz")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: box.value, "Arbeitsplatz toggled from the palette")
        await pilot.press("ctrl+p")
        await pilot.press(*"bearbeiten")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EditorScreen), "edit from the palette")


@pilot_test
async def test_the_other_screens_palettes_hold_their_actions(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded), cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await loaded_list(pilot)
        await open_editor(pilot)
        for query in ("speichern", "verbindungstest", "test-e-mail", "abschnitt", "zurück"):
            assert await palette_hits(pilot, query), f"Editor: „{query}“"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen))
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ProtocolScreen) and app.screen.loaded)
        for query in ("nur fehler", "erneut", "nachliefern", "details", "schnittstelle"):
            assert await palette_hits(pilot, query), f"Protokoll: „{query}“"
        await pilot.press("escape")
        await open_form(pilot, "m", SmtpScreen)
        for query in ("speichern", "test"):
            assert await palette_hits(pilot, query), f"SMTP: „{query}“"
        await pilot.press("escape")
        await open_form(pilot, "s", SecurityScreen)
        assert await palette_hits(pilot, "speichern")


# --- the footer ----------------------------------------------------------------------------


async def footer_keys(pilot: Any) -> set[str]:
    await settle(pilot)
    await pilot.pause(0.1)
    return {k.key for k in pilot.app.screen.query(FooterKey)}


@pilot_test
async def test_the_footer_keeps_its_priorities(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded), cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded_list(pilot)
        keys = await footer_keys(pilot)
        assert {"p", "m", "s", "q", "r", "f1", "ctrl+p"} <= keys, keys
    app = BuchexApp(Service(seeded), cursor_blink=False)
    async with app.run_test(size=(110, 32)) as pilot:
        await loaded_list(pilot)
        keys = await footer_keys(pilot)
        assert {"enter", "l", "q", "p", "m", "s", "r", "n"} <= keys, keys
    app = BuchexApp(Service(seeded), cursor_blink=False)
    async with app.run_test(size=(200, 50)) as pilot:
        await loaded_list(pilot)
        keys = await footer_keys(pilot)
        assert {"a", "l", "q", "p", "m", "s", "n", "d", "delete", "t"} <= keys, keys


# --- German help ---------------------------------------------------------------------------


def test_every_field_has_its_explanation() -> None:
    for spec in (*FIELDS, *SMTP_FIELDS, *CHAIN_FIELDS):
        assert len(spec.explanation) >= 30, f"{spec.path}: no explanation"
    # the seed's texts (spot checks)
    assert "sofort einsatzbereit" in FIELDS_BY_PATH["start"].explanation
    assert "Schreib- und Leserechte" in FIELDS_BY_PATH["target.user"].explanation
    assert "06:00 bis 22:00" in FIELDS_BY_PATH["time"].explanation
    assert "darf jede Filiale" in FIELDS_BY_PATH["branch"].explanation


@pilot_test
async def test_f1_and_question_mark_open_the_german_help(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded), cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded_list(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "? opens the help")
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.text
        for words in ("Schnittstellen", "Ausführen", "Arbeitsplatz", "Entf", "Strg+P"):
            assert words in text
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen))
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "F1 opens the help")
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen), "F1 closes it")
        await open_editor(pilot)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.text
        for spec in FIELDS:
            assert spec.label in text and spec.explanation in text, spec.path


@pilot_test
async def test_the_form_explains_the_focused_field(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded), cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded_list(pilot)
        editor, form = await open_editor(pilot)
        line = editor.query_one("#field-help")
        name = FIELDS_BY_PATH["name"].explanation
        await until(pilot, lambda: str(line.render()) == name, "help line of Name")
        assert form.rows["name"].query_one(Input).tooltip == name
        await pilot.press("tab")
        branch = FIELDS_BY_PATH["branch"].explanation
        await until(pilot, lambda: str(line.render()) == branch, "help line follows Tab")


# --- no English from Textual ---------------------------------------------------------------

ENGLISH = re.compile(
    r"\b(Scroll|Focus|Copy|Select|Move|Delete|Toggle|Page|Go|Next|Previous|Quit|Submit|Press|"
    r"Show|Dismiss|Cut|Paste|Up|Down|Left|Right|Home|End|First|Last|menu|command|palette|"
    r"option|cursor|Keys|Search|Exit|Expand|the|and|to|for|No|matches|found|themes)\b"
)


def english_descriptions(app: Any) -> list[str]:
    """Every key description of the app, the screen and every widget on it that is English
    (or one of Textual's texts the German table does not translate)."""
    found = []
    screen = app.screen
    for node in [app, screen, *screen.query("*")]:
        for _, binding in node._bindings:
            text = binding.description
            if text and (ENGLISH.search(text) or text in DESCRIPTIONS):
                found.append(f"{type(node).__name__}: {text}")
    return found


@pilot_test
async def test_no_english_key_descriptions_on_any_screen(seeded: Workspace) -> None:
    app = BuchexApp(Service(seeded), cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await loaded_list(pilot)
        seen = english_descriptions(app)
        assert app.screen.query_one(HeaderIcon).tooltip == HEADER_ICON_TOOLTIP
        await pilot.press("slash")  # the filter Input
        await pilot.pause()
        seen += english_descriptions(app)
        await pilot.press("escape")
        await pilot.click("#configs")
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        seen += english_descriptions(app)
        await pilot.press("escape")
        _, form = await open_editor(pilot)
        seen += english_descriptions(app)
        form.rows["interval.kind"].focus_control()  # a Select: its overlay too
        await pilot.press("enter")
        await pilot.pause(0.2)
        seen += english_descriptions(app)
        await pilot.press("escape")
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        seen += english_descriptions(app)
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        seen += english_descriptions(app)
        assert not seen, seen
        # the palette's own texts
        assert "Befehl" in app.screen.query_one(CommandInput).placeholder
        await pilot.press(*"xyzzy")
        await pilot.pause(0.8)
        options = app.screen.query_one(CommandList).options
        assert any(NO_MATCHES in str(getattr(o.prompt, "renderable", o.prompt)) for o in options)
        await pilot.press("escape")
        await pilot.pause()
        app.action_change_theme()
        await until(pilot, lambda: bool(app.screen.query(CommandInput)), "theme picker")
        assert app.screen.query_one(CommandInput).placeholder == "Farbschema suchen …"


def test_the_german_table_covers_textuals_widgets() -> None:
    from textual.command import CommandPalette
    from textual.containers import ScrollableContainer
    from textual.screen import Screen
    from textual.widgets import OptionList, RadioSet, Select, SelectionList
    from textual.widgets._select import SelectOverlay

    classes: list[type[Any]] = [Input, Select, SelectOverlay, SelectionList, OptionList]
    classes += [RadioSet, CommandPalette, ScrollableContainer, Screen]
    for cls in classes:
        for _, binding in cls._merged_bindings or ():
            assert not binding.description or binding.description in GERMAN, (cls, binding)


def test_every_screen_declares_its_palette_help_and_key_help() -> None:
    """One source: each screen's COMMANDS lists its bindings (ScreenCommands), it says what
    it is for (HELP), and each described key of ours carries a German help text."""
    import importlib
    import pkgutil

    from textual.binding import Binding
    from textual.dom import DOMNode
    from textual.screen import Screen

    import tui.screens
    import tui.widgets
    from tui.commands import ScreenCommands
    from tui.screens.form_screen import FormScreen
    from tui.screens.settings_base import SettingsScreen

    for package in (tui.screens, tui.widgets):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")

    def subclasses(cls: type[Any]) -> list[type[Any]]:
        return [s for c in cls.__subclasses__() for s in (c, *subclasses(c))]

    ours = {c for c in subclasses(DOMNode) if c.__module__.startswith("tui.screens.")}
    ours |= {c for c in subclasses(DOMNode) if c.__module__.startswith("tui.widgets.")}
    for cls in ours:
        if issubclass(cls, Screen) and cls not in (FormScreen, SettingsScreen):
            providers = [p for p in cls.COMMANDS if isinstance(p, type)]
            assert any(issubclass(p, ScreenCommands) for p in providers), cls
            assert getattr(cls, "HELP", ""), f"{cls.__name__}: no HELP text"
        for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
            if binding.description:
                assert binding.tooltip, f"{cls.__name__} {binding.key}: no help text"
