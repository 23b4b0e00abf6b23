"""Which configs are failing: their latest finished, non-skipped run failed.

The list paints such a row's name red; the app counts them in the header on every screen
("✗ 2 Schnittstellen fehlgeschlagen") and raises a toast when one starts failing while the
TUI is open (a scheduled run of the daemon, say). A run that is still going or was skipped
changes nothing: the run before it decides. Called from thread workers (it reads the run log).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.runs import RunRecord, RunSummary
    from engine.service import Service

PENDING = ("running", "skipped")  # not an outcome: look further back
LOOK_BACK = 20  # runs read to find the last outcome behind running/skipped ones


def last_outcome(
    service: Service, cfg_id: str, summary: RunSummary | None = None
) -> RunSummary | RunRecord | None:
    """The latest finished, non-skipped run of a config (None: there is none)."""
    last = summary if summary is not None else service.last_run(cfg_id)
    if last is None or last.status not in PENDING:
        return last
    return next((r for r in service.runs(cfg_id, limit=LOOK_BACK) if r.status not in PENDING), None)


def is_failing(service: Service, cfg_id: str, summary: RunSummary | None = None) -> bool:
    outcome = last_outcome(service, cfg_id, summary)
    return outcome is not None and outcome.status == "failed"


def failing_configs(service: Service) -> dict[str, tuple[str, str]]:
    """{config id: (name, id of the failed run)} of every failing config."""
    failing: dict[str, tuple[str, str]] = {}
    for cfg in service.list_configs():
        outcome = last_outcome(service, cfg.id)
        if outcome is not None and outcome.status == "failed":
            failing[cfg.id] = (cfg.name or cfg.id, outcome.id)
    return failing


def failure_title(count: int) -> str:
    """The header's title while configs are failing."""
    what = "Schnittstelle" if count == 1 else "Schnittstellen"
    return f"buchex – ✗ {count} {what} fehlgeschlagen"


def failure_toast(name: str, record: RunRecord | None) -> str:
    """The toast when a config starts failing: which one, at which step, why."""
    text = f"„{name}“ ist fehlgeschlagen"
    if record is not None and record.step:
        text += f" (Schritt: {record.step})"
    if record is not None and record.reason:
        text += f": {record.reason}"
    return text + ". Details im Protokoll (p)."
