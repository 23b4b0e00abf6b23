"""Protokoll: the live run log of all Schnittstellen, newest first.

Live without a refresh key: the app's watcher says when the run log or the configs changed
(`RunsChanged`, `ConfigsChanged`); only then the screen reloads, in a worker, and the worker
re-reads only the configs whose own revision changed. The cursor stays on its run across
reloads. Failures stand out (✗, red, bold) and can be filtered ("Nur Fehler", f;
one Schnittstelle, also opened pre-filtered from the list with l). The detail pane (below
from 32 lines, right from 170 columns; at 80×24 Enter opens `RunDetailScreen`) shows steps,
files, control totals, warnings and the error; "Erneut ausführen" (e) runs the config
again, "Nachliefern" (n) sends a delivered run's bookings once more.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Header, Label, Select, Static

from engine.runs import RunRecord, progress_text
from tui.commands import Providers, ScreenCommands
from tui.formatting import DASH
from tui.formatting import status_text as _status_text
from tui.messages import ConfigsChanged, RunsChanged
from tui.screens.outside_window import ManualRun
from tui.screens.redeliver import Redelivery
from tui.widgets.footer import SteadyFooter
from tui.widgets.run_table import RunRow, RunTable
from tui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from engine.service import Service

RUNNING_RECHECK_S = 2.0  # while a run shows "läuft": reload this often (elapsed, liveness)
MAX_ROWS = 500  # newest runs shown; older ones stay in the store (and `buchex runs`)

TRIGGERS = {
    "schedule": "Plan",
    "catchup": "Nachholung",
    "manual": "Manuell",
    "cli": "CLI",
    "export": "Export (CLI)",
    "redeliver": "Nachlieferung",
}
# The status marks (✓ ✗ ▶ ↷ ○) and their colours are shared by every table: tui/formatting.py.


_RERUN_HELP = "Die Schnittstelle des ausgewählten Laufs jetzt noch einmal ausführen"
_REDELIVER_HELP = "Die Buchungen eines gelieferten Laufs noch einmal liefern"


# --- display texts (pure) -------------------------------------------------------------------


def parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def short_time(text: str | None) -> str:
    """'20.11. 09:15:03', in the zone the run recorded (the configured one)."""
    when = parse_time(text)
    return f"{when:%d.%m. %H:%M:%S}" if when else DASH


def long_time(text: str | None) -> str:
    when = parse_time(text)
    return f"{when:%d.%m.%Y %H:%M:%S}" if when else DASH


def thousands(n: int) -> str:
    """German digit grouping: 1234567 → '1.234.567'."""
    return f"{n:,}".replace(",", ".")


def euro(cents: int) -> str:
    """1234567 → '12.345,67 €' (decimal comma)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{thousands(whole)},{rest:02d} €"


