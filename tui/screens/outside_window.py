"""Manual runs: "Ausführen" in the list (r), "Erneut ausführen" in the Protokoll (e).

SPEC §3: a manual run outside 06:00–22:00 needs an explicit confirmation. `ManualRun` (a
helper the screens own, not a base class) looks at the service's clock in the configured
time zone in a worker; outside the window it asks "Es ist HH:MM Uhr – außerhalb
06:00–22:00. Trotzdem jetzt ausführen?", and only "Ja" runs with force=True. Inside the
window it runs at once with force=False.

A manual run runs in this process, in a thread of its own (a daemon thread, not a Textual
worker: quitting never waits silently for a run hanging in a silent server). Each run is
registered in the app's `RunsInProgress` with its `CancelToken`: "x Abbrechen" in the list
and the Protokoll cancels it, quitting asks first (tui/app.py), SIGHUP/SIGTERM cancel it
(tui/__main__.py). A config that is running (here, or in the daemon or another process)
is not started again: a second run would only be recorded as skipped.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.runs import CancelToken
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


@dataclass
class RunInProgress:
    """A manual run this TUI started and owns."""

    config_id: str
    name: str
    force: bool
    kind: str = "run"  # or "redeliver" (a Nachlieferung: not handed to the background)
    token: CancelToken = field(default_factory=CancelToken)
    done: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)


class RunsInProgress:
    """The runs this process owns (one registry per app; thread-safe): what quitting, "x
    Abbrechen" and SIGHUP act on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, RunInProgress] = {}

    def add(
        self, config_id: str, name: str, *, force: bool, kind: str = "run"
    ) -> RunInProgress | None:
        """Register a run; None if this config runs here already."""
        with self._lock:
            if config_id in self._runs:
                return None
            run = self._runs[config_id] = RunInProgress(config_id, name, force, kind)
            return run

    def finished(self, run: RunInProgress) -> None:
        with self._lock:
            if self._runs.get(run.config_id) is run:
                del self._runs[run.config_id]
        run.done.set()

    def get(self, config_id: str) -> RunInProgress | None:
        with self._lock:
            return self._runs.get(config_id)

    def all(self) -> list[RunInProgress]:
        with self._lock:
            return list(self._runs.values())

    def cancel_all(self, reason: str) -> list[RunInProgress]:
        runs = self.all()
        for run in runs:
            run.token.cancel(reason)
        return runs

    def wait(self, runs: list[RunInProgress], timeout: float) -> bool:
        """Until every one of `runs` has ended (its record written); False on timeout."""
        end = time.monotonic() + timeout
        return all(run.done.wait(max(0.0, end - time.monotonic())) for run in runs)


def runs_of(screen: Screen[Any]) -> RunsInProgress:
    """The app's registry (a private one for an app without: tests of single screens)."""
    app = screen.app
    runs = getattr(app, "runs_in_progress", None)
    if not isinstance(runs, RunsInProgress):
        runs = RunsInProgress()
        app.runs_in_progress = runs  # type: ignore[attr-defined]
    return runs


def _nothing(config_id: str) -> None:
    return None


