"""SFTP host keys in the connection test (SPEC §2): an unknown key is trusted only after an
admin compared its SHA256 fingerprint; a changed key is replaced only by a buchex
administrator who typed a confirmation, and only if the server still shows that new key.

`watch_host_keys` wraps a test so that a failed step carrying `UnknownHostKey` or
`ChangedHostKey` is reported as a `HostKeyProblem` message (with the service's answer to
"may this person replace a key?", asked in the worker). The screen showing the test (the
editor via FormScreen, the list's `HostKeyTestDialog`) then opens `HostKeyDialog`;
"Vertrauen" runs the test again with `trust=<that fingerprint>` through `trusting`,
"Schlüssel ersetzen" with `Service.replace_host_key(cfg, stored, new)` through `replacing`:
the service checks the permission and writes the audit record before it tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from engine.config import ExportConfig
from engine.errors import ChangedHostKey, HostKeyNotConfirmed, UnknownHostKey
from tui.commands import Providers, ScreenCommands
from tui.screens.test_dialog import ConnectionTestDialog
from tui.widgets.button_bar import ButtonBar
from tui.widgets.step_log import StepLog

if TYPE_CHECKING:
    from engine.service import Service

HostKeyError = UnknownHostKey | ChangedHostKey


class HostKeyProblem(Message):
    """A test step failed on an unknown or changed host key. `arg` is what the test ran
    with (the config), `log_id` the StepLog showing it. `refusal`: why this person may
    not replace a changed key (None: they may)."""

    def __init__(
        self, error: HostKeyError, log_id: str, arg: Any, refusal: str | None = None
    ) -> None:
        super().__init__()
        self.error = error
        self.log_id = log_id
        self.arg = arg
        self.refusal = refusal


def watch_host_keys(
    test: Callable[[Any], Iterable[object]],
    post: Callable[[HostKeyProblem], object],
    log_id: str,
    refusal: Callable[[], str | None] | None = None,
) -> Callable[[Any], Iterator[object]]:
    """`test` with every step passed on; a host-key failure is also posted (after its step,
    so the log shows it before the dialog opens). `refusal` (e.g.
    `Service.host_key_refusal`) is asked here, in the worker, for a changed key."""

    def watched(arg: Any) -> Iterator[object]:
        for step in test(arg):
            yield step
            error = getattr(step, "error", None)
            if isinstance(error, UnknownHostKey | ChangedHostKey):
                why = None
                if isinstance(error, ChangedHostKey) and refusal is not None:
                    try:
                        why = refusal()
                    except Exception as exc:  # the dialog shows it; the service decides
                        why = f"Berechtigung nicht prüfbar: {exc}"
                post(HostKeyProblem(error, log_id, arg, why))

    return watched


def trusting(service: Service, fingerprint: str) -> Callable[[ExportConfig], Iterator[object]]:
    """The test again, trusting exactly `fingerprint` (the service audits the decision)."""

    def test(cfg: ExportConfig) -> Iterator[object]:
        yield f"Hostschlüssel {fingerprint} bestätigt – Test läuft erneut"
        yield from service.test_connection(cfg, trust=fingerprint)

    return test


def replacing(service: Service, old: str, new: str) -> Callable[[ExportConfig], Iterator[object]]:
    """The test again, replacing the stored key(s) `old` by exactly `new` (the service
    checks that the person is an administrator and audits the decision)."""

    def test(cfg: ExportConfig) -> Iterator[object]:
        yield f"Hostschlüssel-Wechsel auf {new} bestätigt – Test läuft erneut"
        yield from service.replace_host_key(cfg, old, new)

    return test


def new_fingerprint(error: ChangedHostKey) -> str:
    """The `SHA256:…` fingerprint the server shows now ("ssh-ed25519 SHA256:…")."""
    return next((w for w in reversed(error.actual.split()) if w.startswith("SHA256:")), "")


def _sha256(text: str) -> list[str]:
    return [w.rstrip(",") for w in text.split() if w.startswith("SHA256:")]


#: What an admin types to confirm replacing a changed host key.
CONFIRM_WORD = "ERSETZEN"


def _host(error: HostKeyError, cfg: object) -> str:
    if error.host:
        return error.host
    target = getattr(cfg, "target", None)
    return f"{getattr(target, 'host', '')}:{getattr(target, 'port', '') or ''}".rstrip(":")


class HostKeyDialog(ModalScreen[bool]):
    """Unknown key: fingerprint, explanation, "Vertrauen" / "Ablehnen" (the default).
    Changed key: both SHA256 fingerprints; an administrator may type ERSETZEN and press
    "Schlüssel ersetzen" ("Abbrechen" is the default); anyone else sees why not and
    "Schließen"."""

    CSS_PATH = "dialogs.tcss"
    AUTO_FOCUS = "#reject"  # Enter must never trust by accident (focused at compose)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "answer(False)", "Ablehnen", tooltip="Dem Schlüssel nicht vertrauen"),
    ]
    COMMANDS: ClassVar[Providers] = {ScreenCommands}
    HELP = (
        "Der SFTP-Server zeigt einen Hostschlüssel, den buchex nicht kennt oder der sich "
        "geändert hat. Vertrauen Sie ihm nur, wenn der Fingerabdruck mit dem übereinstimmt, "
        "den Ihnen der Betreiber des Servers nennt."
    )

    def __init__(self, error: HostKeyError, host: str, refusal: str | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.error = error
        self.host = host
        self.refusal = refusal

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
                    # SHA256 only (one a line): the key type would wrap them at 80×24.
                    stored = "\n".join(_sha256(err.expected)) or err.expected
                    yield from _fact("Gespeichert", stored, id="hostkey-expected")
                    shown = new_fingerprint(err) or err.actual
                    yield from _fact("Vom Server", shown, id="hostkey-actual")
                yield Label(
                    "Das kann ein Angriff sein (jemand gibt sich als der Server aus); buchex "
                    "verbindet sich nicht. Fragen Sie den Betreiber des Servers (nicht über "
                    "diese Verbindung), ob er den Schlüssel gewechselt hat"
                    + (
                        ", und vergleichen Sie den neuen Fingerabdruck Zeichen für Zeichen."
                        if self.refusal is not None
                        else f". Nur wenn er genau den neuen bestätigt: {CONFIRM_WORD} "
                        "eintippen und „Schlüssel ersetzen“ wählen (ersetzt wird nur, wenn der "
                        "Server dann noch genau diesen zeigt)."
                    ),
                    classes="dialog-text",
                    markup=False,
                )
                if self.refusal is not None:
                    yield Label(self.refusal, classes="dialog-error", markup=False)
                    with ButtonBar():
                        yield Button("Schließen", variant="primary", id="reject")
                    return
                yield Input(
                    placeholder=f"zum Bestätigen {CONFIRM_WORD} eintippen",
                    id="hostkey-confirm",
                    compact=True,
                )
                with ButtonBar():
                    yield Button("Schlüssel ersetzen", variant="error", id="replace", disabled=True)
                    yield Button("Abbrechen", variant="primary", id="reject")
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
            with ButtonBar():
                yield Button("Vertrauen", variant="warning", id="trust")
                yield Button("Ablehnen", variant="primary", id="reject")

    @on(Input.Changed, "#hostkey-confirm")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#replace", Button).disabled = not self._replace_confirmed()

    @on(Input.Submitted, "#hostkey-confirm")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()  # Enter never replaces: the button has to be pressed

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if self.changed:
            self.dismiss(event.button.id == "replace" and self._replace_confirmed())
            return
        self.dismiss(event.button.id == "trust")

    def _replace_confirmed(self) -> bool:
        if self.refusal is not None or not self.query("#hostkey-confirm"):
            return False
        typed = self.query_one("#hostkey-confirm", Input).value
        return typed.strip().upper() == CONFIRM_WORD

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes and not self.changed)


def _fact(label: str, value: str, *, id: str | None = None) -> Iterator[Label]:
    yield Label(label, classes="hostkey-label", markup=False)
    yield Label(value, classes="hostkey-value", markup=False, id=id)


def ask_host_key(
    node: Any,
    problem: HostKeyProblem,
    trusted: Callable[[str], None],
    replaced: Callable[[str, str], None] | None = None,
) -> None:
    """Open the dialog for `problem`; `trusted(fingerprint)` runs after "Vertrauen",
    `replaced(stored, new)` after a confirmed "Schlüssel ersetzen" (stored as the dialog
    showed it, new the fingerprint it showed)."""
    error = problem.error
    refusal = problem.refusal if replaced is not None else "Ersetzen ist hier nicht möglich."

    def answered(yes: bool | None) -> None:
        if yes and isinstance(error, UnknownHostKey):
            trusted(error.fingerprint)
        elif yes and isinstance(error, ChangedHostKey) and replaced is not None:
            replaced(error.expected, new_fingerprint(error))

    dialog = HostKeyDialog(error, _host(error, problem.arg), refusal)
    node.app.push_screen(dialog, answered)


class HostKeyTestDialog(ConnectionTestDialog):
    """The list's connection test (t), with the host-key dialog and the trusted re-run
    shown in the same step log."""

    LOG_ID = "test-steps"

    def __init__(self, cfg: ExportConfig, service: Service) -> None:
        super().__init__(cfg, self._watched)
        self._service = service
        self._test_now: Callable[[ExportConfig], Iterable[object]] = service.test_connection

    def _watched(self, cfg: ExportConfig) -> Iterator[object]:
        # Runs in the dialog's worker; `_test_now` is the plain, trusting or replacing test.
        refusal = self._service.host_key_refusal
        yield from watch_host_keys(self._test_now, self.post_message, self.LOG_ID, refusal)(cfg)

    @on(HostKeyProblem)
    def _host_key(self, message: HostKeyProblem) -> None:
        message.stop()
        ask_host_key(self, message, self._trust, self._replace)

    def _trust(self, fingerprint: str) -> None:
        self._test_now = trusting(self._service, fingerprint)
        self.query_one(StepLog).start("Verbindungstest läuft …")
        self._run()

    def _replace(self, old: str, new: str) -> None:
        self._test_now = replacing(self._service, old, new)
        self.query_one(StepLog).start("Verbindungstest läuft …")
        self._run()
