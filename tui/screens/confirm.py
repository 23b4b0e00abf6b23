"""Yes/no question ("Änderungen verwerfen?", "Schnittstelle … löschen?")."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from tui.commands import Providers, ScreenCommands
from tui.widgets.button_bar import ButtonBar


class ConfirmDialog(ModalScreen[bool]):
    CSS_PATH = "dialogs.tcss"
    # Focused when the dialog is composed, before any key can reach it: focusing in
    # on_mount comes later, and an Enter typed ahead would hit the first button.
    AUTO_FOCUS = ".-default"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "answer(False)", "Abbrechen", tooltip="Nein, nichts tun"),
        Binding("j,y", "answer(True)", "Ja", show=False, tooltip="Mit Ja antworten"),
        Binding("n", "answer(False)", "Nein", show=False, tooltip="Mit Nein antworten"),
    ]
    COMMANDS: ClassVar[Providers] = {ScreenCommands}
    HELP = "Eine Rückfrage: Ja (j) oder Nein (n, Esc). ⏎ wählt die hervorgehobene Schaltfläche."

    def __init__(
        self,
        question: str,
        *,
        detail: str = "",
        confirm: str = "Ja",
        cancel: str = "Abbrechen",
        danger: bool = False,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.question = question
        self.detail = detail
        self.confirm = confirm
        self.cancel = cancel
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title", markup=False)
            if self.detail:
                yield Label(self.detail, classes="dialog-text", markup=False)
            with ButtonBar():
                # Dangerous answers are never the default for Enter.
                yield Button(
                    self.confirm,
                    variant="error" if self.danger else "primary",
                    id="confirm",
                    classes="" if self.danger else "-default",
                )
                yield Button(self.cancel, id="cancel", classes="-default" if self.danger else "")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
