"""Run records: what one run of a config did (stored in the export journal, engine/journal.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
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
    # A failure's technical detail, e.g. the server's own answer ("530 Login incorrect."):
    # `reason` holds the German sentence (engine.explain), this the line under it. Records
    # written before it existed have none (their reason still carries the detail).
    detail: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # human-readable progress lines
    # Where a running run is (the list and the Protokoll show it, `progress_text`): "step"
    # (Vorbereitung, Abgleich, Export, Übertragung), "rows", "files_done", "files_total",
    # "bytes_done", "bytes_total"; kept as last known when the run ends.
    progress: dict[str, Any] = field(default_factory=dict)
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

    @property
    def booking_rows(self) -> int:
        """Rows of the delivered data files (a Belegbilder package's `rows` count images)."""
        return sum(int(f.get("rows") or 0) for f in self.files if f.get("kind") != "documents")

    @property
    def images(self) -> int:
        """Document images delivered (Belegbilder packages, issue 17)."""
        return sum(int(f.get("rows") or 0) for f in self.files if f.get("kind") == "documents")

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
    # A running run's RunRecord.progress (not part of equality: the same run, moved on).
    progress: Mapping[str, Any] | None = field(default=None, compare=False)

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


def _number(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _size(n: int) -> str:
    if n < 1024 * 1024:
        return f"{max(n, 0) / 1024:.0f} KB" if n >= 1024 else f"{n} B"
    return f"{n / (1024 * 1024):.1f} MB".replace(".", ",")


def progress_text(progress: Mapping[str, Any] | None, *, short: bool = False) -> str:
    """A running run's progress in German: "Übertragung · 1 von 3 Dateien · 1.234 Zeilen ·
    56 KB von 120 KB"; `short` (the list's cell): "Übertragung 1/3"."""
    if not progress:
        return ""
    step = str(progress.get("step") or "")
    total = int(progress.get("files_total") or 0)
    done = int(progress.get("files_done") or 0)
    if short:
        return f"{step} {done}/{total}" if total else step
    parts = [step] if step else []
    if total:
        parts.append(f"{done} von {total} Datei{'en' if total != 1 else ''}")
    if rows := int(progress.get("rows") or 0):
        parts.append(f"{_number(rows)} Zeilen")
    if bytes_total := int(progress.get("bytes_total") or 0):
        parts.append(f"{_size(int(progress.get('bytes_done') or 0))} von {_size(bytes_total)}")
    return " · ".join(parts)


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


class RunCancelled(BaseException):  # like Interrupted: a stop, not an error
    """A run's `CancelToken` was cancelled; `step`: the transport step it stopped in, if
    known (else the run's own step)."""

    def __init__(self, reason: str, step: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.step = step


class CancelToken:
    """Cooperative cancellation of one run (RunOptions.cancel, Service.run_now(cancel=…)).

    `cancel()` sets the flag; the runner checks it between steps, between files and per
    block inside uploads (`check`), and waits on it instead of sleeping between attempts.
    A call blocked in a socket (a server that accepts and never answers) cannot see the
    flag: `hard_abort_after` seconds after `cancel()` the hooks registered with `abort_hook`
    run (the transports shut their sockets down), so the blocked call returns at once.
    The grace first gives a healthy upload the chance to stop between blocks and delete its
    temporary file on the server. Thread-safe; `cancel()` may be called from any thread
    (or a signal handler)."""

    def __init__(self, *, hard_abort_after: float = 2.0) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._hooks: list[Callable[[], None]] = []
        self._aborted = False
        self.hard_abort_after = hard_abort_after
        self.reason = ""

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self, reason: str = "vom Benutzer abgebrochen") -> None:
        with self._lock:
            if self._event.is_set():
                return
            self.reason = reason
            self._event.set()
            timer = threading.Timer(self.hard_abort_after, self._abort)
            timer.daemon = True
        timer.start()

    def _abort(self) -> None:
        with self._lock:
            self._aborted = True
            hooks = list(self._hooks)
        for hook in hooks:
            with contextlib.suppress(Exception):
                hook()

    def check(self, step: str | None = None) -> None:
        """Raise RunCancelled if cancelled."""
        if self._event.is_set():
            raise RunCancelled(self.reason, step)

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True (at once) when cancelled meanwhile."""
        return self._event.wait(seconds)

    @contextlib.contextmanager
    def abort_hook(self, hook: Callable[[], None]) -> Iterator[None]:
        """Run `hook` on a hard abort while inside the block (at once if that was)."""
        with self._lock:
            self._hooks.append(hook)
            aborted = self._aborted
        if aborted:
            with contextlib.suppress(Exception):
                hook()
        try:
            yield
        finally:
            with self._lock:
                self._hooks.remove(hook)


def owner_gone_reason(record: RunRecord) -> str:
    step = f" im Schritt {record.step}" if record.step else ""
    return (
        f"abgebrochen: Prozess {record.host_pid or '?'} wurde beendet{step}, bevor der Lauf "
        "abgeschlossen war"
    )
