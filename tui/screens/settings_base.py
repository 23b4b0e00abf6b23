"""A chain-settings form (SMTP Postausgangsserver, Sicherheit): specs from engine.settings,
validated by the engine's field parser, saved with the workspace's settings call."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from textual.widget import Widget

from engine.fields import FieldSpec, Problem, Secret, parse_values, unknown_keys, value_at
from engine.workspace import Workspace
from tui.context import buchex
from tui.screens.form_screen import FormScreen
from tui.widgets.form import FieldForm


class SettingsScreen(FormScreen):
    SPECS: ClassVar[Sequence[FieldSpec]] = ()
    MODEL: ClassVar[type[Any]]

    def __init__(self) -> None:
        super().__init__()
        self.previous: Any = None

    def read_settings(self, workspace: Workspace) -> Any:
        raise NotImplementedError

    def write_settings(self, workspace: Workspace, raw: dict[str, Any]) -> Any:
        raise NotImplementedError

    def extras(self) -> Mapping[str, Callable[[], Iterable[Widget]]]:
        return {}

    def load_model(self) -> Any:
        self.previous = self.read_settings(buchex(self).workspace)
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
        return self.write_settings(buchex(self).workspace, raw)

    def saved(self, result: Any) -> None:
        self.notify(f"{self.sub_title} gespeichert.", markup=False)
        self.dismiss(None)

    def stored_secret(self, path: str) -> str | None:
        current = self.read_settings(buchex(self).workspace)
        secret = value_at(current, path) if current is not None else None
        return secret.reveal() if isinstance(secret, Secret) and secret else None