class ManualRun:
    """Runs configs now for `screen`: asks outside the window, runs in a thread (registered
    with the app's RunsInProgress, cancellable), tells the result as a notification.
    `started(config_id)` is called just before a run starts (the Protokoll follows it),
    `finished(config_id)` when it ended (the list reloads)."""

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
        if runs_of(self._screen).get(config_id) is not None:
            self._screen.notify(
                f"„{name}“ läuft gerade – erst nach dem Ende erneut ausführen "
                "(x bricht den Lauf ab).",
                severity="warning",
                markup=False,
            )
            return
        self._run(config_id, name, force=False)

    def _run(self, config_id: str, name: str, *, force: bool) -> None:
        # A daemon thread, not a Textual worker: Textual's workers run in asyncio's
        # executor, which the app's exit waits for, silently, behind a blank terminal.
        # (The context copy carries Textual's active app into the thread.)
        context = contextvars.copy_context()
        args = (self._work, runs_of(self._screen), config_id, name, force)
        threading.Thread(
            target=context.run, args=args, name=f"run {config_id}", daemon=True
        ).start()

    def _work(self, runs: RunsInProgress, config_id: str, name: str, force: bool) -> None:
        # `call_later` hands each answer to the UI thread (dropped if the screen has
        # closed meanwhile).
        screen, service = self._screen, self._service
        run: RunInProgress | None = None
        try:
            if service.running(config_id):
                screen.call_later(self._busy, name)
                return
            if not force:
                now = service.now()
                if not service.inside_window(now):
                    screen.call_later(self._ask, config_id, name, now)
                    return
            run = runs.add(config_id, name, force=force)
            if run is None:
                screen.call_later(self._busy, name)
                return
            screen.call_later(self._announce, config_id, name)
            record = service.run_now(config_id, force=force, cancel=run.token)
        except Exception as exc:
            screen.call_later(self._done, config_id, f"„{name}“: {exc}", True)
            return
        finally:
            if run is not None:
                runs.finished(run)
        failed = record.status in ("failed", "skipped")
        screen.call_later(self._done, config_id, run_summary(record), failed)

    def cancel(self, config_id: str, name: str) -> None:
        """ "x Abbrechen": cancel the run of `config_id` this TUI owns, after a question. A
        run of another process (the daemon, `buchex run`, another TUI) is not ours to stop:
        say where it runs and how it can be stopped."""
        run = runs_of(self._screen).get(config_id)
        if run is None:
            context = contextvars.copy_context()
            args = (self._not_ours, config_id, name)
            threading.Thread(target=context.run, args=args, daemon=True).start()
            return

        def answered(yes: bool | None) -> None:
            if yes and not run.done.is_set():
                run.token.cancel("vom Benutzer abgebrochen")
                self._screen.notify(f"„{name}“ wird abgebrochen …", markup=False)

        dialog = ConfirmDialog(
            f"Lauf von „{name}“ abbrechen?",
            detail=(
                "Der Lauf endet als „abgebrochen“, mit dem Schritt, in dem er stand. Auf dem "
                "Server bleibt keine halbe Datei, der Wasserstand bleibt stehen: der nächste "
                "Lauf liefert alles."
            ),
            confirm="Abbrechen",
            cancel="Weiterlaufen lassen",
            danger=True,  # Enter lets it run
        )
        self._screen.app.push_screen(dialog, answered)

    def _not_ours(self, config_id: str, name: str) -> None:
        try:
            others = self._service.running(config_id)
        except Exception as exc:
            others, problem = [], str(exc)
        else:
            problem = ""
        if problem:
            text = f"„{name}“: {problem}"
        elif not others:
            text = f"„{name}“ läuft gerade nicht."
        elif others[0].trigger in ("schedule", "catchup"):
            text = (
                f"„{name}“ läuft im Dienst (buchex daemon, PID {others[0].host_pid}). Dieser "
                "Lauf lässt sich nur durch Beenden des Dienstes abbrechen; er endet dann als "
                "„abgebrochen“ und der nächste Lauf liefert alles."
            )
        else:
            text = (
                f"„{name}“ läuft in einem anderen Programm (PID {others[0].host_pid}). "
                "Abbrechen lässt er sich nur dort (oder durch Beenden dieses Prozesses)."
            )
        self._screen.call_later(self._screen.notify, text, severity="warning", markup=False)

    def _busy(self, name: str) -> None:
        self._screen.notify(
            f"„{name}“ läuft gerade – erst nach dem Ende erneut ausführen.",
            severity="warning",
            markup=False,
        )

    def _ask(self, config_id: str, name: str, now: dt.datetime) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._run(config_id, name, force=True)

        self._screen.app.push_screen(OutsideWindowDialog(name, now), answered)

    def _announce(self, config_id: str, name: str) -> None:
        self._screen.notify(f"„{name}“ wird ausgeführt … (x bricht ab)", markup=False)
        self._started(config_id)

    def _done(self, config_id: str, text: str, error: bool) -> None:
        self._screen.notify(text, severity="error" if error else "information", markup=False)
        self._finished(config_id)
