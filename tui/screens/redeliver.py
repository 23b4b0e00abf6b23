"""Nachlieferung from the Protokoll: "n" sends a past delivered run's bookings again.

The engine refuses when bookings of that run changed in the ledger since (it names them);
the admin may then confirm sending today's values. Outside 06:00–22:00 it asks like a
manual run. `Redelivery` is a helper the run screens own: everything slow runs in a
worker; answers come back on the UI thread.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
from typing import TYPE_CHECKING, Any

from engine.errors import OutsideWindow, RedeliveryRefused
from engine.runs import RunRecord
from engine.service import run_summary
from tui.screens.confirm import ConfirmDialog
from tui.screens.outside_window import RunInProgress, RunsInProgress, runs_of

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from engine.service import Service


class Redelivery:
    """The "Nachliefern" of `screen` (the Protokoll and a run's own screen)."""

    def __init__(self, screen: Screen[Any], service: Service) -> None:
        self._screen = screen
        self._service = service
        self._config = ("", "")  # the offered run's config: id, name

    def offer(self, record: RunRecord | None) -> None:
        """Ask whether to send `record`'s bookings again (None: no run selected)."""
        if record is None:
            return
        if record.status != "ok" or not any(f.get("kind") != "control" for f in record.files):
            self._screen.notify(
                "Nachliefern geht nur für einen Lauf, der Dateien übertragen hat.",
                severity="warning",
            )
            return
        self._config = (record.config_id, record.config_name or record.config_id)
        dialog = ConfirmDialog(
            f"Lauf vom {dt.datetime.fromisoformat(record.started_at):%d.%m.%Y %H:%M} nachliefern?",
            detail=(
                f"Die Buchungen dieses Laufs von „{record.config_name}“ werden noch einmal an "
                "das Ziel der Schnittstelle übertragen, mit neuen Dateinamen "
                "(…_Nachlieferung). Der Wasserstand bleibt, nichts wird neu verbucht."
            ),
            confirm="Nachliefern",
            cancel="Abbrechen",
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._send(record.id, force=False, current=False)

        self._screen.app.push_screen(dialog, answered)

    def _send(self, run_id: str, *, force: bool, current: bool) -> None:
        # A daemon thread registered with the app's runs in progress, as a manual run
        # (tui/screens/outside_window.py): x cancels it, quitting asks, SIGHUP cancels.
        app = self._screen.app
        args = (self._work, app, runs_of(self._screen), run_id, force, current)
        context = contextvars.copy_context()
        threading.Thread(
            target=context.run, args=args, name=f"redeliver {run_id}", daemon=True
        ).start()

    def _work(
        self, app: App[Any], runs: RunsInProgress, run_id: str, force: bool, current: bool
    ) -> None:
        # The answers go to the app, not the screen: they still arrive if the run's screen
        # was closed meanwhile.
        config_id, name = self._config
        run: RunInProgress | None = runs.add(config_id, name, force=force, kind="redeliver")
        if run is None:
            app.call_later(self._tell, f"„{name}“ läuft gerade – erst nach dem Ende.", True)
            return
        try:
            record = self._service.redeliver(run_id, force=force, current=current, cancel=run.token)
        except OutsideWindow as exc:
            app.call_later(self._ask, run_id, str(exc), True, current)
            return
        except RedeliveryRefused as exc:
            if exc.journal_nos and not current:
                app.call_later(self._ask, run_id, str(exc), force, True)
            else:
                app.call_later(self._tell, f"Nachlieferung abgelehnt: {exc}", True)
            return
        except Exception as exc:
            app.call_later(self._tell, f"Nachlieferung: {exc}", True)
            return
        finally:
            runs.finished(run)
        if record.status == "failed":
            app.call_later(
                self._tell, f"Nachlieferung: fehlgeschlagen – {record.step}: {record.reason}", True
            )
            return
        app.call_later(self._tell, f"Nachlieferung: {run_summary(record)}", False)

    def _tell(self, text: str, error: bool) -> None:
        self._screen.notify(text, severity="error" if error else "information", markup=False)

    def _ask(self, run_id: str, reason: str, force: bool, current: bool) -> None:
        question = (
            "Mit den heutigen Werten nachliefern?"
            if current and "geändert" in reason
            else "Trotzdem jetzt nachliefern?"
        )
        dialog = ConfirmDialog(question, detail=reason, confirm="Ja", cancel="Nein", danger=True)

        def answered(yes: bool | None) -> None:
            if yes:
                self._send(run_id, force=force, current=current)

        self._screen.app.push_screen(dialog, answered)