def duration(start: str | None, end: str | None) -> str:
    a, b = parse_time(start), parse_time(end)
    if a is None or b is None:
        return ""
    seconds = max(0, round((b - a).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def status_text(record: RunRecord) -> str:
    return _status_text(record.status, record.label)


def reason_text(record: RunRecord, now: dt.datetime | None = None) -> str:
    """Schritt/Grund: the error of a failure, why a run was skipped, or what a running run
    is doing now."""
    if record.status == "failed":
        return f"{record.step}: {record.reason}" if record.step else record.reason or ""
    if record.status == "skipped":
        return record.reason or ""
    if record.status == "running":
        # Where it is (step, files, rows, bytes) and for how long (`now`: the service's
        # clock). Records without progress (older ones) show their last step line.
        if record.progress:
            where = progress_text(record.progress)
            took = duration(record.started_at, now.isoformat()) if now else ""
            return f"{where} · seit {took}" if took else where
        return record.steps[-1] if record.steps else (record.step or "")
    return ""


def make_row(record: RunRecord, now: dt.datetime | None = None) -> RunRow:
    has_files = bool(record.files) or record.status == "ok"
    return RunRow(
        record,
        (
            short_time(record.started_at),
            record.config_name or record.config_id,
            TRIGGERS.get(record.trigger, record.trigger),
            status_text(record),
            str(len(record.files)) if has_files else DASH,
            thousands(record.booking_rows) if has_files else DASH,
            reason_text(record, now),
        ),
    )


# Styles of the detail text; `$…` are theme variables, so every theme keeps its contrast.
_HEAD_STYLES = {
    "failed": "bold $text-error",
    "running": "bold $text-accent",
    "ok": "bold $text-success",
    "skipped": "$foreground-muted",
    "nothing": "bold",
}


def detail_content(record: RunRecord) -> Content:
    """Everything about one run, failures first: error, times, steps, files, warnings."""
    parts: list[str | tuple[str, str]] = []

    def line(text: str = "", style: str = "") -> None:
        parts.append((text + "\n", style) if style else text + "\n")

    def fact(label: str, value: str) -> None:
        parts.append((f"{label:<14} ", "$foreground-muted"))
        line(value)

    line(status_text(record), _HEAD_STYLES.get(record.status, "bold"))
    if record.status == "failed":
        # The failed step first and prominent, then what happened and what to check (the
        # sentence of engine.explain), then the server's own text.
        line(f"Fehlgeschlagen bei: {record.step or 'unbekanntem Schritt'}", "bold $text-error")
        line(record.reason or "ohne Angabe eines Grundes", "$text-error")
        if record.detail:
            line(f"Server: {record.detail}", "$foreground-muted")
    elif record.status == "skipped" and record.reason:
        line(f"Grund: {record.reason}")
    line()
    fact("Schnittstelle", f"{record.config_name} ({record.config_id})")
    fact("Lauf", record.id)
    fact("Auslöser", TRIGGERS.get(record.trigger, record.trigger))
    if record.redelivery_of:
        fact("Nachlieferung", f"von Lauf {record.redelivery_of}")
    if record.due_at:
        fact("Fällig", long_time(record.due_at))
    fact("Beginn", long_time(record.started_at))
    if record.finished_at:
        took = duration(record.started_at, record.finished_at)
        fact("Ende", f"{long_time(record.finished_at)}" + (f" (Dauer {took})" if took else ""))
    elif record.status == "running":
        fact("Ende", "läuft noch")
        if record.progress:
            fact("Fortschritt", progress_text(record.progress))
    if record.images:
        fact("Belegbilder", f"{thousands(record.images)} mit den Buchungen verknüpft")
    if record.attempts:
        fact("Versuche", str(record.attempts))
    if record.mail:
        fact("E-Mail", record.mail)
    if record.steps:
        line()
        line("Schritte", "bold")
        for step in record.steps:
            line(f"  · {step}")
    if record.files:
        booked = [f for f in record.files if f.get("journal_from") is not None]
        line()
        line(f"Dateien ({len(record.files)})", "bold")
        for f in record.files:
            line(f"  {f.get('name', '?')}")
            if f.get("remote_path"):
                line(f"    → {f['remote_path']}", "$foreground-muted")
            sha = str(f.get("sha256") or "")
            if f.get("kind") == "control":
                line(f"    Kontrolldatei · {thousands(int(f.get('size') or 0))} B")
                continue
            if f.get("kind") == "documents":
                line(
                    f"    Belegbilder · {thousands(int(f.get('rows') or 0))} Bilder · "
                    f"{thousands(int(f.get('size') or 0))} B"
                    + (f" · SHA-256 {sha[:12]}…" if sha else "")
                )
                continue
            line(
                f"    {thousands(int(f.get('size') or 0))} B · "
                f"{thousands(int(f.get('rows') or 0))} Zeilen · "
                f"Soll {euro(int(f.get('debit_cents') or 0))} · "
                f"Haben {euro(int(f.get('credit_cents') or 0))}"
                + (f" · SHA-256 {sha[:12]}…" if sha else "")
            )
            if f.get("journal_from") is not None:
                line(
                    f"    Journal-Nr. {f['journal_from']}–{f['journal_to']} · "
                    f"{len(f.get('accounts') or ())} Konten · "
                    f"{len(f.get('tax_keys') or ())} BU-Schlüssel",
                    "$foreground-muted",
                )
        if booked:
            line()
            line("Kontrollsummen", "bold")
            line(
                f"  {thousands(sum(int(f['rows']) for f in booked))} Buchungen · "
                f"Soll {euro(sum(int(f['debit_cents']) for f in booked))} · "
                f"Haben {euro(sum(int(f['credit_cents']) for f in booked))}"
            )
    if record.gaps or record.late:
        line()
        line("Hinweise", "bold")
        if record.late:
            line(f"  i {record.late} spät sichtbare Buchung(en) nachgeliefert")
        for gap in record.gaps:
            line(f"  i {gap}")
    if record.warnings:
        line()
        line(f"Warnungen ({len(record.warnings)})", "bold $text-warning")
        for warning in record.warnings:
            line(f"  ! {warning}")
    return Content.assemble(*parts).rstrip()


# --- the detail -----------------------------------------------------------------------------


class RunDetail(Vertical):
    """One run: a title row with "Erneut ausführen", then the scrollable detail text."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="run-detail")
        self.record: RunRecord | None = None
        self.text = ""  # the detail as plain text (tests)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="run-detail-head"):
            yield Label("", classes="run-detail-title", markup=False)
            yield Button("Erneut ausführen", id="rerun", compact=True, disabled=True)
        with VerticalScroll(classes="run-detail-scroll"):
            yield Static("", classes="run-detail-body")

    def show(self, record: RunRecord | None, *, empty: str = "Kein Lauf ausgewählt.") -> None:
        if record == self.record and self.record is not None:
            return  # same data: no repaint, the scroll position stays
        self.record = record
        title = self.query_one(".run-detail-title", Label)
        body = self.query_one(".run-detail-body", Static)
        self.query_one("#rerun", Button).disabled = record is None
        if record is None:
            title.update("")
            body.update(empty)
            self.text = empty
            return
        title.update(f"Lauf vom {long_time(record.started_at)}")
        content = detail_content(record)
        body.update(content)
        self.text = content.plain


class RunDetailScreen(Screen[bool]):
    """A run's details on a screen of their own (Enter in the Protokoll; the only detail
    view at 80×24). It follows its run live; returns True for "Erneut ausführen"."""

    CSS_PATH = "protocol.tcss"
    AUTO_FOCUS = ".run-detail-scroll"  # at compose: keys typed ahead scroll the detail
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Zurück", tooltip="Zurück zum Protokoll"),
        Binding("e", "rerun", "Erneut ausführen", tooltip=_RERUN_HELP),
        Binding("n", "redeliver", "Nachliefern", tooltip=_REDELIVER_HELP),
    ]
    COMMANDS: ClassVar[Providers] = {ScreenCommands}
    HELP = (
        "Alles über einen Lauf: bei einem Fehler zuerst der Grund und der Schritt, dann "
        "Zeiten, Schritte, gelieferte Dateien mit Zeilen und Summen, Warnungen und die "
        "E-Mail. Die Anzeige folgt dem Lauf, solange er läuft."
    )

    class Reloaded(Message):
        def __init__(self, record: RunRecord | None) -> None:
            super().__init__()
            self.record = record

    def __init__(self, service: Service, record: RunRecord) -> None:
        super().__init__()
        self.service = service
        self.record = record
        self.redelivery = Redelivery(self, service)
        self._stale = False
        self.sub_title = f"Protokoll: {record.config_name}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield RunDetail(id="run-detail")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.query_one(RunDetail).show(self.record)

    @on(RunsChanged)
    def _runs_changed(self) -> None:
        if self.is_current:
            self._reload()
        else:
            self._stale = True  # covered: catch up when shown again

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self._reload()

    def action_redeliver(self) -> None:
        self.redelivery.offer(self.record)

    @work(thread=True, exclusive=True, group="reload")
    def _reload(self) -> None:
        self.post_message(self.Reloaded(self.service.run(self.record.id)))

    @on(Reloaded)
    def _reloaded(self, message: Reloaded) -> None:
        if message.record is not None:
            self.record = message.record
            self.query_one(RunDetail).show(message.record)

    @on(Button.Pressed, "#rerun")
    def action_rerun(self) -> None:
        self.dismiss(True)

    def action_back(self) -> None:
        self.dismiss(False)


# --- loading --------------------------------------------------------------------------------


class RunLoader:
    """All runs, newest first, re-reading only the configs whose journal revision changed (a
    busy daemon writes one config's run per progress step; the others stay parsed). One load
    at a time: reloads follow the watcher's messages and may overlap otherwise."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._lock = threading.Lock()
        self._files: dict[str, tuple[object, list[RunRow]]] = {}
        self._store_stamp: object = object()
        self._names: dict[str, str] = {}

    def load(self) -> tuple[list[RunRow], dict[str, str]]:
        with self._lock:
            service = self.service
            files: dict[str, tuple[object, list[RunRow]]] = {}
            for config_id, stamp in service.run_revisions().items():
                cached = self._files.get(config_id)
                # Runs shown "running" are read again: their owner may be gone meanwhile.
                running = cached is not None and any(r.status == "running" for r in cached[1])
                if cached is not None and cached[0] == stamp and not running:
                    files[config_id] = cached
                else:
                    now = service.clock.now()
                    rows = [make_row(r, now) for r in service.runs(config_id)]
                    files[config_id] = (stamp, rows)
            self._files = files
            rows = sorted(
                (row for _, file_rows in files.values() for row in file_rows),
                key=lambda row: row.key,
                reverse=True,
            )
            store_stamp = service.stamps().configs
            if store_stamp != self._store_stamp:
                self._names = {c.id: c.name or c.id for c in service.list_configs()}
                self._store_stamp = store_stamp
            return rows, dict(self._names)


def config_options(rows: Iterable[RunRow], names: dict[str, str]) -> list[tuple[str, str]]:
    """Select options: every config, plus configs only the runs still name (deleted)."""
    options = dict(names)
    for row in rows:
        options.setdefault(row.record.config_id, f"{row.record.config_name} (gelöscht)")
    return sorted(((label, cid) for cid, label in options.items()), key=lambda o: o[0].casefold())


class ProtocolCommands(ScreenCommands):
    """Every key of the Protokoll (its BINDINGS and the table's ⏎ Details)."""


class ProtocolScreen(Screen[None]):
    CSS_PATH = "protocol.tcss"
    SUB_TITLE = "Protokoll"
    AUTO_FOCUS = "RunTable"  # at compose, before any key arrives
    # A third width step: from 170 columns the detail sits right of the table.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide"), (170, "-xwide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Zurück", tooltip="Zurück zur Liste"),
        Binding("q", "app.quit", "Beenden", show=False, tooltip="buchex beenden"),
        Binding("e", "rerun", "Erneut ausführen", tooltip=_RERUN_HELP),
        Binding("n", "redeliver", "Nachliefern", tooltip=_REDELIVER_HELP),
        Binding(
            "x",
            "cancel_run",
            "Lauf abbrechen",
            show=False,
            tooltip="Den laufenden Lauf dieser Schnittstelle abbrechen (mit Rückfrage)",
        ),
        Binding("f", "toggle_failed", "Nur Fehler", tooltip="Nur fehlgeschlagene Läufe (an/aus)"),
        Binding(
            "slash",
            "focus_config_filter",
            "Schnittstelle",
            key_display="/",
            tooltip="Nur die Läufe einer Schnittstelle zeigen (Auswahl)",
        ),
    ]
    COMMANDS: ClassVar[Providers] = {ProtocolCommands}
    HELP = (
        "Die Läufe aller Schnittstellen, die neuesten zuerst, live: ✓ erfolgreich, "
        "✗ fehlgeschlagen (rot, mit Grund), ▶ läuft, ↷ übersprungen, ○ nichts zu "
        "exportieren. ⏎ zeigt alle Details eines Laufs; f zeigt nur Fehler, / nur eine "
        "Schnittstelle."
    )

    class Loaded(Message):
        def __init__(
            self,
            rows: list[RunRow] | None,
            names: dict[str, str] | None = None,
            error: str | None = None,
        ) -> None:
            super().__init__()
            self.rows = rows
            self.names = names or {}
            self.error = error

    def __init__(self, service: Service, config_id: str | None = None) -> None:
        super().__init__()
        self.service = service
        self.config_id = config_id  # the Schnittstelle filter (None: all)
        self.rows: list[RunRow] = []
        self.loaded = False
        self._loader = RunLoader(service)
        self._stale = False  # changed while covered: reload when shown again
        self.manual_run = ManualRun(
            self, service, started=self._run_started, finished=self._run_finished
        )
        self.redelivery = Redelivery(self, service)
        self._options: list[tuple[str, str]] = []
        self._shown_keys: list[str] = []
        # After "Erneut ausführen": the config and the runs it had, to move to the new one.
        self._follow: tuple[str, frozenset[str]] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="protocol-filters"):
            initial = [(self.config_id, self.config_id)] if self.config_id else []
            yield Select(
                initial,
                prompt="Alle Schnittstellen",
                value=self.config_id or Select.NULL,
                id="config-filter",
            )
            yield Checkbox("Nur Fehler", id="only-failed", compact=True)
        with Container(id="protocol-body"):
            yield RunTable(id="runs")
            yield RunDetail(id="run-pane")
        yield StatusLine(id="protocol-status")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.reload()
        # A running run's elapsed time moves on, and its process may die without writing
        # anything (kill -9, a closed terminal): while runs show "läuft", look again.
        self.set_interval(RUNNING_RECHECK_S, self._recheck_running)

    def _recheck_running(self) -> None:
        if self.is_current and any(row.status == "running" for row in self.rows):
            self.reload()

    # --- loading ------------------------------------------------------------------------

    @on(RunsChanged)
    @on(ConfigsChanged)  # the names in the filter
    def _changed(self) -> None:
        if self.is_current or not self.loaded:
            self.reload()
        else:
            self._stale = True  # covered (e.g. by a run's details): catch up on resume

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self.reload()

    @work(thread=True, exclusive=True, group="reload")
    def reload(self) -> None:
        try:
            rows, names = self._loader.load()
        except Exception as exc:
            self.post_message(self.Loaded(None, error=f"Protokoll nicht lesbar: {exc}"))
            return
        self.post_message(self.Loaded(rows, names))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        status = self.query_one(StatusLine)
        if message.rows is None:
            status.show_error(message.error or "")
            return
        status.clear_error()
        self.rows = message.rows
        self.loaded = True
        self._set_options(config_options(self.rows, message.names))
        keep = self._followed() or self.query_one(RunTable).current_key
        self.refresh_rows(force=True, keep=keep)

    def _followed(self) -> str | None:
        """The new run after "Erneut ausführen", once it is there."""
        if self._follow is None:
            return None
        config_id, known = self._follow
        new = next(
            (r.key for r in self.rows if r.record.config_id == config_id and r.key not in known),
            None,
        )
        if new is not None:
            self._follow = None
        return new

    def _set_options(self, options: list[tuple[str, str]]) -> None:
        if options == self._options:
            return
        self._options = options
        select: Select[str] = self.query_one("#config-filter", Select)
        if self.config_id and self.config_id not in {cid for _, cid in options}:
            options = [*options, (self.config_id, self.config_id)]
        with self.prevent(Select.Changed):
            select.set_options(options)
            select.value = self.config_id or Select.NULL

    # --- filtering ----------------------------------------------------------------------

    @property
    def only_failed(self) -> bool:
        return self.query_one("#only-failed", Checkbox).value

    def filtered(self) -> list[RunRow]:
        failed, config_id = self.only_failed, self.config_id
        return [
            row
            for row in self.rows
            if (not failed or row.status == "failed")
            and (config_id is None or row.record.config_id == config_id)
        ]

    def refresh_rows(self, *, force: bool = False, keep: str | None = None) -> None:
        table = self.query_one(RunTable)
        matching = self.filtered()
        shown = matching[:MAX_ROWS]
        keys = [row.key for row in shown]
        if force or keys != self._shown_keys:
            table.show(shown, keep or table.current_key)
            self._shown_keys = keys
        self._show_detail()
        self.query_one(StatusLine).update(self._status_text(shown, matching))
        name = dict((cid, label) for label, cid in self._options).get(self.config_id or "")
        self.sub_title = f"Protokoll: {name}" if name else "Protokoll"

    def _status_text(self, shown: list[RunRow], matching: list[RunRow]) -> str:
        total = len(self.rows)
        if not total:
            return "Noch keine Läufe – r in der Liste führt eine Schnittstelle aus."
        if not matching:
            return f"Keine Läufe für diesen Filter (insgesamt {total})."
        if len(matching) == total:
            text = f"{len(matching)} Läufe"
        else:
            text = f"{len(matching)} von {total} Läufen"
        if len(shown) < len(matching):
            text += f", die neuesten {len(shown)} angezeigt"
        failed = sum(1 for row in matching if row.status == "failed")
        running = sum(1 for row in matching if row.status == "running")
        if failed:
            text += f" · {failed} fehlgeschlagen"
        if running:
            text += f" · {running} {'läuft' if running == 1 else 'laufen'}"
        return text

    @on(Checkbox.Changed, "#only-failed")
    def _failed_changed(self) -> None:
        self.refresh_rows()

    @on(Select.Changed, "#config-filter")
    def _config_changed(self, event: Select.Changed) -> None:
        value = event.value if isinstance(event.value, str) else None
        if value != self.config_id:
            self.config_id = value
            self.refresh_rows()

    def action_toggle_failed(self) -> None:
        self.query_one("#only-failed", Checkbox).toggle()

    def action_focus_config_filter(self) -> None:
        self.query_one("#config-filter", Select).focus()

    # --- detail and actions -------------------------------------------------------------

    def _show_detail(self) -> None:
        row = self.query_one(RunTable).current
        empty = "Noch keine Läufe." if not self._shown_keys else "Kein Lauf ausgewählt."
        self.query_one(RunDetail).show(row.record if row else None, empty=empty)

    @on(RunTable.Highlighted)
    def _highlighted(self) -> None:
        self._show_detail()

    @on(RunTable.Selected)
    def _selected(self, event: RunTable.Selected) -> None:
        row = self.query_one(RunTable).get_row(event.key)

        def closed(rerun: bool | None) -> None:
            if rerun:
                self._rerun(row.record)

        self.app.push_screen(RunDetailScreen(self.service, row.record), closed)

    @on(Button.Pressed, "#rerun")
    def action_rerun(self) -> None:
        row = self.query_one(RunTable).current
        if row is None:
            self.notify("Kein Lauf ausgewählt.", severity="warning")
            return
        self._rerun(row.record)

    def action_redeliver(self) -> None:
        row = self.query_one(RunTable).current
        if row is None:
            self.notify("Kein Lauf ausgewählt.", severity="warning")
            return
        self.redelivery.offer(row.record)

    def action_cancel_run(self) -> None:
        row = self.query_one(RunTable).current
        if row is None:
            self.notify("Kein Lauf ausgewählt.", severity="warning")
            return
        record = row.record
        self.manual_run.cancel(record.config_id, record.config_name or record.config_id)

    def _rerun(self, record: RunRecord) -> None:
        self.manual_run.start(record.config_id, record.config_name or record.config_id)

    def _run_started(self, config_id: str) -> None:
        known = frozenset(r.key for r in self.rows if r.record.config_id == config_id)
        self._follow = (config_id, known)

    def _run_finished(self, config_id: str) -> None:
        self.reload()

    def shown_ids(self) -> list[str]:
        """Run ids in table order (tests)."""
        return self.query_one(RunTable).keys
