"""German display texts for list cells, dates and test steps (pure functions, no Textual)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from engine.config import FIELDS_BY_PATH, WEEKDAY_CHOICES, ExportConfig
from engine.config import describe_interval as describe_interval  # the one interval text

if TYPE_CHECKING:
    from engine.service import Catalog

DASH = "–"


def choice_label(path: str, value: str | None) -> str:
    """The German label of a static choice value (falls back to the value)."""
    if value is None:
        return DASH
    return dict(FIELDS_BY_PATH[path].choices).get(value, value)


def branch_name(cfg: ExportConfig, catalog: Catalog | None) -> str:
    if not cfg.branch:
        return "alle"
    branch = catalog.branches.get(cfg.branch) if catalog else None
    return branch.name if branch else cfg.branch


def format_when(when: dt.datetime | None, now: dt.datetime) -> str:
    """A compact German date-time relative to `now`: 'heute 06:30', 'morgen 06:30',
    'Fr 27.11. 06:30', '27.11.2027 06:30'. Shown in `when`'s own time zone."""
    if when is None:
        return DASH
    if when.tzinfo is not None and now.tzinfo is not None:
        now = now.astimezone(when.tzinfo)
    elif when.tzinfo is not None:
        when = when.replace(tzinfo=None)
    days = (when.date() - now.date()).days
    clock = when.strftime("%H:%M")
    if days == 0:
        return f"heute {clock}"
    if days == 1:
        return f"morgen {clock}"
    if days == -1:
        return f"gestern {clock}"
    if when.year == now.year:
        weekday = WEEKDAY_CHOICES[when.weekday()][1][:2]
        return f"{weekday} {when:%d.%m.} {clock}"
    return f"{when:%d.%m.%Y} {clock}"


# A run's status as every table shows it: a mark that reads without colour (monochrome
# terminals, screen readers of the SVGs) and, for the colour, the table's component class
# `<prefix>--<status>` (styled once for all tables in app.tcss).
MARKS = {"ok": "✓", "nothing": "○", "failed": "✗", "running": "▶", "skipped": "↷"}
STATUSES = tuple(MARKS)


def status_text(status: str, label: str) -> str:
    """'✗ fehlgeschlagen': the mark (none for an unknown status) and the German label."""
    mark = MARKS.get(status)
    return f"{mark} {label}" if mark else label


def status_of(text: str) -> str | None:
    """The status whose mark `text` starts with (a cell made by `status_text`)."""
    return next((s for s, m in MARKS.items() if text.startswith(m + " ")), None)


def format_last_run(
    last: tuple[str, dt.datetime] | None, now: dt.datetime, *, status: str | None = None
) -> str:
    """'✗ fehlgeschlagen · heute 06:30' ("Letzter Lauf"; the mark if `status` is given)."""
    if last is None:
        return DASH
    label, when = last
    text = status_text(status, label) if status else label
    return f"{text} · {format_when(when, now)}"


def format_step(step: object) -> tuple[bool | None, str]:
    """(ok, text) of one connection-test step; see `engine.service.Service.test_connection`."""
    if isinstance(step, str):
        return None, step
    ok = getattr(step, "ok", None)
    name = next((str(v) for a in ("step", "name", "label") if (v := getattr(step, a, None))), "")
    message = next((str(v) for a in ("message", "detail") if (v := getattr(step, a, None))), "")
    if not message and not name:
        message = str(step)
    text = f"{name}: {message}" if name and message else name or message
    if server := getattr(step, "server", ""):  # a failure: the server's own text apart
        text += f"\n  Server: {server}"
    return (bool(ok) if ok is not None else None), text


def step_line(ok: bool | None, text: str) -> str:
    mark = "…" if ok is None else ("✓" if ok else "✗")
    return f"{mark} {text}"
