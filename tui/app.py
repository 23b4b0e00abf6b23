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
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast, runtime_checkable

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.message import Message
from textual.screen import Screen

from tui.messages import ConfigsChanged, MinutePassed, RunsChanged
from tui.screens.configs import ConfigListScreen

if TYPE_CHECKING:
    import datetime as dt

    from engine.service import Service, Stamps

TITLE = "buchex – Automatischer Buchhaltungsexport"
WATCH_SECONDS = 0.5  # how often the watcher asks the service for its change stamps
HOME = "liste"  # the list: the base screen, installed for the app's lifetime


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


class BuchexApp(App[None]):
    TITLE = TITLE
    CSS_PATH = ["app.tcss", "widgets/form.tcss"]  # noqa: RUF012 (Textual reads it once)
    # The list is the base screen of a mode (not get_default_screen) so its CSS_PATH loads;
    # the mode names the list installed in __init__ (it needs the service).
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {HOME: HOME}
    DEFAULT_MODE = HOME
    # Screen classes for the CSS: forms breathe on tall terminals, stay dense at 80×24.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Beenden", show=False, priority=True),
        Binding("ctrl+p", "command_palette", "Befehle", show=False, priority=True),
        Binding("f1", "toggle_keys", "Tasten", show=False),
    ]

    class _Stamps(Message):
        """The watcher's reading (posted from its worker thread)."""

        def __init__(self, stamps: Stamps, minute: dt.datetime) -> None:
            super().__init__()
            self.stamps = stamps
            self.minute = minute

    def __init__(self, service: Service, *, cursor_blink: bool = True) -> None:
        super().__init__()
        self.service = service
        self.cursor_blink = cursor_blink
        self.install_screen(ConfigListScreen(service), HOME)
        # Read before any screen loads: a change after this is always reported. (If it
        # fails, the watcher's first reading reports everything as changed.)
        self._seen: tuple[object, object, object] = (object(), object(), object())
        with contextlib.suppress(Exception):
            self._seen = (*service.stamps(), self._minute())

    # --- the watcher --------------------------------------------------------------------

    def on_mount(self) -> None:
        self.screen_change_signal.subscribe(self, self._drop_closed_screens, immediate=True)
        self.set_interval(WATCH_SECONDS, self._watch)

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

    def action_home(self) -> None:
        """Back to the list; screens with unsaved changes ask first (via their escape)."""
        if isinstance(self.screen, HoldsEdits):
            self.screen.action_leave()
        elif len(self.screen_stack) > 1:
            self.pop_screen()

    def action_toggle_keys(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_help_quit(self) -> None:
        # ctrl+c copies in inputs; tell people how to quit (Textual's text is English).
        self.notify("Beenden mit Strg+Q.", title="Beenden?")

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(cast("App[object]", self)):
            self.push_screen(CommandPalette(id="--command-palette", placeholder="Befehl suchen …"))

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
        yield SystemCommand("Tasten", "Alle Tastenkürzel anzeigen (F1)", self.action_toggle_keys)
        yield SystemCommand("Farbschema", "Farbschema wechseln", self.action_change_theme)
        yield SystemCommand("Beenden", "buchex beenden (Strg+Q)", self.action_quit)
