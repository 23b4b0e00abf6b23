"""Palette entries of one screen (`Screen.COMMANDS`), in German, and the keys the help
screen lists.

One source: a screen's palette entries are its key bindings (and those of buchex's
widgets on it, e.g. the list's ⏎ Bearbeiten), hidden ones included: the title is the
binding's German `description`, the help its `tooltip` (a German sentence) and the key. A
new binding is in the palette and in the help screen (F1) without further work. A screen
adds entries that have no key (the editor's sections) in `extra()` of its `ScreenCommands`
subclass. The palette shows them next to the app's global ones
(`BuchexApp.get_system_commands`), which cover the bindings in `GLOBAL_ACTIONS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.app import SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.screen import Screen

# The type of `Screen.COMMANDS`: `COMMANDS: ClassVar[Providers] = {MyCommands}`.
Providers = set[type[Provider] | Callable[[], type[Provider]]]

#: Actions the app's global palette entries already offer (not listed twice).
GLOBAL_ACTIONS = frozenset(
    {
        "app.open('smtp')",
        "app.open('security')",
        "app.open('protocol')",
        "app.quit",
        "app.help",
        "app.command_palette",
    }
)

_KEY_NAMES = {
    "escape": "Esc",
    "delete": "Entf",
    "enter": "⏎",
    "slash": "/",
    "question_mark": "?",
    "tab": "Tab",
    "space": "Leertaste",
    "backspace": "Rücktaste",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "pageup": "Bild↑",
    "pagedown": "Bild↓",
    "home": "Pos1",
    "end": "Ende",
}
_MODIFIERS = {"ctrl": "Strg", "shift": "Umschalt", "alt": "Alt"}


def key_label(binding: Binding) -> str:
    """The key as a German keyboard names it: "Strg+S", "Entf", "Esc", "/"."""
    if binding.key_display:
        return binding.key_display
    *mods, key = binding.key.split("+")
    name = _KEY_NAMES.get(key, key.upper() if len(key) > 1 or mods else key)
    return "+".join([*(_MODIFIERS.get(m, m.title()) for m in mods), name])


@dataclass(frozen=True)
class KeyEntry:
    """One action of a screen: where it is bound, its keys, what it does."""

    node: DOMNode  # the screen, or the widget of ours that declares it
    action: str
    keys: str  # "j, y"
    description: str  # short, German (footer, palette title)
    help: str  # a German sentence (palette help, help screen)


def _declared_actions(node: DOMNode) -> set[str]:
    """Actions bound by buchex's own classes of `node` (not Textual's editing keys)."""
    actions: set[str] = set()
    for cls in type(node).__mro__:
        if cls.__module__.startswith("tui.") and "BINDINGS" in cls.__dict__:
            actions.update(b.action for b in Binding.make_bindings(cls.__dict__["BINDINGS"]))
    return actions


def node_keys(node: DOMNode) -> list[KeyEntry]:
    """The described keys buchex's classes bind on `node`, hidden ones too, one entry per
    action (its keys joined), in declaration order."""
    declared = _declared_actions(node)
    out: dict[str, KeyEntry] = {}
    for _, binding in node._bindings:
        if not binding.description or binding.action not in declared:
            continue
        if (known := out.get(binding.action)) is not None:
            keys = f"{known.keys}, {key_label(binding)}"
            out[binding.action] = KeyEntry(node, known.action, keys, known.description, known.help)
            continue
        out[binding.action] = KeyEntry(
            node, binding.action, key_label(binding), binding.description, binding.tooltip
        )
    return list(out.values())


def screen_keys(screen: Screen[Any]) -> list[KeyEntry]:
    """Every key of `screen` and of buchex's widgets on it (the list's table: ⏎ Bearbeiten),
    the screen's first."""
    nodes: list[DOMNode] = [screen]
    if screen.is_mounted:
        nodes += [w for w in screen.query("*") if type(w).__module__.startswith("tui.")]
    return [entry for node in nodes for entry in node_keys(node)]


class ScreenCommands(Provider):
    """A screen's palette entries: its keys (see the module's doc) plus `extra()`
    (`self.screen` is the screen the palette was opened on)."""

    def extra(self) -> Iterable[SystemCommand]:
        return ()

    def commands(self) -> Iterable[SystemCommand]:
        screen = self.screen
        for entry in screen_keys(screen):
            if entry.action in GLOBAL_ACTIONS:
                continue
            help_text = f"{entry.help} ({entry.keys})" if entry.help else f"Taste {entry.keys}"
            run = partial(screen.app.run_action, entry.action, entry.node)
            yield SystemCommand(entry.description, help_text, run)
        yield from self.extra()

    async def discover(self) -> Hits:
        for title, help_text, callback, _ in sorted(self.commands(), key=lambda c: c.title):
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        # The title first; the help text finds an entry by what it does ("Protokoll dieser
        # Schnittstelle" finds "Läufe"), ranked below every title match.
        matcher = self.matcher(query)
        for title, help_text, callback, _ in self.commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
            elif query.casefold() in help_text.casefold():
                yield Hit(0.1, title, callback, help=help_text)
