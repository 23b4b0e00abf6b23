"""Form rows generated from `engine.fields.FieldSpec`: the widget follows the spec's `kind`.

Every row owns its control widgets from construction on, so `raw()` (the value as the
config model's parser expects it) works before and after mounting. Rows never validate:
the form runs the engine's parser over all raw values and hands each row its messages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import DescendantBlur
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Label, RadioButton, RadioSet, Select, SelectionList
from textual.widgets.selection_list import Selection

from engine.fields import FieldSpec, Secret
from tui.widgets.inputs import BlinkAwareInput

Options = list[tuple[str, str]]  # (value, German label), in display order

# Placeholders for kinds whose format the user has to know; a spec's own help wins.
_PLACEHOLDER = {"date": "TT.MM.JJJJ", "time": "HH:MM (06:00–22:00)", "email": "name@firma.de"}


def row_id(path: str) -> str:
    """DOM id of the row for a dotted field path (ids may not contain dots)."""
    return "field-" + path.replace(".", "--")


def control_id(path: str) -> str:
    return "ctl-" + path.replace(".", "--")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")  # German form input; the parser takes both
    return str(value)


class FieldRow(Horizontal):
    """Label | control, with the field's hint and validation messages under the control."""

    class Edited(Message):
        """The row's value changed, or focus left it (time to validate)."""

        def __init__(self, row: FieldRow) -> None:
            super().__init__()
            self.row = row

        @property
        def control(self) -> FieldRow:
            return self.row

    def __init__(self, spec: FieldSpec) -> None:
        super().__init__(id=row_id(spec.path), classes=f"field-row kind-{spec.kind}")
        self.spec = spec
        # Messages show once the user has been in the field (or tried to save), not while
        # a new form is still empty.
        self.touched = False
        self._label = Label(self.label_text(), classes="field-label", markup=False)
        self._hint = Label(self.hint_text(), classes="field-hint", markup=False)
        self._hint.display = bool(self.hint_text())
        self._error = Label("", classes="field-error", markup=False)
        self._error.display = False
        self.error_text = ""  # the messages shown under the control

    # --- what subclasses provide ------------------------------------------------------

    def control_widgets(self) -> list[Widget]:
        raise NotImplementedError

    def raw(self) -> Any:
        """The value in the shape the engine's parser takes (form text, bool, list…)."""
        raise NotImplementedError

    def label_text(self) -> str:
        return self.spec.label + (" *" if self.spec.required else "")

    def hint_text(self) -> str:
        return ""

    # --- common -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self._label
        with Vertical(classes="field-body"):
            yield from self.control_widgets()
            yield self._hint
            yield self._error

    def on_mount(self) -> None:
        # The seed's explanation of the field on hover (also the help line, F1).
        if self.spec.explanation:
            for widget in [self._label, *self.control_widgets()]:
                if widget.tooltip is None:
                    widget.tooltip = self.spec.explanation

    def set_hint(self, text: str) -> None:
        self._hint.update(text)
        self._hint.display = bool(text)

    def set_errors(self, messages: list[str]) -> None:
        text = "\n".join(messages)
        if text == self.error_text:
            return  # validation runs per keystroke: don't relayout the form for nothing
        self.error_text = text
        self._error.update(self.error_text)
        self._error.display = bool(messages)
        self.set_class(bool(messages), "-invalid")

    def focus_control(self) -> None:
        for widget in self.control_widgets():
            target = (
                widget
                if widget.focusable
                else next((w for w in widget.query("*") if w.focusable), None)
            )
            if target is not None:
                target.focus()
                return

    def edited(self) -> None:
        self.post_message(self.Edited(self))

    def on_descendant_blur(self, event: DescendantBlur) -> None:
        self.touched = True
        self.edited()


class TextRow(FieldRow):
    """text, int, date, time, email: one Input; the parser reads the text as typed."""

    def __init__(self, spec: FieldSpec, value: Any) -> None:
        super().__init__(spec)
        self.input = BlinkAwareInput(
            _text(value),
            placeholder=spec.help or _PLACEHOLDER.get(spec.kind, ""),
            id=control_id(spec.path),
            compact=True,
        )

    def control_widgets(self) -> list[Widget]:
        return [self.input]

    def raw(self) -> Any:
        return self.input.value

    @on(BlinkAwareInput.Changed)
    def _changed(self, event: BlinkAwareInput.Changed) -> None:
        event.stop()
        self.edited()


