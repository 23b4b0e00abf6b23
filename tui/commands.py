"""Palette entries of one screen (`Screen.COMMANDS`), in German.

A screen lists its entries in a `ScreenCommands` subclass; the palette shows them next to
the app's global ones (`BuchexApp.get_system_commands`) while that screen is current.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.app import SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider

# The type of `Screen.COMMANDS`: `COMMANDS: ClassVar[Providers] = {MyCommands}`.
Providers = set[type[Provider] | Callable[[], type[Provider]]]


class ScreenCommands(Provider):
    """Subclasses yield their screen's entries from `commands()` (`self.screen` is the
    screen the palette was opened on)."""

    def commands(self) -> Iterable[SystemCommand]:
        raise NotImplementedError

    async def discover(self) -> Hits:
        for title, help_text, callback, _ in sorted(self.commands(), key=lambda c: c.title):
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback, _ in self.commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
