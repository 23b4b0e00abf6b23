"""SMTP Postausgangsserver: the outgoing mail server for failure mails, with a test mail."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from textual import on
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button

from engine.fields import Invalid, p_email
from engine.settings import SMTP, SMTP_FIELDS, SmtpSettings
from tui.screens.form_screen import action_row
from tui.screens.settings_base import SettingsScreen
from tui.widgets.inputs import BlinkAwareInput
from tui.widgets.step_log import StepLog


class SmtpScreen(SettingsScreen):
    SPECS = SMTP_FIELDS
    MODEL = SmtpSettings
    SECRET_PREFIX = "smtp."
    SUB_TITLE = SMTP

    def read_settings(self) -> Any:
        return self.service.smtp_settings()

    def write_settings(self, raw: dict[str, Any]) -> Any:
        return self.service.save_smtp_settings(raw)

    def extras(self) -> Mapping[str, Callable[[], Iterable[Widget]]]:
        def test_row() -> Iterable[Widget]:
            sender = self.previous.sender if self.previous is not None else None
            to = BlinkAwareInput(
                sender or "",
                placeholder="Empfänger der Test-E-Mail",
                id="smtp-test-to",
                compact=True,
            )
            line = Horizontal(to, Button("Test", id="smtp-test", compact=True), classes="test-line")
            yield action_row(
                line, StepLog(id="smtp-steps"), label="Test-E-Mail an", id="smtp-test-row"
            )

        return {SMTP: test_row}

    @on(Button.Pressed, "#smtp-test")
    def action_test_mail(self) -> None:
        if self.form is not None and self.form.is_dirty():
            self.notify(
                "Bitte zuerst speichern (Strg+S): der Test verwendet die gespeicherten "
                "Einstellungen.",
                severity="warning",
            )
            return
        field = self.query_one("#smtp-test-to", BlinkAwareInput)
        try:
            address = p_email(field.value)
        except Invalid as exc:
            self.notify(f"Empfänger: {exc}", severity="error", markup=False)
            field.focus()
            return
        if not address:
            self.notify("Empfänger: für den Test eine Adresse eintragen", severity="error")
            field.focus()
            return
        self.mail_test(address, "smtp-steps")
