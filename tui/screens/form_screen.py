"""What the editor and the settings screens share: a FieldForm filled in a worker,
Speichern (ctrl+s) in a worker, Zurück (escape) asking "Änderungen verwerfen?", the
password eye (the service decides and audits), test results as they arrive."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header, Input, Label, LoadingIndicator, Static

from engine.fields import FieldSpec, Problem, ValidationError
from tui.commands import Providers, ScreenCommands
from tui.screens.confirm import ConfirmDialog
from tui.screens.hostkey import (
    HostKeyProblem,
    ask_host_key,
    replacing,
    trusting,
    watch_host_keys,
)
from tui.screens.reveal import RevealDialog, Revealed
from tui.widgets.fields import FieldRow, SecretRow
from tui.widgets.footer import SteadyFooter
from tui.widgets.form import FieldForm
from tui.widgets.step_log import StepArrived, StepLog, run_steps

if TYPE_CHECKING:
    from engine.service import Service
    from engine.settings import SmtpSettings


def action_row(*widgets: Widget, label: str = "", id: str | None = None) -> Horizontal:
    """A row aligned with the fields, e.g. for a "Test" button."""
    return Horizontal(
        Label(label, classes="field-label", markup=False),
        Vertical(*widgets, classes="field-body"),
        classes="field-row action-row",
        id=id,
    )


class FormScreen(Screen[str | None]):
    CSS_PATH = "forms.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Speichern", tooltip="Die Eingaben prüfen und speichern"),
        Binding(
            "escape",
            "leave",
            "Zurück",
            tooltip="Zurück zur Liste (bei ungespeicherten Änderungen mit Rückfrage)",
        ),
    ]
    COMMANDS: ClassVar[Providers] = {ScreenCommands}
    HELP = ""  # what the screen is for (help screen, F1); the fields explain themselves
    # The service names secrets "<prefix><path>", e.g. "smtp.password".
    SECRET_PREFIX = ""

    class Loaded(Message):
        def __init__(self, model: Any, error: str | None = None) -> None:
            super().__init__()
            self.model = model
            self.error = error

    class Saved(Message):
        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    class SaveFailed(Message):
        def __init__(self, problems: Sequence[Problem], error: str | None = None) -> None:
            super().__init__()
            self.problems = list(problems)
            self.error = error

    class RevealChecked(Message):
        def __init__(self, path: str, refusal: str | None) -> None:
            super().__init__()
            self.path = path
            self.refusal = refusal

    def __init__(self, service: Service) -> None:
        super().__init__()
        self.service = service
        self.form: FieldForm | None = None
        self._saving = False
        self._after_save: Callable[[], object] | None = None  # save_then's continuation

    # --- subclass API (load_model and save_model run in worker threads) --------------------

    def load_model(self) -> Any:
        raise NotImplementedError

    def build_form(self, model: Any) -> FieldForm:
        raise NotImplementedError

    def save_model(self, raw: dict[str, Any]) -> Any:
        raise NotImplementedError

    def saved(self, result: Any) -> None:
        self.notify("Gespeichert.")
        self.dismiss(None)

    def secret_config_id(self) -> str | None:
        """The stored config whose secrets the eye shows (the editor's)."""
        return None

    # --- layout and loading -----------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="form-scroll"):
            # Shown from the first frame until the form is laid out (building and laying
            # out ~100 widgets takes 0.1–2 s): never a blank screen.
            yield Label("Wird geladen …", id="form-loading")
            yield LoadingIndicator()
        # What the focused field is for (its FieldSpec.explanation, the seed's text).
        help_line = Static("", id="field-help", markup=False)
        help_line.display = False
        yield help_line
        yield SteadyFooter()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="load")
    def _load(self) -> None:
        try:
            model = self.load_model()
        except Exception as exc:  # shown to the user; the screen stays usable for escape
            self.post_message(self.Loaded(None, str(exc)))
            return
        self.post_message(self.Loaded(model))

    @on(Loaded)
    async def _loaded(self, message: Loaded) -> None:
        scroll = self.query_one("#form-scroll", VerticalScroll)
        loading = scroll.query("#form-loading, LoadingIndicator")
        if message.error is not None:
            await loading.remove()
            await scroll.mount(Label(message.error, classes="form-problems", markup=False))
            self.notify(message.error, severity="error", markup=False)
            return
        self.form = self.build_form(message.model)
        # The form goes in under the loading text, which leaves once the form is laid out:
        # removing it first showed an empty form area until then.
        await scroll.mount(self.form)
        self.form_ready()
        self.call_after_refresh(loading.remove)

    def form_ready(self) -> None:
        """The form is mounted: focus its first field."""
        assert self.form is not None
        first = self.form.visible_paths()[0]
        self.form.rows[first].focus_control()

    @on(events.DescendantFocus)
    def _show_field_help(self, event: events.DescendantFocus) -> None:
        node: Any = event.widget
        while node is not None and not isinstance(node, FieldRow):
            node = node.parent
        text = node.spec.explanation if node is not None else ""
        line = self.query_one("#field-help", Static)
        line.update(text)
        line.display = bool(text)

    def jump_to(self, section: str) -> None:
        if self.form is None:
            return
        box = self.form.section(section)
        box.scroll_visible(top=True, animate=False)
        row = next((r for r in self.form.rows.values() if r.spec.section == section), None)
        if row is not None:
            row.focus_control()

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        # Enter in a text field moves on, like Tab: forms are filled top to bottom.
        event.stop()
        self.focus_next()

    # --- saving -----------------------------------------------------------------------

    def action_save(self) -> None:
        if self.form is None or self._saving:
            return
        problems = self.form.validate(everything=True)
        if problems:
            self._refuse(problems)
            return
        self._saving = True
        self._save(self.form.raw())

    def _refuse(self, problems: Sequence[Problem]) -> None:
        self.notify(
            "\n".join(str(p) for p in problems),
            title="Nicht gespeichert",
            severity="error",
            timeout=10,
            markup=False,
        )
        if self.form is not None and (row := self.form.first_invalid(problems)) is not None:
            row.focus_control()

    @work(thread=True, exclusive=True, group="save")
    def _save(self, raw: dict[str, Any]) -> None:
        try:
            result = self.save_model(raw)
        except ValidationError as exc:
            self.post_message(self.SaveFailed(exc.problems))
        except Exception as exc:
            self.post_message(self.SaveFailed([], str(exc) or type(exc).__name__))
        else:
            self.post_message(self.Saved(result))

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        self._saving = False
        if self.form is not None:
            self.form.mark_clean()
        self.saved(message.result)
        after, self._after_save = self._after_save, None
        if after is not None:
            after()

    @on(SaveFailed)
    def _save_failed(self, message: SaveFailed) -> None:
        self._saving = False
        self._after_save = None
        if message.error is not None:
            self.notify(message.error, title="Nicht gespeichert", severity="error", markup=False)
            return
        # Problems only the full check finds (e.g. the ledger changed meanwhile).
        if self.form is not None:
            for p in message.problems:
                if p.path in self.form.rows:
                    self.form.rows[p.path].set_errors([p.message])
        self._refuse(message.problems)

    # --- leaving ----------------------------------------------------------------------

    def save_then(self, after: Callable[[], object]) -> None:
        """Save as Ctrl+S does, then call `after` (the app's guarded quit); not when the
        form refuses (its messages show) or saving fails."""
        self._after_save = after
        self.action_save()
        if not self._saving:  # refused at once: invalid input
            self._after_save = None

    def has_unsaved_changes(self) -> bool:
        """Asked by the app before it replaces this screen with another one."""
        return self.form is not None and self.form.is_dirty()

    def action_leave(self) -> None:
        if self.has_unsaved_changes():
            self.app.push_screen(
                ConfirmDialog(
                    "Änderungen verwerfen?",
                    detail="Die Änderungen sind noch nicht gespeichert.",
                    confirm="Verwerfen",
                    cancel="Weiter bearbeiten",
                    danger=True,
                ),
                self._leave_answer,
            )
        else:
            self.dismiss(None)

    def _leave_answer(self, discard: bool | None) -> None:
        if discard:
            self.dismiss(None)

    # --- the password eye -------------------------------------------------------------

    @on(SecretRow.RevealRequested)
    def _reveal_requested(self, event: SecretRow.RevealRequested) -> None:
        event.stop()
        self._check_reveal(event.row.spec.path)

    @work(thread=True, exclusive=True, group="reveal")
    def _check_reveal(self, path: str) -> None:
        try:
            refusal = self.service.reveal_refusal()
        except Exception as exc:
            refusal = f"Prüfung nicht möglich: {exc}"
        self.post_message(self.RevealChecked(path, refusal))

    @on(RevealChecked)
    def _reveal_checked(self, message: RevealChecked) -> None:
        if message.refusal is not None:
            self.notify(message.refusal, title="Passwort anzeigen", severity="error", markup=False)
            return
        assert self.form is not None
        path = message.path
        field, config_id = self.SECRET_PREFIX + path, self.secret_config_id()

        def reveal(password: str) -> str | None:  # in the dialog's worker
            return self.service.reveal_secret(field, password, config_id=config_id)

        def answered(answer: Revealed | None) -> None:
            if answer is not None:
                self._show_secret(path, answer.secret)

        label = self.form.rows[path].spec.label
        self.app.push_screen(RevealDialog(self.service.actor, label, reveal), answered)

    def _show_secret(self, path: str, clear: str | None) -> None:
        if not clear:
            self.notify(
                "Es ist kein Passwort gespeichert.",
                title="Passwort anzeigen",
                severity="error",
                markup=False,
            )
            return
        assert self.form is not None
        row = self.form.rows[path]
        if isinstance(row, SecretRow):
            row.reveal(clear)

    # --- tests (connection, mail) -----------------------------------------------------

    def start_steps(
        self, log_id: str, status: str, test: Callable[[Any], Iterable[object]], arg: Any
    ) -> None:
        self.query_one(f"#{log_id}", StepLog).start(status)
        self._run_steps(log_id, test, arg)

    @work(thread=True, group="steps")
    def _run_steps(self, log_id: str, test: Callable[[Any], Iterable[object]], arg: Any) -> None:
        refusal = self.service.host_key_refusal
        watched = watch_host_keys(test, self.post_message, log_id, refusal)
        run_steps(self.post_message, log_id, watched, arg)

    @on(HostKeyProblem)
    def _host_key(self, message: HostKeyProblem) -> None:
        """An unknown SFTP host key: ask; "Vertrauen" re-runs the test trusting only it.
        A changed one: an admin may replace it; the test re-runs replacing exactly it."""

        def trusted(fingerprint: str) -> None:
            test = trusting(self.service, fingerprint)
            self.start_steps(message.log_id, "Verbindungstest läuft …", test, message.arg)

        def replaced(old: str, new: str) -> None:
            test = replacing(self.service, old, new)
            self.start_steps(message.log_id, "Verbindungstest läuft …", test, message.arg)

        ask_host_key(self, message, trusted, replaced)

    @on(StepArrived)
    def _step(self, message: StepArrived) -> None:
        self.query_one(f"#{message.log_id}", StepLog).add(
            message.ok, message.text, done=message.done
        )

    def mail_test(self, address: str, log_id: str, smtp: SmtpSettings | None = None) -> None:
        """Send a test mail with `smtp` (the form's values) or the stored SMTP settings;
        the result goes to `log_id`."""

        def send(to: str) -> Iterable[object]:
            return [self.service.send_test_mail(to, smtp)]

        self.start_steps(log_id, f"Test-E-Mail an {address} wird gesendet …", send, address)


def field_specs_in(specs: Sequence[FieldSpec], section: str) -> list[FieldSpec]:
    return [s for s in specs if s.section == section]
