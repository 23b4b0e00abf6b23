"""Manual runs: "Ausführen" in the list (r), "Erneut ausführen" in the Protokoll (e).

SPEC §3: a manual run outside 06:00–22:00 needs an explicit confirmation. A worker reads the
configured time zone and looks at the app's clock; outside the window the screen asks
"Es ist HH:MM Uhr – außerhalb 06:00–22:00. Trotzdem jetzt ausführen?", and only "Ja" calls
the run_now hook with force=True. Inside the window it runs at once with force=False.
"""

from __future__ import annotations

import datetime as dt

from textual import on, work
from textual.message import Message
from textual.screen import Screen

from engine.schedule import inside_window
from tui.context import buchex
from tui.screens.confirm import ConfirmDialog


def outside_window_question(now: dt.datetime) -> str:
    return f"Es ist {now:%H:%M} Uhr – außerhalb 06:00–22:00. Trotzdem jetzt ausführen?"


class OutsideWindowDialog(ConfirmDialog):
    """Ja runs with force; Nein (the default for Enter, also Escape and n) runs nothing."""

    def __init__(self, name: str, now: dt.datetime) -> None:
        zone = getattr(now.tzinfo, "key", None) or now.strftime("UTC%z")
        super().__init__(
            outside_window_question(now),
            detail=(
                f"Schnittstelle „{name}“. Läufe sind nur zwischen 06:00 und 22:00 Uhr "
                f"vorgesehen (Wartungsfenster, Zeitzone {zone})."
            ),
            confirm="Ja",
            cancel="Nein",
            danger=True,  # running at night is the exception: Enter answers "Nein"
        )


class ManualRunScreen(Screen[None]):
    """A screen that starts manual runs; subclasses call `start_run`."""

    class Ask(Message):
        """Outside the window: ask before running."""

        def __init__(self, config_id: str, name: str, now: dt.datetime) -> None:
            super().__init__()
            self.config_id = config_id
            self.name = name
            self.now = now

    class RunStarted(Message):
        def __init__(self, config_id: str, name: str) -> None:
            super().__init__()
            self.config_id = config_id
            self.name = name

    class RunDone(Message):
        """The run ended: a German summary for a notification."""

        def __init__(self, config_id: str, text: str, *, error: bool = False) -> None:
            super().__init__()
            self.config_id = config_id
            self.text = text
            self.error = error

    def can_run_now(self) -> bool:
        """False (and says so) without a run_now hook."""
        if buchex(self).hooks.run_now is None:
            self.notify("„Jetzt ausführen“ ist noch nicht verfügbar.", severity="warning")
            return False
        return True

    def start_run(self, config_id: str, name: str) -> None:
        if self.can_run_now():
            self._manual_run(config_id, name, force=False)

    @work(thread=True, group="actions")
    def _manual_run(self, config_id: str, name: str, *, force: bool) -> None:
        app = buchex(self)
        hook = app.hooks.run_now
        assert hook is not None
        try:
            if not force:
                tz = app.workspace.time_zone()
                now = app.clock.now().astimezone(tz)
                if not inside_window(now):
                    self.post_message(self.Ask(config_id, name, now))
                    return
            self.post_message(self.RunStarted(config_id, name))
            summary = hook(config_id, force)
        except Exception as exc:
            self.post_message(self.RunDone(config_id, f"„{name}“: {exc}", error=True))
            return
        self.post_message(self.RunDone(config_id, summary or f"„{name}“ ausgeführt."))

    @on(Ask)
    def _ask(self, message: Ask) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._manual_run(message.config_id, message.name, force=True)

        self.app.push_screen(OutsideWindowDialog(message.name, message.now), answered)

    @on(RunStarted)
    def _started(self, message: RunStarted) -> None:
        self.notify(f"„{message.name}“ wird ausgeführt …", markup=False)
        self.run_started(message.config_id)

    @on(RunDone)
    def _run_done(self, message: RunDone) -> None:
        self.notify(
            message.text, severity="error" if message.error else "information", markup=False
        )
        self.run_finished(message.config_id)

    def run_started(self, config_id: str) -> None:
        """A run of `config_id` is about to start (the Protokoll follows it)."""

    def run_finished(self, config_id: str) -> None:
        """A run ended (the list refreshes "Letzter Lauf")."""
