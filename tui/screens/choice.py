"""A question with more than two answers, one button per line (quitting with unsaved
changes: Speichern / Verwerfen / Bleiben; quitting while a run goes on: im Hintergrund zu
Ende führen / Abbrechen / Bleiben). Escape answers the last choice ("Bleiben")."""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from tui.commands import Providers, ScreenCommands


class ChoiceDialog(ModalScreen[str]):
    """Returns the id of the chosen answer; Escape (and a click outside) the last one.
    `choices`: (id, label, key) — the key answers it directly (e.g. "s", "v", "b")."""

    CSS_PATH = "dialogs.tcss"
    AUTO_FOCUS = ".-preset"  # ("-default" is a Button variant class)
    DEFAULT_CSS = """
    ChoiceDialog .choice-buttons { height: auto; margin-top: 1; }
    ChoiceDialog .choice-buttons Button { width: 100%; margin-bottom: 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stay", "Bleiben", tooltip="Nichts tun, weiter wie bisher"),
        Binding("up", "app.focus_previous", show=False),
        Binding("down", "app.focus_next", show=False),
    ]
    COMMANDS: ClassVar[Providers] = {ScreenCommands}
    HELP = "Eine Frage mit mehreren Antworten: Taste der Antwort, ↑/↓ und ⏎, oder Esc (Bleiben)."

    def __init__(
        self,
        question: str,
        choices: list[tuple[str, str, str]],
        *,
        detail: str = "",
        default: str | None = None,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.question = question
        self.detail = detail
        self.choices = choices
        self.default = default or choices[-1][0]
        self._keys = {key: cid for cid, _, key in choices if key}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title", markup=False)
            if self.detail:
                yield Label(self.detail, classes="dialog-text", markup=False)
            with Vertical(classes="choice-buttons"):
                for cid, label, key in self.choices:
                    text = f"{label} ({key})" if key else label
                    yield Button(
                        text,
                        id=f"choice-{cid}",
                        classes="-preset" if cid == self.default else "",
                        variant="primary" if cid == self.default else "default",
                        compact=True,
                    )

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss((event.button.id or "").removeprefix("choice-"))

    def on_key(self, event: events.Key) -> None:
        if event.key in self._keys:
            event.stop()
            self.dismiss(self._keys[event.key])

    def action_stay(self) -> None:
        self.dismiss(self.choices[-1][0])
