"""German texts for what Textual itself shows: its widgets' key descriptions (the footer,
the help screen, the command palette) and the palette's own words.

Our widgets and screens declare German `BINDINGS` themselves. Textual's widgets (Input,
Select and its overlay, SelectionList, RadioSet, the scroll containers, Screen's Tab, the
command palette) carry English descriptions in their class's `BINDINGS`, and some of them
are built inside Textual (the Select's overlay, the palette's list), where no subclass of
ours is used. So `germanize()` rewrites those classes' `BINDINGS` from one table
(`DESCRIPTIONS`) and lets every class merge its bindings again: the only place where buchex
changes Textual's classes, done once at start (`tui.app` imports this module).
`tests/test_tui_help.py` walks every screen's and widget's bindings against the table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from rich.align import Align
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.command import CommandList, CommandPalette
from textual.dom import DOMNode

# Every Textual widget buchex shows, imported before `germanize()` so their classes exist
# (Textual imports its widgets lazily; one imported later would keep English texts).
from textual.widgets import (  # noqa: F401  (imported for germanize)
    Button,
    Checkbox,
    Footer,
    Header,
    Input,
    Label,
    LoadingIndicator,
    OptionList,
    RadioButton,
    RadioSet,
    Select,
    SelectionList,
    Static,
)
from textual.widgets._header import HeaderIcon
from textual.widgets.option_list import Option

#: Textual's English key descriptions → German. A description not in here that reaches the
#: user fails tests/test_tui_help.py.
DESCRIPTIONS: dict[str, str] = {
    # App, Screen
    "Quit": "Beenden",
    "Focus Next": "Nächstes Feld",
    "Focus Previous": "Voriges Feld",
    "Copy selected text": "Markierten Text kopieren",
    # scroll containers, lists
    "Scroll Up": "Nach oben rollen",
    "Scroll Down": "Nach unten rollen",
    "Scroll Left": "Nach links rollen",
    "Scroll Right": "Nach rechts rollen",
    "Scroll Home": "Zum Anfang rollen",
    "Scroll End": "Zum Ende rollen",
    "Page Up": "Seite nach oben",
    "Page Down": "Seite nach unten",
    "Page Left": "Seite nach links",
    "Page Right": "Seite nach rechts",
    "Up": "Nach oben",
    "Down": "Nach unten",
    "First": "Zum ersten Eintrag",
    "Last": "Zum letzten Eintrag",
    "Select": "Auswählen",
    "Cursor Up": "Nach oben",
    "Cursor Down": "Nach unten",
    "Cursor to parent": "Zum übergeordneten Eintrag",
    "Cursor to next ancestor": "Zum nächsten übergeordneten Eintrag",
    "Cursor to previous sibling": "Zum vorigen Eintrag der Ebene",
    "Cursor to next sibling": "Zum nächsten Eintrag der Ebene",
    "Expand or collapse all": "Alles auf- oder zuklappen",
    # buttons, check boxes, radio buttons, selects
    "Press button": "Schaltfläche drücken",
    "Toggle": "An/aus",
    "Toggle option": "Auswahl an/aus",
    "Next option": "Nächste Option",
    "Previous option": "Vorige Option",
    "Show menu": "Liste öffnen",
    "Dismiss menu": "Liste schließen",
    # Input
    "Move cursor left": "Cursor nach links",
    "Move cursor left and select": "Nach links markieren",
    "Move cursor left a word": "Ein Wort nach links",
    "Move cursor left a word and select": "Ein Wort nach links markieren",
    "Move cursor right or accept the completion suggestion": "Cursor nach rechts",
    "Move cursor right and select": "Nach rechts markieren",
    "Move cursor right a word": "Ein Wort nach rechts",
    "Move cursor right a word and select": "Ein Wort nach rechts markieren",
    "Delete character left": "Zeichen links löschen",
    "Delete character right": "Zeichen rechts löschen",
    "Select all": "Alles markieren",
    "Go to start": "Zum Anfang",
    "Go to end": "Zum Ende",
    "Select line start": "Bis zum Anfang markieren",
    "Select line end": "Bis zum Ende markieren",
    "Submit": "Bestätigen",
    "Delete left to start of word": "Wort links löschen",
    "Delete all to the left": "Alles links löschen",
    "Delete right to start of word": "Wort rechts löschen",
    "Delete all to the right": "Alles rechts löschen",
    "Cut selected text": "Markierten Text ausschneiden",
    "Paste text from the clipboard": "Einfügen",
    # the command palette
    "Exit the command palette": "Schließen",
    "Next command": "Nächster Befehl",
    "Previous command": "Voriger Befehl",
    "Next page": "Nächste Seite",
    "Previous page": "Vorige Seite",
    "Go to top": "Zum ersten Befehl",
    "Go to bottom": "Zum letzten Befehl",
}
GERMAN = frozenset(DESCRIPTIONS.values())

NO_MATCHES = "Kein Befehl gefunden"
PALETTE_PLACEHOLDER = "Befehl suchen …"
THEME_PLACEHOLDER = "Farbschema suchen …"


def _subclasses(cls: type[Any]) -> Iterator[type[Any]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _translated(binding: BindingType) -> BindingType:
    if isinstance(binding, tuple):
        binding = Binding(*binding)  # ("escape", "dismiss", "Dismiss menu")
    german = DESCRIPTIONS.get(binding.description)
    return dataclasses.replace(binding, description=german) if german else binding


def germanize() -> None:
    """Give Textual's widgets German key descriptions (idempotent)."""
    classes = list(_subclasses(DOMNode))
    for cls in classes:
        own = cls.__dict__.get("BINDINGS")
        if own and cls.__module__.startswith("textual."):
            cls.BINDINGS = [_translated(b) for b in own]
    # Textual merges each class's bindings with its bases' when the class is created.
    targets: list[type[Any]] = [DOMNode, *classes]
    for cls in targets:
        cls._merged_bindings = cls._merge_bindings()


class GermanCommandPalette(CommandPalette):
    """The command palette with German texts (placeholder, "nothing found")."""

    def __init__(self, *args: Any, placeholder: str = PALETTE_PLACEHOLDER, **kwargs: Any) -> None:
        super().__init__(*args, placeholder=placeholder, **kwargs)

    def _start_no_matches_countdown(self, search_value: str) -> None:
        # Textual's version writes "No matches found" from inside a closure; this is that
        # method with the German text (Textual 8.2).
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(
                        Align.center(Text(NO_MATCHES, style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)


HEADER_ICON_TOOLTIP = "Befehle (Strg+P)"


def _header_icon_mounted(self: HeaderIcon) -> None:
    # Textual's HeaderIcon sets the English tooltip "Open the command palette" when it is
    # mounted, and Header composes the icon itself: no subclass of ours can reach it.
    if self.app.ENABLE_COMMAND_PALETTE:
        self.tooltip = HEADER_ICON_TOOLTIP
    else:
        self.disabled = True


germanize()
HeaderIcon.on_mount = _header_icon_mounted  # type: ignore[method-assign]