class BoolRow(FieldRow):
    """bool: a Checkbox. "Verwendung: Serverseitig" puts "Verwendung" left and the rest on
    the box, like the seed's "Verwendung ☑ Serverseitig"."""

    def __init__(self, spec: FieldSpec, value: Any) -> None:
        super().__init__(spec)
        _, _, box_label = spec.label.rpartition(": ")
        self.checkbox = Checkbox(box_label, bool(value), id=control_id(spec.path), compact=True)
        # A long option text (a chain option is a sentence) takes the whole row instead of
        # being cut off at 80 columns.
        self.set_class(not self.label_text() and len(box_label) > 30, "-full")

    def label_text(self) -> str:
        left, sep, _ = self.spec.label.rpartition(": ")
        return left if sep else ""

    def control_widgets(self) -> list[Widget]:
        return [self.checkbox]

    def raw(self) -> Any:
        return self.checkbox.value

    @on(Checkbox.Changed)
    def _changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.edited()


class _OptionRow(FieldRow):
    """A row whose options are static (`spec.choices`) or arrive later from the ledger."""

    def __init__(self, spec: FieldSpec, options: Options | None) -> None:
        super().__init__(spec)
        self.options = options  # None: the catalog is still loading
        self.set_hint(self.hint_text())

    def hint_text(self) -> str:
        if self.spec.catalog and getattr(self, "options", None) is None:
            return "Buchhaltung wird gelesen …"
        return ""

    def _with_unknown(self, options: Options, values: list[str]) -> Options:
        # A stored value the ledger no longer knows stays selectable, so nothing is lost
        # silently; validation names it.
        known = {v for v, _ in options}
        return options + [(v, f"{v} (unbekannt)") for v in values if v not in known]

    def set_options(self, options: Options) -> None:
        raise NotImplementedError


class ChoiceRow(_OptionRow):
    """choice: a Select; blank allowed unless the field is required and set."""

    def __init__(self, spec: FieldSpec, value: Any, options: Options | None) -> None:
        super().__init__(spec, options)
        self.value: str | None = None if value is None else str(value)
        allow_blank = not spec.required or self.value is None
        prompt = spec.help.removeprefix("leer: ") if spec.help.startswith("leer: ") else "–"
        opts = self._with_unknown(options or [], [self.value] if self.value else [])
        self.select: Select[str] = Select(
            [(label, v) for v, label in opts],
            value=self.value if self.value is not None and options is not None else Select.NULL,
            allow_blank=allow_blank,
            prompt=prompt,
            id=control_id(spec.path),
            compact=True,
        )

    def control_widgets(self) -> list[Widget]:
        return [self.select]

    def raw(self) -> Any:
        return self.value

    def set_options(self, options: Options) -> None:
        self.options = options
        self.set_hint("")
        opts = self._with_unknown(options, [self.value] if self.value else [])
        current = self.value
        self.select.set_options([(label, v) for v, label in opts])
        if current is not None:
            self.select.value = current

    @on(Select.Changed)
    def _changed(self, event: Select.Changed) -> None:
        event.stop()
        value = event.value
        if self.options is None:
            return  # the placeholder Select before the catalog arrived
        self.value = None if value is Select.NULL else str(value)
        self.edited()


class RadioRow(FieldRow):
    """choice with 2–3 static options: a RadioSet (FTP / FTPS / SFTP, both Formats, SMTP
    security); one key press less than a Select. Nothing pressed means None."""

    def __init__(self, spec: FieldSpec, value: Any, options: Options) -> None:
        super().__init__(spec)
        self.options = options
        self.value: str | None = None if value is None else str(value)
        buttons = [
            RadioButton(label, v == self.value, compact=True, id=f"{control_id(spec.path)}-{v}")
            for v, label in options
        ]
        self.radio_set = RadioSet(*buttons, id=control_id(spec.path), compact=True)

    def control_widgets(self) -> list[Widget]:
        return [self.radio_set]

    def raw(self) -> Any:
        return self.value

    @on(RadioSet.Changed)
    def _changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self.value = self.options[event.index][0]
        self.edited()


class ChoiceList(SelectionList[str]):
    """A SelectionList whose first row is highlighted when it gets the focus with none
    highlighted: Space toggles at once (without, Space did nothing until ↓ was pressed)."""

    def on_focus(self) -> None:
        if self.highlighted is None and self.option_count:
            self.highlighted = 0


