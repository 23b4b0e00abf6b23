"""SFTP host keys in the connection test (SPEC §2): an unknown key is trusted only after an
admin compared its SHA256 fingerprint; a changed key always fails.

`watch_host_keys` wraps a test so that a failed step carrying `UnknownHostKey` or
`ChangedHostKey` is reported as a `HostKeyProblem` message. The screen showing the test
(the editor via FormScreen, the list's `HostKeyTestDialog`) then opens `HostKeyDialog`;
"Vertrauen" runs the test again with `trust=<that fingerprint>` through `trusting`: the
service writes the audit record before it tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from engine.config import ExportConfig
from engine.errors import ChangedHostKey, HostKeyNotConfirmed, UnknownHostKey
from tui.screens.test_dialog import ConnectionTestDialog
from tui.widgets.step_log import StepLog

if TYPE_CHECKING:
    from engine.service import Service

HostKeyError = UnknownHostKey | ChangedHostKey


class HostKeyProblem(Message):
    """A test step failed on an unknown or changed host key. `arg` is what the test ran
    with (the config), `log_id` the StepLog showing it."""

    def __init__(self, error: HostKeyError, log_id: str, arg: Any) -> None:
        super().__init__()
        self.error = error
        self.log_id = log_id
        self.arg = arg


def watch_host_keys(
    test: Callable[[Any], Iterable[object]],
    post: Callable[[HostKeyProblem], object],
    log_id: str,
) -> Callable[[Any], Iterator[object]]:
    """`test` with every step passed on; a host-key failure is also posted (after its step,
    so the log shows it before the dialog opens)."""

    def watched(arg: Any) -> Iterator[object]:
        for step in test(arg):
            yield step
            error = getattr(step, "error", None)
            if isinstance(error, UnknownHostKey | ChangedHostKey):
                post(HostKeyProblem(error, log_id, arg))

    return watched


def trusting(service: Service, fingerprint: str) -> Callable[[ExportConfig], Iterator[object]]:
    """The test again, trusting exactly `fingerprint` (the service audits the decision)."""

    def test(cfg: ExportConfig) -> Iterator[object]:
        yield f"Hostschlüssel {fingerprint} bestätigt – Test läuft erneut"
        yield from service.test_connection(cfg, trust=fingerprint)

    return test


def _host(error: HostKeyError, cfg: object) -> str:
    if error.host:
        return error.host
    target = getattr(cfg, "target", None)
    return f"{getattr(target, 'host', '')}:{getattr(target, 'port', '') or ''}".rstrip(":")


class HostKeyDialog(ModalScreen[bool]):
    """Unknown key: fingerprint, explanation, "Vertrauen" / "Ablehnen" (the default).
    Changed key: both fingerprints and only "Schließen": buchex never replaces a key."""

    CSS_PATH = "dialogs.tcss"
    AUTO_FOCUS = "#reject"  # Enter must never trust by accident (focused at compose)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "answer(False)", "Ablehnen"),
    ]

    def __init__(self, error: HostKeyError, host: str) -> None:
        super().__init__(classes="dialog-screen")
        self.error = error
        self.host = host

    @property
    def changed(self) -> bool:
        return isinstance(self.error, ChangedHostKey)

    def compose(self) -> ComposeResult:
        err = self.error
        with Vertical(classes="dialog hostkey-dialog"):
            if isinstance(err, ChangedHostKey):
                yield Label("Hostschlüssel geändert", classes="dialog-title -danger")
                with Grid(classes="hostkey-facts"):
                    yield from _fact("Server", self.host)
                    yield from _fact("Gespeichert", err.expected, id="hostkey-expected")
                    yield from _fact("Vom Server", err.actual, id="hostkey-actual")
                yield Label(
                    "Der Server zeigt einen anderen Schlüssel als den gespeicherten. Das kann "
                    "ein Angriff sein (jemand gibt sich als der Server aus). buchex verbindet "
                    "sich nicht. Nur wenn der Betreiber des Servers den neuen Schlüssel "
                    "bestätigt, den alten Eintrag aus der known_hosts-Datei im "
                    "Datenverzeichnis entfernen und erneut testen.",
                    classes="dialog-text",
                    markup=False,
                )
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Schließen", variant="primary", id="reject")
                return
            not_confirmed = isinstance(err, HostKeyNotConfirmed)
            title = (
                "Anderer Hostschlüssel als bestätigt"
                if not_confirmed
                else ("Unbekannter Hostschlüssel")
            )
            yield Label(title, classes="dialog-title")
            with Grid(classes="hostkey-facts"):
                yield from _fact("Server", self.host)
                yield from _fact("Schlüsseltyp", err.key_type or "?")
                if isinstance(err, HostKeyNotConfirmed):
                    yield from _fact("Bestätigt war", err.confirmed, id="hostkey-confirmed")
                # Exactly this value goes to the re-run as `trust` (ask_host_key): what the
                # admin compared is what buchex accepts, and nothing else.
                yield from _fact("Fingerabdruck", err.fingerprint, id="hostkey-fingerprint")
            if not_confirmed:
                yield Label(
                    "Der Server zeigt jetzt einen anderen Schlüssel als den, den Sie bestätigt "
                    "haben; buchex hat nichts gespeichert.",
                    classes="dialog-text",
                    markup=False,
                )
            yield Label(
                "buchex kennt diesen Server noch nicht. Vergleichen Sie den Fingerabdruck "
                "Zeichen für Zeichen mit dem, den Ihnen der Betreiber des Servers nennt "
                "(telefonisch oder schriftlich, nicht über diese Verbindung). Nur wenn beide "
                "übereinstimmen: Vertrauen – buchex speichert den Schlüssel und prüft ihn "
                "bei jeder Verbindung.",
                classes="dialog-text",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Vertrauen", variant="warning", id="trust")
                yield Button("Ablehnen", variant="primary", id="reject")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "trust" and not self.changed)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes and not self.changed)


def _fact(label: str, value: str, *, id: str | None = None) -> Iterator[Label]:
    yield Label(label, classes="hostkey-label", markup=False)
    yield Label(value, classes="hostkey-value", markup=False, id=id)


def ask_host_key(node: Any, problem: HostKeyProblem, trusted: Callable[[str], None]) -> None:
    """Open the dialog for `problem`; `trusted(fingerprint)` runs after "Vertrauen"."""
    error = problem.error

    def answered(yes: bool | None) -> None:
        if yes and isinstance(error, UnknownHostKey):
            trusted(error.fingerprint)

    node.app.push_screen(HostKeyDialog(error, _host(error, problem.arg)), answered)


class HostKeyTestDialog(ConnectionTestDialog):
    """The list's connection test (t), with the host-key dialog and the trusted re-run
    shown in the same step log."""

    LOG_ID = "test-steps"

    def __init__(self, cfg: ExportConfig, service: Service) -> None:
        super().__init__(cfg, self._watched)
        self._service = service
        self._test_now: Callable[[ExportConfig], Iterable[object]] = service.test_connection

    def _watched(self, cfg: ExportConfig) -> Iterator[object]:
        # Runs in the dialog's worker; `_test_now` is the plain or the trusting test.
        yield from watch_host_keys(self._test_now, self.post_message, self.LOG_ID)(cfg)

    @on(HostKeyProblem)
    def _host_key(self, message: HostKeyProblem) -> None:
        message.stop()
        ask_host_key(self, message, self._trust)

    def _trust(self, fingerprint: str) -> None:
        self._test_now = trusting(self._service, fingerprint)
        self.query_one(StepLog).start("Verbindungstest läuft …")
        self._run()
