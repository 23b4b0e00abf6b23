"""A chain-settings form (SMTP Postausgangsserver, Sicherheit): specs from engine.settings,
validated by the engine's field parser, read and saved through the service."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from textual.widget import Widget

from engine.fields import FieldSpec, Problem, parse_values, unknown_keys
from tui.screens.form_screen import FormScreen
from tui.widgets.form import FieldForm


class SettingsScreen(FormScreen):
    SPECS: ClassVar[Sequence[FieldSpec]] = ()
    MODEL: ClassVar[type[Any]]

    previous: Any = None  # the stored settings (None: never saved)

    def read_settings(self) -> Any:
        raise NotImplementedError

    def write_settings(self, raw: dict[str, Any]) -> Any:
        raise NotImplementedError

    def extras(self) -> Mapping[str, Callable[[], Iterable[Widget]]]:
        return {}

    def load_model(self) -> Any:
        self.previous = self.read_settings()
        return self.previous if self.previous is not None else self.MODEL()

    def build_form(self, model: Any) -> FieldForm:
        return FieldForm(
            self.SPECS, model, validate=self._validate, extras=self.extras(), id="settings-form"
        )

    def _validate(self, raw: dict[str, Any]) -> list[Problem]:
        problems = unknown_keys(self.SPECS, raw)
        problems.extend(parse_values(self.SPECS, raw, self.previous)[1])
        return problems

    def save_model(self, raw: dict[str, Any]) -> Any:
        return self.write_settings(raw)

    def saved(self, result: Any) -> None:
        """Ctrl+S saves and stays (a test after saving needs no way in again); Esc leaves."""
        self.previous = result
        self.notify(f"{self.sub_title} gespeichert.", markup=False)