class MultiRow(_OptionRow):
    """multi: a SelectionList (catalog-backed ones are filled when the catalog arrives)."""

    def __init__(self, spec: FieldSpec, value: Any, options: Options | None) -> None:
        super().__init__(spec, options)
        self._pending = [str(v) for v in (value or ())]
        self.selection_list: SelectionList[str] = ChoiceList(
            *self._selections(options) if options is not None else (),
            id=control_id(spec.path),
            compact=True,
        )

    def hint_text(self) -> str:
        waiting = super().hint_text()
        return waiting or self.spec.help

    def _selections(self, options: Options) -> list[Selection[str]]:
        opts = self._with_unknown(options, self._pending)
        return [Selection(label, v, v in self._pending) for v, label in opts]

    def control_widgets(self) -> list[Widget]:
        return [self.selection_list]

    def raw(self) -> Any:
        if self.options is None:
            return list(self._pending)
        chosen = set(self.selection_list.selected)
        order = [v for v, _ in self._with_unknown(self.options, self._pending)]
        return [v for v in order if v in chosen]

    def set_options(self, options: Options) -> None:
        current = self.raw()
        self._pending = current
        self.options = options
        self.set_hint(self.spec.help)
        self.selection_list.clear_options()
        self.selection_list.add_options(self._selections(options))

    @on(SelectionList.SelectedChanged)
    def _changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        event.stop()
        if self.options is not None:
            self._pending = self.raw()
        self.edited()


class SecretRow(FieldRow):
    """secret: masked Input, the eye ("Anzeigen") and "Passwort löschen".

    raw(): None keeps the stored value (the parser's rule for null), "" clears it, text sets
    it. An empty field or the revealed stored value unchanged means "keep".
    """

    class RevealRequested(Message):
        """The eye was pressed on an empty field with a stored value: the screen checks the
        rules (chain option, admin, password) and calls `reveal()`."""

        def __init__(self, row: SecretRow) -> None:
            super().__init__()
            self.row = row

        @property
        def control(self) -> SecretRow:
            return self.row

    def __init__(self, spec: FieldSpec, value: Any, *, kept: str | None = None) -> None:
        super().__init__(spec)
        self.has_stored = bool(value) if isinstance(value, Secret) else kept is not None
        self._kept = kept  # what "keep" sends: None, or a duplicate's copied password
        self._shown = ""  # the revealed stored value currently in the field
        self.input = BlinkAwareInput(
            password=True,
            placeholder="(gespeichert)" if self.has_stored else "(nicht gesetzt)",
            id=control_id(spec.path),
            compact=True,
        )
        self.input.tooltip = (
            "Leer lassen: das gespeicherte Passwort bleibt. Tippen: neues Passwort."
            if self.has_stored
            else None
        )
        self.eye = Button("Anzeigen", id=f"{control_id(spec.path)}-eye", compact=True)
        self.eye.tooltip = "Passwort im Klartext anzeigen"
        self.clear = Checkbox("löschen", id=f"{control_id(spec.path)}-clear", compact=True)
        self.clear.tooltip = f"{spec.label} beim Speichern löschen"
        self.clear.display = self.has_stored
        self._line = Horizontal(self.input, self.eye, self.clear, classes="secret-line")

    def control_widgets(self) -> list[Widget]:
        return [self._line]

    def focus_control(self) -> None:
        self.input.focus()

    def raw(self) -> Any:
        if self.clear.value:
            return ""
        value = self.input.value
        if not value or value == self._shown:
            return self._kept
        return value

    @property
    def revealed(self) -> bool:
        return not self.input.password

    def reveal(self, clear_text: str) -> None:
        self._shown = clear_text
        self.input.value = clear_text
        self._set_masked(False)

    def _set_masked(self, masked: bool) -> None:
        self.input.password = masked
        self.eye.label = "Anzeigen" if masked else "Verbergen"

    @on(Button.Pressed)
    def _eye(self, event: Button.Pressed) -> None:
        event.stop()
        if self.revealed:
            self._set_masked(True)
        elif self.input.value:
            # What the user typed (or what was revealed before) is theirs to see.
            self._set_masked(False)
        elif self.has_stored and not self.clear.value:
            self.post_message(self.RevealRequested(self))
        else:
            self.app.notify("Es ist kein Passwort gespeichert.", severity="warning")

    @on(BlinkAwareInput.Changed)
    def _changed(self, event: BlinkAwareInput.Changed) -> None:
        event.stop()
        self.edited()

    @on(Checkbox.Changed)
    def _clear_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.input.disabled = event.value
        if event.value:
            self._shown = ""
            self.input.value = ""
        self.edited()


def make_row(spec: FieldSpec, value: Any, options: Options | None, kept: str | None) -> FieldRow:
    """The row for a spec: the widget follows `kind` (and `catalog` for the options)."""
    if spec.kind == "bool":
        return BoolRow(spec, value)
    if spec.kind == "secret":
        return SecretRow(spec, value, kept=kept)
    if spec.kind == "multi":
        return MultiRow(spec, value, options)
    if spec.kind == "choice":
        if options is not None and 2 <= len(options) <= 3 and not spec.catalog:
            return RadioRow(spec, value, options)
        return ChoiceRow(spec, value, options)
    return TextRow(spec, value)
