"""Nachlieferung from the Protokoll: "n" sends a past delivered run's bookings again.

The engine refuses when bookings of that run changed in the ledger since (it names them);
the admin may then confirm sending today's values. Outside 06:00–22:00 it asks like a
manual run. Everything slow runs in a worker; answers come back on the UI thread.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from textual import work

from engine.redelivery import RedeliveryRefused
from engine.runner import OutsideWindow
from engine.runs import RunRecord
from tui.context import buchex
from tui.screens.confirm import ConfirmDialog

if TYPE_CHECKING:
    from textual.screen import Screen

    _Base = Screen[Any]
else:
    _Base = object


class RedeliveryActions(_Base):
    """Mixed into the screens that show a run (`redelivery_record` says which)."""

    def redelivery_record(self) -> RunRecord | None:
        raise NotImplementedError

    def action_redeliver(self) -> None:
        record = self.redelivery_record()
        if record is None:
            return
        if buchex(self).hooks.redeliver is None:
            self.notify("„Nachliefern“ ist noch nicht verfügbar.", severity="warning")
            return
        if record.status != "ok" or not any(f.get("kind") != "control" for f in record.files):
            self.notify(
                "Nachliefern geht nur für einen Lauf, der Dateien übertragen hat.",
                severity="warning",
            )
            return
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
                self._redeliver(record.id, force=False, current=False)

        self.app.push_screen(dialog, answered)

    @work(thread=True, group="actions")
    def _redeliver(self, run_id: str, *, force: bool, current: bool) -> None:
        hook = buchex(self).hooks.redeliver
        assert hook is not None
        try:
            text = hook(run_id, force, current)
        except OutsideWindow as exc:
            self.app.call_from_thread(
                self._ask_redelivery, run_id, str(exc), force=True, current=current
            )
            return
        except RedeliveryRefused as exc:
            if exc.journal_nos and not current:
                self.app.call_from_thread(
                    self._ask_redelivery, run_id, str(exc), force=force, current=True
                )
            else:
                self.app.call_from_thread(
                    self.notify, f"Nachlieferung abgelehnt: {exc}", severity="error", markup=False
                )
            return
        except Exception as exc:
            self.app.call_from_thread(
                self.notify, f"Nachlieferung: {exc}", severity="error", markup=False
            )
            return
        self.app.call_from_thread(self.notify, text or "Nachgeliefert.", markup=False)

    def _ask_redelivery(self, run_id: str, reason: str, *, force: bool, current: bool) -> None:
        question = (
            "Mit den heutigen Werten nachliefern?"
            if current and "geändert" in reason
            else "Trotzdem jetzt nachliefern?"
        )
        dialog = ConfirmDialog(question, detail=reason, confirm="Ja", cancel="Nein", danger=True)

        def answered(yes: bool | None) -> None:
            if yes:
                self._redeliver(run_id, force=force, current=current)

        self.app.push_screen(dialog, answered)
