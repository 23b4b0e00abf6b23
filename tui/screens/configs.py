"""Schnittstellen (the seed's "Schnittstellen suchen"): filter, table, actions.

The list follows the store live: the app's watcher says when configs or runs changed or a
minute passed (tui/messages.py), and the list reloads in a worker, so saves by the daemon,
the CLI or another TUI show up within half a second.

A load draws the list once, with every cell worked out, as soon as it has them: the rows
(configs), Nächste Ausführung and Letzter Lauf (the schedule and the run history, cached per
config; the run history's first read is one query for every config) and Filiale (the
branches' names from the ledger's catalog, read in a thread of its own meanwhile). Only what
is slow is drawn later (and each draw only if it changes anything):
1. the rows first, if the other cells take longer than ROWS_FIRST_AFTER (a long run
   history, a slow disk); cells not worked out yet keep their last value, or show "…" for
   a config not seen before;
2. Filiale last, if the catalog takes longer than CATALOG_WAIT (an external ledger
   database: SQLAlchemy, the network).
`python -m tui` works out the first load before the app runs (`preload`), so its first frame
shows the complete list: with 1000 configs in about 1.5× the time a bare Textual table of
1000 rows takes to show (docs/benchmarks-tui.md).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Checkbox, Header, Input
from textual.worker import get_current_worker

from engine.config import ExportConfig
from engine.runs import RunSummary, progress_text
from tui.commands import Providers, ScreenCommands
from tui.failures import is_failing
from tui.formatting import (
    DASH,
    branch_name,
    describe_interval,
    format_last_run,
    format_when,
)
from tui.messages import ConfigsChanged, MinutePassed, RunsChanged
from tui.screens.confirm import ConfirmDialog
from tui.screens.outside_window import ManualRun
from tui.widgets.config_table import ConfigTable
from tui.widgets.footer import SteadyFooter
from tui.widgets.inputs import BlinkAwareInput
from tui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from engine.service import Catalog, Service

PENDING = "…"  # a cell the second pass has not worked out yet
# A load draws once, every cell worked out, unless that takes longer (seconds, from the
# start of the load): the rows first after ROWS_FIRST_AFTER (a slow disk, a long run
# history), Filiale last after CATALOG_WAIT (an external ledger database).
ROWS_FIRST_AFTER = 0.25
CATALOG_WAIT = 0.15

# Filiale, Nächste Ausführung, Letzter Lauf: the cells of the second pass; and whether the
# config is failing (its latest finished run failed: the row's name in red).
Details = tuple[str, str, str, bool]


@dataclass(frozen=True)
class Entry:
    """One config as the list shows it; `haystack` is what the filter searches."""

    cfg: ExportConfig
    cells: tuple[str, ...]
    haystack: str
    bound: bool  # bound to a workstation ("Mit Arbeitsplatz-einstellungen")
    failing: bool = False  # the latest finished run failed (tui/failures.py)


def make_entry(cfg: ExportConfig, details: Details) -> Entry:
    branch, due, last, failing = details
    cells = (
        cfg.name or DASH,
        branch,
        cfg.workstation or DASH,
        (cfg.format or DASH).upper(),
        describe_interval(cfg),
        due,
        last,
    )
    haystack = "\n".join(x or "" for x in (cfg.name, cfg.target.host, cfg.id)).casefold()
    return Entry(cfg, cells, haystack, bool(cfg.workstation), failing)


def last_run_of(summary: RunSummary | None) -> tuple[str, dt.datetime] | None:
    """For "Letzter Lauf": the status as shown, and when it ended (started, if running)."""
    if summary is None:
        return None
    when = summary.finished_at if summary.status != "running" else None
    label = summary.label
    if summary.status == "running" and (where := progress_text(summary.progress, short=True)):
        label = f"{label}: {where}"  # "läuft: Übertragung 1/3"
    return label, dt.datetime.fromisoformat(when or summary.started_at)


class _Background:
    """`read()` in a thread of its own, started at once (the list's worker waits for it
    with a limit). A failed read gives None."""

    def __init__(self, read: Callable[[], Catalog]) -> None:
        self.value: Catalog | None = None
        self._done = threading.Event()
        threading.Thread(target=self._run, args=(read,), name="catalog", daemon=True).start()

    def _run(self, read: Callable[[], Catalog]) -> None:
        try:
            self.value = read()
        except Exception:
            self.value = None  # the list still works; Filiale shows the id
        finally:
            self._done.set()

    def done(self, timeout: float | None) -> bool:
        return self._done.wait(timeout)


class _RowsFirst:
    """Draws the rows (`draw`) from a timer unless cancelled before it fires; `cancel`
    returns once a draw under way has posted, so that the load's later passes come after
    it."""

    def __init__(self, draw: Callable[[], None]) -> None:
        self._draw = draw
        self._lock = threading.Lock()
        self._cancelled = False
        self._timer: threading.Timer | None = None

    def start(self, after: float) -> None:
        self._timer = threading.Timer(after, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if not self._cancelled:
                self._draw()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
        if self._timer is not None:
            self._timer.cancel()


class ListCommands(ScreenCommands):
    """Every key of the list (its BINDINGS and the table's ⏎ Bearbeiten), see
    tui/commands.py."""


class ConfigListScreen(Screen[None]):
    # configs.tcss: the app's CSS_PATH (tui/app.py)
    # Focused at compose, before any key arrives; a focus() in on_mount would land later
    # and take the focus back from a filter that "/" typed ahead had just focused.
    AUTO_FOCUS = "ConfigTable"
    SUB_TITLE = "Schnittstellen"
    # Descriptions are the footer's and the palette's titles, tooltips the German help
    # (palette, F1). FOOTER_KEEP: what the footer keeps when it is too narrow for all.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "Neu", tooltip="Eine neue Schnittstelle anlegen"),
        Binding("d", "duplicate", "Kopie", tooltip="Die ausgewählte Schnittstelle kopieren"),
        Binding(
            "delete",
            "delete",
            "Löschen",
            key_display="Entf",
            tooltip="Die ausgewählte Schnittstelle löschen (mit Rückfrage)",
        ),
        Binding(
            "r", "run_now", "Ausführen", tooltip="Die ausgewählte Schnittstelle jetzt ausführen"
        ),
        Binding(
            "x",
            "cancel_run",
            "Lauf abbrechen",
            show=False,
            tooltip="Den laufenden Lauf der ausgewählten Schnittstelle abbrechen (mit Rückfrage)",
        ),
        Binding("t", "test", "Test", tooltip="Die Verbindung zum FTP-Server testen"),
        Binding(
            "slash",
            "focus_filter",
            "Suchen",
            key_display="/",
            tooltip="Schnittstellen filtern: Name, Host oder ID",
        ),
        Binding(
            "a",
            "toggle_workstation",
            "Arbeitsplatz",
            tooltip="Nur Schnittstellen mit Arbeitsplatz-einstellungen zeigen (an/aus)",
        ),
        Binding("p", "app.open('protocol')", "Protokoll", tooltip="Die Läufe aller Schnittstellen"),
        Binding("l", "protocol_for", "Läufe", tooltip="Protokoll der ausgewählten Schnittstelle"),
        Binding("m", "app.open('smtp')", "SMTP", tooltip="SMTP Postausgangsserver einstellen"),
        Binding("s", "app.open('security')", "Sicherheit", tooltip="Sicherheit und Allgemeines"),
        Binding("q", "app.quit", "Beenden", tooltip="buchex beenden"),
    ]
    FOOTER_KEEP: ClassVar[tuple[str, ...]] = (
        "app.quit",
        "run_now",
        "app.open('protocol')",
        "app.open('smtp')",
        "app.open('security')",
        "help",
        "select",  # ⏎ Bearbeiten (the table's)
        "new",
        "protocol_for",
        "test",
        # the filter box and the Arbeitsplatz box are on the screen with their labels
        "focus_filter",
        "toggle_workstation",
    )
    COMMANDS: ClassVar[Providers] = {ListCommands}
    HELP = (
        "Alle Schnittstellen (automatische Buchhaltungsexporte) mit ihrem Zeitplan, der "
        "nächsten Ausführung und dem letzten Lauf. Von hier werden sie angelegt, bearbeitet "
        "(⏎), kopiert, gelöscht, getestet und von Hand ausgeführt; / sucht nach Name, Host "
        "oder ID, a zeigt nur Schnittstellen mit Arbeitsplatz-einstellungen."
    )

    class Loaded(Message):
        """One pass of a load (see the module's doc); `final`: every cell is worked out."""

        def __init__(
            self,
            entries: list[Entry] | None,
            error: str | None = None,
            *,
            details: dict[str, tuple[ExportConfig, Details]] | None = None,
            final: bool = False,
            catalog: Catalog | None = None,
        ) -> None:
            super().__init__()
            self.entries = entries
            self.error = error
            self.details = details or {}
            self.final = final
            self.catalog = catalog

    class Done(Message):
        """A background action finished: a German summary for a notification."""

        def __init__(self, text: str, *, error: bool = False) -> None:
            super().__init__()
            self.text = text
            self.error = error

    def __init__(self, service: Service) -> None:
        super().__init__()
        self.service = service
        self.manual_run = ManualRun(self, service, finished=self._run_finished)
        self.entries: list[Entry] = []
        self._stale = False  # changed while covered: reload when shown again
        self._select: str | None = None  # row to put the cursor on after the next load
        self._shown_keys: list[str] = []
        # The second pass's cells per config id, with the config they were worked out for.
        # Replaced (never changed in place) on the UI thread; the load worker reads it.
        self._details: dict[str, tuple[ExportConfig, Details]] = {}
        self._catalog: Catalog | None = None  # the last one read, for the branches' names
        self.rows_shown = False  # first pass drawn
        self.loaded = False  # every cell worked out
        self._preloaded: ConfigListScreen.Loaded | None = None  # see preload()
        self._filter_pending = False  # "/" seen; keys queued behind it go to the filter

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="list-filters"):
            # select_on_focus off: letters typed right behind "/" are already in the field
            # when its focus event arrives; selecting them then would let the next key
            # replace them ("/kasse" became "sse").
            yield BlinkAwareInput(
                placeholder="Suchen: Name, Host oder ID", id="filter", select_on_focus=False
            )
            yield Checkbox("Mit Arbeitsplatz-einstellungen", id="with-workstation", compact=True)
        yield ConfigTable(id="configs")
        yield StatusLine(id="list-status")
        yield SteadyFooter()

    def on_mount(self) -> None:
        # Filter as the value changes, not on Input.Changed: that message is handled after
        # the frame showing the typed character, so the rows would follow a frame later.
        self.watch(self.query_one("#filter", Input), "value", self._filter_changed, init=False)
        preloaded, self._preloaded = self._preloaded, None
        if preloaded is not None:
            self._loaded(preloaded)  # in the first frame
        if preloaded is None or not preloaded.final:
            self.reload()

    # --- loading ------------------------------------------------------------------------

    @on(ConfigsChanged)
    @on(RunsChanged)  # "Letzter Lauf"
    @on(MinutePassed)  # "Nächste Ausführung", "heute" move on with the clock
    def _changed(self) -> None:
        if self.is_current or not self.loaded:
            self.reload()
        else:
            self._stale = True  # covered by another screen: catch up on resume

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self.reload()

    @work(thread=True, exclusive=True, group="reload")
    def reload(self) -> None:
        worker = get_current_worker()
        self._load(self.post_message, lambda: worker.is_cancelled)

    def preload(self) -> None:
        """The first load, worked out before the app runs (`python -m tui`, after reading
        the configs): the first frame then shows the complete list, instead of an empty one
        followed by the list a worker sharing the interpreter with Textual's start-up
        finishes. On mount the list draws it; a part still missing (Filiale from a slow
        catalog) is left to the usual load."""
        result: list[ConfigListScreen.Loaded] = []
        try:
            self._load(result.append, lambda: False, rows_first=False)
        except Exception:
            return  # the usual load on mount will say what is wrong
        self._preloaded = result[-1] if result else None

    def _load(
        self,
        post: Callable[[ConfigListScreen.Loaded], object],
        cancelled: Callable[[], bool],
        *,
        rows_first: bool = True,
    ) -> None:
        """One load (see the module's doc): `post` gets each pass's Loaded message."""
        service = self.service
        try:
            configs = service.list_configs()
        except Exception as exc:
            post(self.Loaded(None, f"Schnittstellen nicht lesbar: {exc}"))
            return
        begun = time.monotonic()
        known = {c.id: self._known_details(c, self._details.get(c.id)) for c in configs}
        # The branches' names come from the ledger's catalog, read meanwhile in a thread of
        # its own: an external database may take a while (SQLAlchemy, the network).
        catalog_read = _Background(service.catalog) if any(c.branch for c in configs) else None

        def draw(cells: dict[str, Details], *, final: bool, catalog: Catalog | None = None) -> None:
            entries = [make_entry(c, cells[c.id]) for c in configs]
            # Cancelled: a newer load is under way, and its rows win.
            if not cancelled() and self._differs(entries):
                details = {c.id: (c, cells[c.id]) for c in configs}
                post(self.Loaded(entries, details=details, final=final, catalog=catalog))

        # 1: the rows, with the slow cells as the last load left them, if the rest is not
        # there within ROWS_FIRST_AFTER (a timer: the slow part may be one blocked call).
        rows = _RowsFirst(lambda: draw(known, final=False))
        if rows_first:
            rows.start(ROWS_FIRST_AFTER)
        # 2: schedule and run history (cached per config, quick after the first load).
        now = service.clock.now()
        catalog = self._catalog
        try:
            times = {c.id: self._times(c, now) for c in configs}
        finally:
            rows.cancel()  # from here on this thread draws

        def cells(catalog: Catalog | None) -> dict[str, Details]:
            return {
                c.id: (
                    branch_name(c, catalog)
                    if catalog is not None or not c.branch
                    else known[c.id][0],
                    *times[c.id],
                )
                for c in configs
            }

        if catalog_read is None:
            draw(cells(catalog), final=True)
            return
        # 3: the branches' names (a catalog that cannot be read leaves the ids shown).
        wait = max(0.0, CATALOG_WAIT - (time.monotonic() - begun))
        if not catalog_read.done(wait):
            draw(cells(catalog), final=False)
            if not rows_first:
                return  # the preload: the load on mount reads the catalog again
            while not catalog_read.done(0.1):
                if cancelled():
                    return  # a newer load is under way (it reads the catalog again)
        catalog = catalog_read.value
        draw(cells(catalog), final=True, catalog=catalog)

    def _differs(self, entries: list[Entry]) -> bool:
        """Whether `entries` would change what the list shows. Most reloads (every minute,
        every step of a run) change a few cells or none, and redrawing 1000 rows for
        nothing would only slow down the keys typed meanwhile. (Runs in the worker: the
        attributes it reads are replaced, never changed in place, by the UI thread.)"""
        if not self.loaded or self._select is not None:
            return True
        shown = self.entries
        return len(entries) != len(shown) or any(
            a.cfg.id != b.cfg.id or a.cells != b.cells for a, b in zip(entries, shown, strict=True)
        )

    @staticmethod
    def _known_details(cfg: ExportConfig, known: tuple[ExportConfig, Details] | None) -> Details:
        if known is not None and known[0] == cfg:
            return known[1]  # unchanged: the last pass's cells until the new ones arrive
        return (PENDING if cfg.branch else "alle", PENDING, PENDING, False)

    def _times(self, cfg: ExportConfig, now: dt.datetime) -> tuple[str, str, bool]:
        """Nächste Ausführung, Letzter Lauf (with its mark: ✓ ✗ ▶ ↷ ○) and failing."""
        try:
            due = format_when(self.service.next_due(cfg), now)
        except Exception:
            due = "?"  # one broken schedule must not hide the list
        failing = False
        try:
            summary = self.service.last_run(cfg.id)
            last = format_last_run(
                last_run_of(summary), now, status=summary.status if summary else None
            )
            failing = is_failing(self.service, cfg.id, summary)
        except Exception:
            last = "?"
        return due, last, failing

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        status = self.query_one(StatusLine)
        if message.entries is None:
            status.show_error(message.error or "")
            return
        status.clear_error()
        self.entries = message.entries
        self.rows_shown = True
        self._details = message.details
        if message.catalog is not None:
            self._catalog = message.catalog
        self.loaded = self.loaded or message.final
        self.refresh_rows(force=True)

    # --- filtering ----------------------------------------------------------------------

    def visible_entries(self) -> list[Entry]:
        needle = self.query_one("#filter", Input).value.strip().casefold()
        bound_only = self.query_one("#with-workstation", Checkbox).value
        return [
            e
            for e in self.entries
            if (not bound_only or e.bound) and (not needle or needle in e.haystack)
        ]

    def refresh_rows(self, *, force: bool = False) -> None:
        table = self.query_one(ConfigTable)
        shown = self.visible_entries()
        keys = [e.cfg.id for e in shown]
        # Typing often keeps the same rows ("s", "sc", …): then the table stays as it is.
        if force or keys != self._shown_keys or self._select:
            keep = self._select or table.current_key
            self._select = None
            table.show([(e.cfg.id, e.cells, e.failing) for e in shown], keep)
            self._shown_keys = keys
        total = len(self.entries)
        if not total:
            text = "Noch keine Schnittstelle – n legt eine an."
        elif len(shown) == total:
            text = f"{total} Schnittstelle{'n' if total != 1 else ''}"
        else:
            text = f"{len(shown)} von {total} Schnittstellen"
        self.query_one(StatusLine).update(text)

    @on(Checkbox.Changed, "#with-workstation")
    def _filter_changed(self) -> None:
        self.refresh_rows()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(ConfigTable).focus()

    def action_focus_filter(self) -> None:
        self.set_focus(self.query_one("#filter", Input))

    def on_key(self, event: events.Key) -> None:
        # Keys typed together with "/" (fast typing, SSH, paste) are already queued for the
        # table before the "/" binding could move the focus: they would fire list actions
        # (r runs, q quits). So "/" is caught here as it bubbles up, and the printable keys
        # queued behind it are typed into the filter.
        query = self.query_one("#filter", Input)
        if event.key == "escape" and self.focused is query:
            # Esc clears the filter; on an empty one it goes back to the table.
            if query.value:
                query.value = ""
            else:
                self.query_one(ConfigTable).focus()
            self._filter_pending = False
        elif event.key == "slash" and not isinstance(self.focused, Input):
            self._filter_pending = True
            self.set_focus(query)
        elif self._filter_pending and event.is_printable and event.character:
            query.insert_text_at_cursor(event.character)
        else:
            self._filter_pending = False
            return
        event.stop()
        event.prevent_default()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        if event.widget.id == "filter":
            self._filter_pending = False

    def action_toggle_workstation(self) -> None:
        self.query_one("#with-workstation", Checkbox).toggle()

    # --- actions ------------------------------------------------------------------------

    def selected(self) -> ExportConfig | None:
        key = self.query_one(ConfigTable).current_key
        cfg = next((e.cfg for e in self.entries if e.cfg.id == key), None)
        if cfg is None:
            self.notify("Keine Schnittstelle ausgewählt.", severity="warning")
        return cfg

    def _after_edit(self, cfg_id: str | None) -> None:
        if cfg_id:  # saved: show it, with the cursor on it
            self._select = cfg_id
            if self.is_current:
                self.reload()
            else:
                self._stale = True

    # The other screens are imported when first opened: a start waits only for the list.

    def action_new(self) -> None:
        from tui.screens.editor import EditorScreen

        self.app.push_screen(EditorScreen(self.service), self._after_edit)

    @on(ConfigTable.RowSelected)
    def action_edit(self) -> None:
        from tui.screens.editor import EditorScreen

        if (cfg := self.selected()) is not None:
            self.app.push_screen(EditorScreen(self.service, cfg.id), self._after_edit)

    def action_duplicate(self) -> None:
        from tui.screens.editor import EditorScreen

        if (cfg := self.selected()) is not None:
            editor = EditorScreen(self.service, cfg.id, duplicate=True)
            self.app.push_screen(editor, self._after_edit)

    def action_delete(self) -> None:
        cfg = self.selected()
        if cfg is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(cfg)

        self.app.push_screen(
            ConfirmDialog(
                f"Schnittstelle „{cfg.name}“ löschen?",
                detail=f"ID {cfg.id}. Das lässt sich nicht rückgängig machen.",
                confirm="Löschen",
                danger=True,
            ),
            answered,
        )

    @work(thread=True, group="actions")
    def _delete(self, cfg: ExportConfig) -> None:
        try:
            self.service.delete_config(cfg.id)
        except Exception as exc:
            self.post_message(self.Done(f"Nicht gelöscht: {exc}", error=True))
            return
        self.post_message(self.Done(f"„{cfg.name}“ gelöscht."))

    def action_run_now(self) -> None:
        # Outside 06:00–22:00 ManualRun asks first (SPEC §3).
        if (cfg := self.selected()) is not None:
            self.manual_run.start(cfg.id, cfg.name or cfg.id)

    def action_cancel_run(self) -> None:
        if (cfg := self.selected()) is not None:
            self.manual_run.cancel(cfg.id, cfg.name or cfg.id)

    def _run_finished(self, config_id: str) -> None:
        self.reload()  # "Letzter Lauf"

    def action_test(self) -> None:
        if (cfg := self.selected()) is not None:
            from tui.screens.hostkey import HostKeyTestDialog

            # Asks about an unknown SFTP host key and re-runs trusting exactly that key.
            self.app.push_screen(HostKeyTestDialog(cfg, self.service))

    def action_protocol_for(self) -> None:
        from tui.screens.protocol import ProtocolScreen

        if (cfg := self.selected()) is not None:
            self.app.push_screen(ProtocolScreen(self.service, config_id=cfg.id))

    @on(Done)
    def _done(self, message: Done) -> None:
        self.notify(
            message.text, severity="error" if message.error else "information", markup=False
        )
        self.reload()

    def shown_ids(self) -> Sequence[str]:
        """The ids in table order (for tests and the command palette)."""
        return self.query_one(ConfigTable).keys
