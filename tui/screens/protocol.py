"""Protokoll: the live run log (placeholder until the run records exist)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Header, Label

from tui.widgets.footer import SteadyFooter


class ProtocolScreen(Screen[None]):
    SUB_TITLE = "Protokoll"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Zurück")]

    def compose(self) -> ComposeResult:
        yield Header()
        with Middle(), Center():
            yield Label("Protokoll folgt", id="protocol-placeholder")
        yield SteadyFooter()
