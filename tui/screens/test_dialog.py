"""Connection test of a saved config, started from the list (t): steps as they arrive."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from engine.config import ExportConfig
from tui.commands import Providers, ScreenCommands
from tui.widgets.button_bar import ButtonBar
from tui.widgets.step_log import StepArrived, StepLog, run_steps


class ConnectionTestDialog(ModalScreen[None]):
    CSS_PATH = "dialogs.tcss"
    AUTO_FOCUS = "#close"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Schließen", tooltip="Den Verbindungstest schließen")
    ]
    COMMANDS: ClassVar[Providers] = {ScreenCommands}
    HELP = (
        "Der Verbindungstest prüft mit den gespeicherten Angaben Schritt für Schritt, ob der "
        "FTP-Server erreichbar ist, die Anmeldung gelingt und das Verzeichnis beschreibbar ist."
    )

    def __init__(self, cfg: ExportConfig, test: Callable[[ExportConfig], Iterable[object]]) -> None:
        super().__init__(classes="dialog-screen")
        self.cfg = cfg
        self._test = test

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Verbindungstest: {self.cfg.name}", classes="dialog-title", markup=False)
            yield StepLog(id="test-steps")
            with ButtonBar():
                yield Button("Schließen", variant="primary", id="close")

    def on_mount(self) -> None:
        self.query_one(StepLog).start("Verbindungstest läuft …")
        self._run()

    @work(thread=True, exclusive=True, group="test")
    def _run(self) -> None:
        run_steps(self.post_message, "test-steps", self._test, self.cfg)

    @on(StepArrived)
    def _step(self, message: StepArrived) -> None:
        self.query_one(StepLog).add(message.ok, message.text, done=message.done)

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
