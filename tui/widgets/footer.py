"""Footer that re-renders only when the shown key bindings really change, and that keeps
the most important keys when the terminal is too narrow for all of them."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

_PALETTE_WIDTH = 11  # "│^p Befehle", docked right


def dropped_actions(screen: Screen[Any], width: int) -> set[str]:
    """The actions the footer leaves out at `width` columns: it shows every binding with
    `show` while they fit, else the most important ones that fit. The screen's
    `FOOTER_KEEP` names its actions most important first; unnamed ones go first (the last
    shown first). What is dropped stays in the palette (Strg+P) and the help (F1, ?)."""
    app = screen.app
    shown: dict[str, int] = {}
    for _, binding, _, _ in screen.active_bindings.values():
        if binding.show and binding.action not in shown:
            # compact: key, space, description, one column margin
            label = app.get_key_display(binding)
            shown[binding.action] = len(label) + 1 + len(binding.description) + 1
    keep: tuple[str, ...] = getattr(screen, "FOOTER_KEEP", ())
    order = list(shown)

    def importance(action: str) -> int:
        if action in keep:
            return keep.index(action)
        return len(keep) + len(order) - order.index(action)

    # Most important first, each while it still fits (a short key may follow a long one
    # that did not fit).
    room = width - _PALETTE_WIDTH
    dropped: set[str] = set()
    for action in sorted(shown, key=importance):
        if shown[action] <= room:
            room -= shown[action]
        else:
            dropped.add(action)
    return dropped


class SteadyFooter(Footer):
    """Textual's Footer rebuilds all its keys on every focus change; in a form of ~30
    fields that is a third of the cost of a Tab. Same bindings shown: nothing to do."""

    _shown: tuple[Any, ...] | None = None

    def __init__(self) -> None:
        super().__init__(compact=True)  # more keys fit into 80 columns

    def compose(self) -> ComposeResult:
        dropped = dropped_actions(self.screen, self.app.size.width)
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.action in dropped:
                continue
            yield widget

    def on_resize(self, event: events.Resize) -> None:
        self.bindings_changed(self.screen)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        shown = (
            *(
                (key, binding.action, binding.description, enabled)
                for key, (_, binding, enabled, _) in screen.active_bindings.items()
                if binding.show or key == self.app.COMMAND_PALETTE_BINDING
            ),
            screen.app.size.width,
        )
        if shown == self._shown:
            return
        super().bindings_changed(screen)
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = shown  # only once Footer really rebuilt with them
