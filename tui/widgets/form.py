"""A form generated from a FieldSpec list: one bordered section per spec section (the seed's
headings), one row per field in declaration order, so Tab walks the fields in that order.

The form knows no field by name: which field shows when is the engine's answer
(`engine.fields.applies`, from each spec's `applies_when`); validation is the engine's
parser, injected as `validate(raw) -> problems`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Label

from engine.fields import FieldSpec, Problem, applies, controlling_paths, value_at
from tui.widgets.fields import FieldRow, Options, make_row

Validator = Callable[[dict[str, Any]], list[Problem]]


def section_id(section: str) -> str:
    return "section-" + re.sub(r"[^a-z0-9]+", "-", section.lower().replace("ü", "ue")).strip("-")


def _sections(specs: Sequence[FieldSpec]) -> list[tuple[str, list[FieldSpec]]]:
    out: dict[str, list[FieldSpec]] = {}
    for spec in specs:
        out.setdefault(spec.section, []).append(spec)
    return list(out.items())


def _set_path(out: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        out = out.setdefault(part, {})
    out[leaf] = value


def _comparable(raw: dict[str, Any]) -> Any:
    """For the unsaved-changes check: list order and nesting do not matter."""
    items = []
    for key, value in sorted(raw.items()):
        if isinstance(value, dict):
            value = _comparable(value)
        elif isinstance(value, list):
            value = tuple(sorted(map(str, value)))
        items.append((key, value))
    return tuple(items)


class FieldForm(Vertical):
    class Changed(Message):
        """A field changed (values, visibility or messages may differ now)."""

        def __init__(self, form: FieldForm) -> None:
            super().__init__()
            self.form = form

    def __init__(
        self,
        specs: Sequence[FieldSpec],
        model: Any,
        *,
        validate: Validator,
        options: Callable[[FieldSpec], Options | None] = lambda spec: list(spec.choices),
        kept_secrets: Mapping[str, str] | None = None,
        extras: Mapping[str, Callable[[], Iterable[Widget]]] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="field-form")
        self.specs = tuple(specs)
        self._by_path = {s.path: s for s in self.specs}
        self._controllers = controlling_paths(self.specs)
        self._validate = validate
        self._extras = dict(extras or {})
        kept = kept_secrets or {}
        self.rows: dict[str, FieldRow] = {
            s.path: make_row(s, value_at(model, s.path), options(s), kept.get(s.path))
            for s in self.specs
        }
        self._general = Label("", classes="form-problems", markup=False)
        self._general.display = False
        self._baseline = _comparable(self.raw())
        self.apply_visibility()

    def compose(self) -> ComposeResult:
        yield self._general
        for section, specs in _sections(self.specs):
            box = Vertical(classes="form-section", id=section_id(section))
            box.border_title = section
            with box:
                for spec in specs:
                    yield self.rows[spec.path]
                if section in self._extras:
                    yield from self._extras[section]()

    # --- values ----------------------------------------------------------------------

    def _flat(self) -> dict[str, Any]:
        return {path: row.raw() for path, row in self.rows.items()}

    def _visible(self, path: str, flat: Mapping[str, Any]) -> bool:
        return applies(self._by_path[path], flat)

    def raw(self) -> dict[str, Any]:
        """The form as the nested JSON object the parser takes. Hidden fields (those that do
        not apply) are left out, so the parser gives them their defaults."""
        flat = self._flat()
        out: dict[str, Any] = {}
        for path, value in flat.items():
            if self._visible(path, flat):
                _set_path(out, path, value)
        return out

    def visible_paths(self) -> list[str]:
        flat = self._flat()
        return [s.path for s in self.specs if self._visible(s.path, flat)]

    def apply_visibility(self) -> None:
        visible = set(self.visible_paths())
        for path, row in self.rows.items():
            row.display = path in visible

    def is_dirty(self) -> bool:
        return bool(_comparable(self.raw()) != self._baseline)

    def mark_clean(self) -> None:
        self._baseline = _comparable(self.raw())

    def set_options(self, path: str, options: Options) -> None:
        row = self.rows[path]
        if hasattr(row, "set_options"):
            row.set_options(options)

    # --- validation ------------------------------------------------------------------

    def validate(self, *, everything: bool = False) -> list[Problem]:
        """Run the parser; show each touched field's messages under it (all with
        `everything`, as on save). Returns every problem of the visible fields."""
        problems = self._validate(self.raw())
        visible = set(self.visible_paths())
        by_path: dict[str, list[str]] = {}
        general: list[str] = []
        for p in problems:
            if p.path in self.rows and p.path in visible:
                by_path.setdefault(p.path, []).append(p.message)
            elif p.path not in self.rows:
                general.append(str(p))
        for path, row in self.rows.items():
            if everything and path in visible:
                row.touched = True
            row.set_errors(by_path.get(path, []) if row.touched and path in visible else [])
        self._general.update("\n".join(general))
        self._general.display = bool(general)
        return problems

    def first_invalid(self, problems: Sequence[Problem]) -> FieldRow | None:
        bad = {p.path for p in problems}
        return next((self.rows[p] for p in self.visible_paths() if p in bad), None)

    def section(self, section: str) -> Widget:
        return self.query_one(f"#{section_id(section)}")

    # --- the focused row: its label marked (class -focused, form.tcss) -------------------
    # Set here, not by the CSS :focus-within, which kept the mark on the previous row in
    # some moves (Select overlay, rows hidden by the focus change).

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._mark_focused(event.widget)

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.call_after_refresh(self._focus_left)

    def _focus_left(self) -> None:
        if self.is_attached and self.is_mounted:  # (the screen may have closed meanwhile)
            self._mark_focused(self.app.focused)

    def _mark_focused(self, widget: Widget | None) -> None:
        node: Any = widget
        while node is not None and node is not self and not isinstance(node, FieldRow):
            node = node.parent
        row = node if isinstance(node, FieldRow) else None
        for each in self.rows.values():
            each.set_class(each is row, "-focused")

    @on(FieldRow.Edited)
    def _row_edited(self, event: FieldRow.Edited) -> None:
        event.stop()
        row = event.row
        if row.has_focus_within:
            row.touched = True
        if row.spec.path in self._controllers:
            self.apply_visibility()
        self.validate()
        self.post_message(self.Changed(self))
