"""Footer that re-renders only when the shown key bindings really change."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class SteadyFooter(Footer):
    """Textual's Footer rebuilds all its keys on every focus change; in a form of ~30
    fields that is a third of the cost of a Tab. Same bindings shown: nothing to do."""

    _shown: tuple[Any, ...] | None = None

    def __init__(self) -> None:
        super().__init__(compact=True)  # more keys fit into 80 columns

    def bindings_changed(self, screen: Screen[Any]) -> None:
        shown = tuple(
            (key, binding.action, binding.description, enabled)
            for key, (_, binding, enabled, _) in screen.active_bindings.items()
            if binding.show or key == self.app.COMMAND_PALETTE_BINDING
        )
        if shown == self._shown:
            return
        super().bindings_changed(screen)
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = shown  # only once Footer really rebuilt with them
