"""The buttons of a dialog in a row: ← and → move between them (Tab still works)."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button


class ButtonBar(Horizontal):
    """A dialog's button row (class `dialog-buttons`); ←/→ move the focus along the
    buttons that can take it (disabled ones are skipped), wrapping at the ends."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1)", "Links", show=False, tooltip="Vorige Schaltfläche"),
        Binding("right", "move(1)", "Rechts", show=False, tooltip="Nächste Schaltfläche"),
    ]

    def __init__(self, *, id: str | None = None, classes: str = "dialog-buttons") -> None:
        super().__init__(id=id, classes=classes)

    def action_move(self, delta: int) -> None:
        buttons = [b for b in self.query(Button) if b.focusable]
        if not buttons:
            return
        focused = self.screen.focused
        at = buttons.index(focused) if focused in buttons else (-1 if delta > 0 else 0)
        buttons[(at + delta) % len(buttons)].focus()
