"""Run records: what one run of a config did (stored in the export journal, engine/journal.py)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

RETENTION = 1000  # run records kept per config (the delivered bookings are kept for good)

Status = Literal["running", "ok", "nothing", "failed", "skipped"]
Trigger = Literal["schedule", "catchup", "manual", "cli", "export", "redeliver"]
STATUS_LABELS: dict[str, str] = {
    "running": "läuft",
    "ok": "erfolgreich",
    "nothing": "nichts zu exportieren",
    "failed": "fehlgeschlagen",
    "skipped": "übersprungen",
}


@dataclass
class RunRecord:
    id: str
    config_id: str
    config_name: str
    trigger: str
    started_at: str  # ISO 8601 with offset
    status: str = "running"
    due_at: str | None = None
    finished_at: str | None = None
    step: str | None = None
    reason: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # human-readable progress lines
    attempts: int = 0
    mail: str | None = None  # why a failure mail could not be sent, if it could not
    host_pid: int = 0
    host_started: int = 0  # the owner's process start time (engine.liveness)
    host_name: str = ""
    # Journal-number gaps seen in the selected range (GoBD "Lückenanalyse"): information only.
    gaps: list[str] = field(default_factory=list)
    late: int = 0  # bookings that became visible after higher numbers had been delivered
    redelivery_of: str | None = None  # trigger "redeliver": the run whose bookings it sent

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> RunRecord:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in doc.items() if k in known})


@dataclass(frozen=True)
class RunSummary:
    """The newest run of a config, kept in the state doc so "Letzter Lauf" needs no scan."""

    id: str
    status: str
    started_at: str
    finished_at: str | None = None

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> RunSummary:
        return cls(
            id=str(doc["id"]),
            status=str(doc.get("status", "running")),
            started_at=str(doc["started_at"]),
            finished_at=doc.get("finished_at"),
        )

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


def new_run_id(now: dt.datetime) -> str:
    """Sortable by time, unique across processes."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"


class RunBusy(Exception):
    """The config is already running (in this or another process)."""


class Interrupted(BaseException):  # like KeyboardInterrupt: not an error, a stop
    """The process is asked to stop (SIGTERM, SIGHUP) in the middle of a run."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


def owner_gone_reason(record: RunRecord) -> str:
    step = f" im Schritt {record.step}" if record.step else ""
    return (
        f"abgebrochen: Prozess {record.host_pid or '?'} wurde beendet{step}, bevor der Lauf "
        "abgeschlossen war"
    )
