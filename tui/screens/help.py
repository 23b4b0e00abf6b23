"""Hilfe (F1, ?): the current screen explained in German: what it is for (its `HELP`),
every key of it with what it does (from the bindings, tui/commands.py), the keys that work
everywhere, and in a form every field with the seed's explanation
(`FieldSpec.explanation`, the same text the form shows under the focused field)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, ClassVar

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from engine.fields import FieldSpec
from tui.commands import KeyEntry, Providers, ScreenCommands, node_keys, screen_keys
from tui.widgets.footer import SteadyFooter


def help_parts(screen: Screen[Any]) -> list[RenderableType]:
    """Everything the help screen shows for `screen`: headings, purpose, key tables and the
    fields with their explanations (indented, so wrapped lines stay readable at 80×24)."""
    parts: list[RenderableType] = []
    title = screen.sub_title or getattr(screen, "SUB_TITLE", "") or ""
    parts.append(Text(f"Hilfe{': ' + title if title else ''}", style="bold"))
    purpose = getattr(screen, "HELP", "")
    if purpose:
        parts += [Text(""), Text(purpose)]
    _keys(parts, "Tasten", screen_keys(screen))
    _keys(parts, "Überall", node_keys(screen.app))
    form = getattr(screen, "form", None)
    specs: Sequence[FieldSpec] = getattr(form, "specs", ())
    section = None
    for spec in specs:
        if spec.section != section:
            section = spec.section
            parts += [Text(""), Text(f"Felder: {section}", style="bold")]
        parts.append(Text(f"  {spec.label}{' *' if spec.required else ''}", style="bold"))
        parts.append(Padding(Text(spec.explanation), (0, 0, 0, 4)))
    if specs:
        parts += [Text(""), Text("* Pflichtfeld", style="italic")]
    return parts


def _keys(parts: list[RenderableType], heading: str, entries: list[KeyEntry]) -> None:
    if not entries:
        return
    parts += [Text(""), Text(heading, style="bold")]
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for e in entries:
        line = Text(e.description)
        if e.help:
            line.append(f" – {e.help}", style="italic")
        table.add_row(e.keys, line)
    parts.append(Padding(table, (0, 0, 0, 2)))


def plain_text(parts: Sequence[RenderableType], width: int = 10_000) -> str:
    """The parts as plain text (tests, screen readers of the SVGs)."""
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    with console.capture() as capture:
        console.print(Group(*parts))
    return capture.get()


class HelpScreen(Screen[None]):
    """Opened by the app (F1, ?) over the screen it explains; Esc, F1 or ? close it."""

    AUTO_FOCUS = "#help-scroll"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Schließen", tooltip="Die Hilfe schließen"),
    ]
    COMMANDS: ClassVar[Providers] = {ScreenCommands}
    HELP = "Diese Hilfe: die Tasten des Bildschirms, von dem sie geöffnet wurde, und seine Felder."
    DEFAULT_CSS = """
    HelpScreen #help-scroll { height: 1fr; padding: 0 1; }
    """

    def __init__(self, about: Screen[Any]) -> None:
        super().__init__()
        self.about = about
        self.sub_title = f"Hilfe: {about.sub_title}" if about.sub_title else "Hilfe"
        self.parts = help_parts(about)
        self.text = plain_text(self.parts)

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="help-scroll"):
            yield Static(Group(*self.parts), id="help-text")
        yield SteadyFooter()

    def action_close(self) -> None:
        self.dismiss(None)
