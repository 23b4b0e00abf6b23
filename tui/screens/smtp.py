"""SMTP Postausgangsserver: the outgoing mail server for failure mails, with a test mail."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button

from engine.fields import Invalid, Problem, build_flat, p_email, parse_values, unknown_keys
from engine.settings import SMTP, SMTP_FIELDS, SmtpSettings
from tui.screens.form_screen import action_row
from tui.screens.settings_base import SettingsScreen
from tui.widgets.form import FieldForm
from tui.widgets.inputs import BlinkAwareInput
from tui.widgets.step_log import StepLog


class SmtpScreen(SettingsScreen):
    SPECS = SMTP_FIELDS
    MODEL = SmtpSettings
    SECRET_PREFIX = "smtp."
    SUB_TITLE = SMTP
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+t",
            "test_mail",
            "Test-E-Mail",
            show=False,
            tooltip="Eine Test-E-Mail an den eingetragenen Empfänger senden",
        ),
    ]
    HELP = (
        "Der Mailserver, über den buchex eine Nachricht schickt, wenn ein automatischer "
        "Export fehlschlägt (an die E-Mail-Adresse der Schnittstelle)."
    )

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

    def smtp_for_test(self) -> tuple[SmtpSettings | None, list[Problem]]:
        """The settings as typed, saved or not (as the FTP Test takes the form's values):
        parsed like Speichern does; an untouched password field keeps the stored one."""
        assert self.form is not None
        raw = self.form.raw()
        problems = unknown_keys(SMTP_FIELDS, raw)
        values, found = parse_values(SMTP_FIELDS, raw, self.previous)
        problems.extend(found)
        if problems:
            return None, problems
        return build_flat(SmtpSettings, values), []

    @on(FieldForm.Changed)
    def _values_changed(self) -> None:
        """A result belongs to the values it was sent with: changed values clear it."""
        log = self.query_one("#smtp-steps", StepLog)
        if log.status is None:  # not while a test is under way: its result is still due
            log.clear()

    @on(Button.Pressed, "#smtp-test")
    def action_test_mail(self) -> None:
        if self.form is None:
            return
        smtp, problems = self.smtp_for_test()
        if smtp is None:
            self.notify(
                "\n".join(str(p) for p in problems),
                title="Test nicht möglich",
                severity="error",
                markup=False,
            )
            if (row := self.form.first_invalid(problems)) is not None:
                row.focus_control()
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
        self.mail_test(address, "smtp-steps", smtp)
