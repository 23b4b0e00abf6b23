"""The password eye's confirmation: the admin re-enters their own buchex password."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from tui.widgets.inputs import BlinkAwareInput


class RevealDialog(ModalScreen[bool]):
    """Dismisses with True once `verify(password)` accepted; wrong passwords stay here."""

    CSS_PATH = "dialogs.tcss"
    AUTO_FOCUS = "#reveal-password"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Abbrechen")]

    class Verified(Message):
        def __init__(self, ok: bool, error: str | None = None) -> None:
            super().__init__()
            self.ok = ok
            self.error = error

    def __init__(self, user: str, field_label: str, verify: Callable[[str], bool]) -> None:
        super().__init__(classes="dialog-screen")
        self.user = user
        self.field_label = field_label
        self._verify = verify

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"{self.field_label} anzeigen", classes="dialog-title", markup=False)
            yield Label(
                f"Zur Sicherheit bitte das buchex-Passwort von „{self.user}“ eingeben.",
                classes="dialog-text",
                markup=False,
            )
            yield BlinkAwareInput(password=True, placeholder="Ihr Passwort", id="reveal-password")
            yield Label("", id="reveal-error", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Anzeigen", variant="primary", id="confirm")
                yield Button("Abbrechen", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reveal-error").display = False

    @on(BlinkAwareInput.Submitted)
    @on(Button.Pressed, "#confirm")
    def _submit(self) -> None:
        field = self.query_one("#reveal-password", BlinkAwareInput)
        if not field.value:
            self._show_error("Bitte das Passwort eingeben.")
            return
        self.query_one("#confirm", Button).disabled = True
        self._check(field.value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

    @work(thread=True, exclusive=True, group="verify")
    def _check(self, password: str) -> None:
        # scrypt takes ~0.1 s by design: never on the UI thread.
        try:
            self.post_message(self.Verified(self._verify(password)))
        except Exception as exc:  # a broken store must not kill the dialog
            self.post_message(self.Verified(False, f"Prüfung fehlgeschlagen: {exc}"))

    @on(Verified)
    def _verified(self, message: Verified) -> None:
        if message.ok:
            self.dismiss(True)
            return
        self.query_one("#confirm", Button).disabled = False
        field = self.query_one("#reveal-password", BlinkAwareInput)
        field.value = ""
        field.focus()
        self._show_error(message.error or "Passwort falsch")

    def _show_error(self, text: str) -> None:
        error = self.query_one("#reveal-error", Label)
        error.update(text)
        error.display = True
