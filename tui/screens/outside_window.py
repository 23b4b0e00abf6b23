"""Manual runs: "Ausführen" in the list (r), "Erneut ausführen" in the Protokoll (e).

SPEC §3: a manual run outside 06:00–22:00 needs an explicit confirmation. `ManualRun` (a
helper the screens own, not a base class) looks at the service's clock in the configured
time zone in a worker; outside the window it asks "Es ist HH:MM Uhr – außerhalb
06:00–22:00. Trotzdem jetzt ausführen?", and only "Ja" runs with force=True. Inside the
window it runs at once with force=False.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.service import run_summary
from tui.screens.confirm import ConfirmDialog

if TYPE_CHECKING:
    from textual.screen import Screen

    from engine.service import Service


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


ConfigCallback = Callable[[str], object]


def _nothing(config_id: str) -> None:
    return None


class ManualRun:
    """Runs configs now for `screen`: asks outside the window, runs in a worker, tells the
    result as a notification. `started(config_id)` is called just before a run starts (the
    Protokoll follows it), `finished(config_id)` when it ended (the list reloads)."""

    def __init__(
        self,
        screen: Screen[Any],
        service: Service,
        *,
        started: ConfigCallback = _nothing,
        finished: ConfigCallback = _nothing,
    ) -> None:
        self._screen = screen
        self._service = service
        self._started = started
        self._finished = finished

    def start(self, config_id: str, name: str) -> None:
        self._run(config_id, name, force=False)

    def _run(self, config_id: str, name: str, *, force: bool) -> None:
        self._screen.run_worker(
            lambda: self._work(config_id, name, force),
            thread=True,
            group="actions",
            name=f"run {config_id}",
        )

    def _work(self, config_id: str, name: str, force: bool) -> None:
        # A worker thread; `call_later` hands each answer to the UI thread (dropped if the
        # screen has closed meanwhile).
        screen, service = self._screen, self._service
        try:
            if not force:
                now = service.now()
                if not service.inside_window(now):
                    screen.call_later(self._ask, config_id, name, now)
                    return
            screen.call_later(self._announce, config_id, name)
            record = service.run_now(config_id, force=force)
        except Exception as exc:
            screen.call_later(self._done, config_id, f"„{name}“: {exc}", True)
            return
        failed = record.status in ("failed", "skipped")
        screen.call_later(self._done, config_id, run_summary(record), failed)

    def _ask(self, config_id: str, name: str, now: dt.datetime) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._run(config_id, name, force=True)

        self._screen.app.push_screen(OutsideWindowDialog(name, now), answered)

    def _announce(self, config_id: str, name: str) -> None:
        self._screen.notify(f"„{name}“ wird ausgeführt …", markup=False)
        self._started(config_id)

    def _done(self, config_id: str, text: str, error: bool) -> None:
        self._screen.notify(text, severity="error" if error else "information", markup=False)
        self._finished(config_id)
