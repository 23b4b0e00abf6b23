"""BuchexApp: the German terminal UI for export configurations ("Schnittstellen").

Screens live in tui/screens (one module each), widgets in tui/widgets. The app gets a
`Service` (engine/service.py) and hands it to each screen it opens; everything that touches
the disk, the ledger or the network runs in thread workers. The app itself holds only
what is global: the named screens (imported when first opened), the palette's global
entries (each screen declares its own in `COMMANDS`), and one watcher of the service's
change stamps that tells the open screens what changed (tui/messages.py).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast, runtime_checkable

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.theme import ThemeProvider

from tui.german import THEME_PLACEHOLDER, GermanCommandPalette
from tui.messages import ConfigsChanged, MinutePassed, RunsChanged
from tui.screens.configs import ConfigListScreen
from tui.screens.outside_window import RunInProgress, RunsInProgress

if TYPE_CHECKING:
    import datetime as dt

    from engine.service import Service, Stamps
    from tui.preferences import Preferences

TITLE = "buchex – Automatischer Buchhaltungsexport"
WATCH_SECONDS = 0.5  # how often the watcher asks the service for its change stamps
HOME = "liste"  # the list: the base screen, installed for the app's lifetime
STOP_WAIT = 10.0  # seconds quitting waits for cancelled runs to record their end


def _smtp(service: Service) -> Screen[Any]:
    from tui.screens.smtp import SmtpScreen

    return SmtpScreen(service)


def _security(service: Service) -> Screen[Any]:
    from tui.screens.security import SecurityScreen

    return SecurityScreen(service)


def _protocol(service: Service) -> Screen[Any]:
    from tui.screens.protocol import ProtocolScreen

    return ProtocolScreen(service)


# Screens reachable by name from any screen (bindings "app.open('smtp')" and the palette).
# Their modules are imported when first opened: a start waits only for the list, and the
# editor's and the Protokoll's imports would add a tenth of a second.
NAMED_SCREENS: dict[str, Callable[[Service], Screen[Any]]] = {
    "smtp": _smtp,
    "security": _security,
    "protocol": _protocol,
}


@runtime_checkable
class HoldsEdits(Protocol):
    """A screen that may hold unsaved changes (the forms): the app does not replace it
    with another named screen while it does, and leaves it through `action_leave`, which
    asks first."""

    def has_unsaved_changes(self) -> bool: ...

    def action_leave(self) -> None: ...

    def save_then(self, after: Callable[[], object]) -> None: ...


class BuchexApp(App[None]):
    TITLE = TITLE
    # The list's CSS is the app's: a screen's own CSS_PATH makes Textual parse the whole
    # style sheet once more as the screen opens, and the list always opens.
    CSS_PATH = ["app.tcss", "widgets/form.tcss", "screens/configs.tcss"]  # noqa: RUF012
    # The list is the base screen of a mode (not get_default_screen); the mode names the
    # list installed in __init__ (it needs the service).
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {HOME: HOME}
    DEFAULT_MODE = HOME
    # Screen classes for the CSS: forms breathe on tall terminals, stay dense at 80×24.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Beenden", show=False, priority=True, tooltip="buchex beenden"),
        Binding(
            "ctrl+p",
            "command_palette",
            "Befehle",
            show=False,
            priority=True,
            tooltip="Alle Befehle: tippen, was man tun will (z. B. „ausf“, „lösch“)",
        ),
        # F1 and ? open the German help of the current screen (tui/screens/help.py).
        Binding("f1,question_mark", "help", "Hilfe", tooltip="Hilfe zu diesem Bildschirm"),
    ]

    class _Stamps(Message):
        """The watcher's reading (posted from its worker thread)."""

        def __init__(self, stamps: Stamps, minute: dt.datetime) -> None:
            super().__init__()
            self.stamps = stamps
            self.minute = minute

    def __init__(
        self,
        service: Service,
        *,
        cursor_blink: bool = True,
        preferences: Preferences | None = None,
        started: Callable[[], object] | None = None,
    ) -> None:
        super().__init__()
        self._started = started  # called once the first frame is drawn
        self.service = service
        self.cursor_blink = cursor_blink
        # The OS user's choices (tui/preferences.py; `python -m tui` passes them, tests
        # their own file or none): the theme is applied here and saved when changed.
        self.preferences = preferences
        if preferences is not None and preferences.theme in self.available_themes:
            self.theme = preferences.theme
        self.install_screen(ConfigListScreen(service), HOME)
        # The manual runs this process owns: quitting asks about them, SIGHUP cancels them.
        self.runs_in_progress = RunsInProgress()
        # Read before any screen loads: a change after this is always reported. (If it
        # fails, the watcher's first reading reports everything as changed.)
        self._seen: tuple[object, object, object] = (object(), object(), object())
        with contextlib.suppress(Exception):
            self._seen = (*service.stamps(), self._minute())
        # Failing configs (tui/failures.py): {config id: (name, failed run id)}; the first
        # reading only sets the header, later ones also raise a toast for each new failure.
        self.failing: dict[str, tuple[str, str]] = {}
        self._stack_depth = 0  # screens on the stack at the last screen change
        self._failures_read = False

    def preload(self) -> None:
        """Work out the list's first load now, before the app runs (`python -m tui` calls
        this; see `ConfigListScreen.preload`)."""
        home = self.get_screen(HOME)
        if isinstance(home, ConfigListScreen):
            home.preload()

    # --- quitting, guarded ---------------------------------------------------------------
    # Strg+Q, q and "Beenden" ask first about unsaved changes (save / discard / stay, like
    # Escape) and about runs this TUI owns (hand over to a background process / cancel /
    # stay). Waiting for a cancelled run shows a notification and is bounded (STOP_WAIT):
    # never a blank terminal waiting for a thread hanging in a silent server.

    async def action_quit(self) -> None:
        self.quit_guarded()

    def quit_guarded(self, *, edits_checked: bool = False) -> None:
        from tui.screens.choice import ChoiceDialog

        if isinstance(self.screen, ChoiceDialog):
            return  # already asking
        if not edits_checked:
            dirty = next(
                (
                    s
                    for s in reversed(self.screen_stack)
                    if isinstance(s, HoldsEdits) and s.has_unsaved_changes()
                ),
                None,
            )
            if dirty is not None:
                target: object = dirty
                while self.screen is not target and len(self.screen_stack) > 1:
                    self.pop_screen()  # what lies above it holds nothing unsaved
                self._ask_about_edits(dirty)
                return
        runs = self.runs_in_progress.all()
        if runs:
            self._ask_about_runs(runs)
            return
        self.exit()

    def _ask_about_edits(self, screen: HoldsEdits) -> None:
        from tui.screens.choice import ChoiceDialog

        def answered(choice: str | None) -> None:
            if choice == "save":
                screen.save_then(lambda: self.quit_guarded(edits_checked=True))
            elif choice == "discard":
                self.quit_guarded(edits_checked=True)

        dialog = ChoiceDialog(
            "Ungespeicherte Änderungen – vor dem Beenden speichern?",
            [
                ("save", "Speichern und beenden", "s"),
                ("discard", "Verwerfen und beenden", "v"),
                ("stay", "Weiter bearbeiten", "b"),
            ],
            detail="Die Änderungen sind noch nicht gespeichert.",
        )
        self.push_screen(dialog, answered)

    def _ask_about_runs(self, runs: list[RunInProgress]) -> None:
        from tui.screens.choice import ChoiceDialog

        def answered(choice: str | None) -> None:
            if choice in ("background", "cancel"):
                self._stop_runs(runs, background=choice == "background")

        names = ", ".join(f"„{r.name}“" for r in runs)
        dialog = ChoiceDialog(
            f"Lauf läuft noch: {names}",
            [
                ("background", "Im Hintergrund zu Ende führen", "h"),
                ("cancel", "Abbrechen", "a"),
                ("stay", "Bleiben", "b"),
            ],
            detail=(
                "Im Hintergrund: der Lauf wird hier beendet und sofort als eigener Prozess "
                "neu gestartet, der auch nach dem Schließen des Terminals weiterläuft "
                "(Ergebnis im Protokoll). Abbrechen: der Lauf endet als „abgebrochen“; auf "
                "dem Server bleibt keine halbe Datei, der Wasserstand bleibt stehen."
            ),
        )
        self.push_screen(dialog, answered)

    @work(thread=True, group="quit", exit_on_error=False)
    def _stop_runs(self, runs: list[RunInProgress], *, background: bool) -> None:
        for run in runs:
            if background and run.kind == "redeliver":  # `buchex run` would not redeliver
                run.token.cancel(
                    "beim Beenden abgebrochen; eine Nachlieferung läuft nicht im Hintergrund "
                    "weiter (n im Protokoll liefert erneut)"
                )
            elif background:
                try:
                    pid = self.service.run_in_background(run.config_id, force=run.force)
                except Exception as exc:
                    self.call_from_thread(
                        self.notify,
                        f"„{run.name}“ nicht im Hintergrund gestartet: {exc}",
                        severity="error",
                        markup=False,
                    )
                    return  # the run goes on here; the person decides again
                run.token.cancel(f"an einen Hintergrundprozess übergeben (PID {pid})")
            else:
                run.token.cancel("beim Beenden von buchex abgebrochen")
        what = "wird im Hintergrund neu gestartet" if background else "wird abgebrochen"
        self.call_from_thread(
            self.notify, f"Lauf {what} … buchex endet gleich.", timeout=STOP_WAIT, markup=False
        )
        self.runs_in_progress.wait(runs, STOP_WAIT)
        self.call_from_thread(self.exit)

    def stop_for_signal(self, name: str) -> threading.Thread:
        """SIGHUP (terminal or SSH closed) or SIGTERM: cancel the runs this TUI owns, let
        them record "abgebrochen" with their step (up to STOP_WAIT), then end. Called from
        the signal handler: the work happens in a thread that is not a daemon, so the
        process does not end before the runs are recorded, even if the UI fails on the
        closed terminal."""
        reason = "Terminal geschlossen" if name == "SIGHUP" else "buchex beendet"

        def stop() -> None:  # (not in the handler: it may interrupt a holder of the locks)
            runs = self.runs_in_progress.cancel_all(f"{reason} ({name})")
            self.runs_in_progress.wait(runs, STOP_WAIT)
            with contextlib.suppress(Exception):
                self.call_later(self.exit)  # thread-safe; the UI may be gone already
            main = threading.main_thread()
            main.join(STOP_WAIT)
            if main.is_alive():  # the UI hangs on the closed terminal: end anyway
                os._exit(1)

        thread = threading.Thread(target=stop, name="stop-runs", daemon=False)
        thread.start()
        return thread

    # --- the watcher --------------------------------------------------------------------

    def on_mount(self) -> None:
        self.screen_change_signal.subscribe(self, self._drop_closed_screens, immediate=True)
        self.screen_change_signal.subscribe(self, self._clear_toasts_under_dialogs, immediate=True)
        self.set_interval(WATCH_SECONDS, self._watch)
        self.call_after_refresh(self._first_frame_drawn)

    def _first_frame_drawn(self) -> None:
        # Read after the first frame: at start it would only share the interpreter with it
        # (the list, worked out before the app ran, is in that frame; the header follows).
        self._read_failures()
        if self._started is not None:
            self._started()

    def _minute(self) -> dt.datetime:
        return self.service.clock.now().replace(second=0, microsecond=0)

    def _watch(self) -> None:
        if not any(w.group == "watch" and not w.is_finished for w in self.workers):
            self._read_stamps()

    @work(thread=True, group="watch", exit_on_error=False)
    def _read_stamps(self) -> None:
        # A short worker per tick (not one that loops): waiting for all workers stays
        # possible. A failed reading (e.g. the store being replaced) waits for the next.
        self.post_message(self._Stamps(self.service.stamps(), self._minute()))

    @on(_Stamps)
    def _stamps_read(self, message: _Stamps) -> None:
        configs, runs, minute = self._seen
        self._seen = (*message.stamps, message.minute)
        changes: list[type[Message]] = []
        if message.stamps.configs != configs:
            changes.append(ConfigsChanged)
        if message.stamps.runs != runs:
            changes.append(RunsChanged)
        if message.minute != minute:
            changes.append(MinutePassed)
        for screen in self.screen_stack:
            for change in changes:
                screen.post_message(change())
        if ConfigsChanged in changes or RunsChanged in changes:
            self._read_failures()

    # --- failing configs: the header's count, a toast for each new one --------------------

    class _Failures(Message):
        def __init__(self, failing: dict[str, tuple[str, str]], records: dict[str, Any]) -> None:
            super().__init__()
            self.failing = failing
            self.records = records  # run id → RunRecord of the newly failed runs

    @work(thread=True, group="failures", exclusive=True, exit_on_error=False)
    def _read_failures(self) -> None:
        from tui.failures import failing_configs

        failing = failing_configs(self.service)
        seen = self.failing
        new = {run for cfg_id, (_, run) in failing.items() if seen.get(cfg_id, ("", ""))[1] != run}
        records = {run: self.service.run(run) for run in new} if self._failures_read else {}
        self.post_message(self._Failures(failing, records))

    @on(_Failures)
    def _failures_changed(self, message: _Failures) -> None:
        from tui.failures import failure_title, failure_toast

        first = not self._failures_read
        self._failures_read = True
        old, self.failing = self.failing, message.failing
        for cfg_id, (name, run) in message.failing.items():
            record = message.records.get(run)
            if first or old.get(cfg_id, ("", ""))[1] == run:
                continue
            if record is not None and record.host_pid == os.getpid():
                continue  # a run of this TUI: its own notification says it
            self.notify(
                failure_toast(name, record),
                title="Lauf fehlgeschlagen",
                severity="error",
                timeout=30,
                markup=False,
            )
        count = len(message.failing)
        self.title = failure_title(count) if count else TITLE
        self.set_class(bool(count), "-failing")

    # --- navigation ---------------------------------------------------------------------

    def action_open(self, name: str) -> None:
        """Open a named screen (SMTP, Sicherheit, Protokoll); from another one, switch
        instead of stacking, unless it holds unsaved changes."""
        current = self.screen
        if self._named(current) == name:
            return
        if self._named(current) is not None and not (
            isinstance(current, HoldsEdits) and current.has_unsaved_changes()
        ):
            self.pop_screen()
        if self.is_screen_installed(name):  # still open below a form with changes
            self.push_screen(NAMED_SCREENS[name](self.service))
            return
        self.install_screen(NAMED_SCREENS[name](self.service), name)
        self.push_screen(name)

    def _named(self, screen: Screen[Any]) -> str | None:
        installed = (n for n in NAMED_SCREENS if self.is_screen_installed(n))
        return next((n for n in installed if self.get_screen(n) is screen), None)

    def _drop_closed_screens(self, _: Screen[Any]) -> None:
        # Textual keeps installed screens when they close; a named screen opens fresh each
        # time (a form shows what is stored, the Protokoll starts unfiltered), so it is
        # uninstalled as it leaves the stack and Textual then removes it.
        for name in NAMED_SCREENS:
            if self.is_screen_installed(name) and self.get_screen(name) not in self.screen_stack:
                self.uninstall_screen(name)

    def _clear_toasts_under_dialogs(self, screen: Screen[Any]) -> None:
        # A toast of the screen below would cover a dialog's text or buttons: cleared when
        # a dialog opens (not when one closes back onto another: its answer's toast stays).
        depth, self._stack_depth = self._stack_depth, len(self.screen_stack)
        if (
            isinstance(screen, ModalScreen)
            and screen is self.screen
            and len(self.screen_stack) > depth
        ):
            self.clear_notifications()

    def watch_theme(self, theme: str) -> None:
        prefs = getattr(self, "preferences", None)  # (None while App.__init__ runs)
        if prefs is not None and prefs.theme != theme and not prefs.set(theme=theme):
            self.notify(
                f"Farbschema nicht gespeichert: {prefs.path} ist nicht beschreibbar.",
                severity="warning",
                markup=False,
            )

    def action_home(self) -> None:
        """Back to the list; screens with unsaved changes ask first (via their escape)."""
        if isinstance(self.screen, HoldsEdits):
            self.screen.action_leave()
        elif len(self.screen_stack) > 1:
            self.pop_screen()

    def action_help(self) -> None:
        """The German help of the current screen (again: close it)."""
        from tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
        else:
            self.push_screen(HelpScreen(self.screen))

    def action_help_quit(self) -> None:
        # ctrl+c copies in inputs; tell people how to quit (Textual's text is English).
        self.notify("Beenden mit Strg+Q.", title="Beenden?")

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(cast("App[object]", self)):
            self.push_screen(GermanCommandPalette(id="--command-palette"))

    def search_themes(self) -> None:
        # Textual's theme picker, with a German placeholder ("Farbschema").
        self.push_screen(
            GermanCommandPalette(providers=[ThemeProvider], placeholder=THEME_PLACEHOLDER)
        )

    # --- command palette ----------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # The global entries, German only (Textual's defaults are English); each screen
        # adds its own through its COMMANDS.
        yield SystemCommand("Schnittstellen", "Zur Liste der Schnittstellen", self.action_home)
        yield SystemCommand(
            "SMTP Postausgangsserver",
            "Mailserver für Fehlermeldungen (m)",
            lambda: self.action_open("smtp"),
        )
        yield SystemCommand(
            "Sicherheit",
            "Passwort-Auge, Zeitzone, Buchhaltungsdatenbank (s)",
            lambda: self.action_open("security"),
        )
        yield SystemCommand(
            "Protokoll", "Läufe der Schnittstellen (p)", lambda: self.action_open("protocol")
        )
        yield SystemCommand(
            "Hilfe", "Hilfe zu diesem Bildschirm: Tasten und Felder (F1, ?)", self.action_help
        )
        yield SystemCommand("Farbschema", "Farbschema wechseln", self.action_change_theme)
        yield SystemCommand("Beenden", "buchex beenden (Strg+Q)", self.action_quit)
