"""The password eye's confirmation: the admin re-enters their own buchex password.

Whether they may, whether the password is right and the audit record are the service's
(`Service.reveal_secret`); the dialog only asks and shows its answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, NamedTuple

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from engine.service import RevealRefused
from tui.commands import Providers, ScreenCommands
from tui.widgets.button_bar import ButtonBar
from tui.widgets.inputs import BlinkAwareInput


class Revealed(NamedTuple):
    """The dialog's answer: the stored secret in clear (None: nothing is stored)."""

    secret: str | None


class RevealDialog(ModalScreen[Revealed | None]):
    """`reveal(password)` (in a worker) returns the secret or raises `RevealRefused`;
    the dialog dismisses with `Revealed`, or None when cancelled. A wrong password (or any
    other refusal) stays here with the reason."""

    CSS_PATH = "dialogs.tcss"
    AUTO_FOCUS = "#reveal-password"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Abbrechen", tooltip="Das Passwort nicht anzeigen")
    ]
    COMMANDS: ClassVar[Providers] = {ScreenCommands}
    HELP = (
        "Ein gespeichertes Passwort anzeigen: zur Sicherheit das eigene buchex-Passwort "
        "eingeben. Jede Anzeige wird protokolliert."
    )

    class Answered(Message):
        def __init__(self, secret: str | None, error: str | None = None) -> None:
            super().__init__()
            self.secret = secret
            self.error = error

    def __init__(self, user: str, field_label: str, reveal: Callable[[str], str | None]) -> None:
        super().__init__(classes="dialog-screen")
        self.user = user
        self.field_label = field_label
        self._reveal = reveal

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
            with ButtonBar():
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
        self.dismiss(None)

    @work(thread=True, exclusive=True, group="verify")
    def _check(self, password: str) -> None:
        # scrypt takes ~0.1 s by design: never on the UI thread.
        try:
            secret = self._reveal(password)
        except RevealRefused as exc:
            error = "Passwort falsch" if exc.wrong_password else str(exc)
            self.post_message(self.Answered(None, error))
        except Exception as exc:  # a broken store must not kill the dialog
            self.post_message(self.Answered(None, f"Prüfung fehlgeschlagen: {exc}"))
        else:
            self.post_message(self.Answered(secret))

    @on(Answered)
    def _answered(self, message: Answered) -> None:
        if message.error is None:
            self.dismiss(Revealed(message.secret))
            return
        self.query_one("#confirm", Button).disabled = False
        field = self.query_one("#reveal-password", BlinkAwareInput)
        field.value = ""
        field.focus()
        self._show_error(message.error)

    def _show_error(self, text: str) -> None:
        error = self.query_one("#reveal-error", Label)
        error.update(text)
        error.display = True
