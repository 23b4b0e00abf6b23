"""BuchexApp: the German terminal UI for export configurations ("Schnittstellen").

Screens live in tui/screens (one module each), widgets in tui/widgets. Everything that
touches the disk, the ledger or the network runs in thread workers; results come back as
messages. Parts built elsewhere (scheduler, runs, transports, mail) come in as hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, cast

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.screen import Screen

from engine.audit import current_actor
from engine.config import SECTIONS
from engine.workspace import Workspace
from tui.hooks import Clock, Hooks, SystemClock
from tui.screens.configs import ConfigListScreen

TITLE = "buchex – Automatischer Buchhaltungsexport"


def named_screens() -> dict[str, type[Screen[Any]]]:
    """Screens reachable by name from any screen (bindings and the command palette).

    Screens other than the list are imported when first needed: a start waits only for
    the list, and the editor's and the Protokoll's imports would add a tenth of a second.
    """
    from tui.screens.protocol import ProtocolScreen
    from tui.screens.security import SecurityScreen
    from tui.screens.smtp import SmtpScreen

    return {"smtp": SmtpScreen, "security": SecurityScreen, "protocol": ProtocolScreen}


class BuchexApp(App[None]):
    TITLE = TITLE
    CSS_PATH = ["app.tcss", "widgets/form.tcss"]  # noqa: RUF012 (Textual reads it once)
    # The list is the base screen; a mode (not get_default_screen) so its CSS_PATH loads.
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {"liste": ConfigListScreen}
    DEFAULT_MODE = "liste"
    # Screen classes for the CSS: forms breathe on tall terminals, stay dense at 80×24.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Beenden", show=False, priority=True),
        Binding("ctrl+p", "command_palette", "Befehle", show=False, priority=True),
        Binding("f1", "toggle_keys", "Tasten", show=False),
    ]

    def __init__(
        self,
        workspace: Workspace,
        *,
        actor: str | None = None,
        clock: Clock | None = None,
        hooks: Hooks | None = None,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        # The OS login name, mapped to a buchex user for the password eye.
        self.actor = actor or current_actor()
        self.clock: Clock = clock or SystemClock()
        self.hooks = hooks or Hooks()
        self.cursor_blink = cursor_blink

    # --- navigation ---------------------------------------------------------------------

    def action_open(self, name: str) -> None:
        """Open a settings/log screen; from one of them, switch instead of stacking."""
        from tui.screens.form_screen import FormScreen

        screens = named_screens()
        cls = screens[name]
        if isinstance(self.screen, cls):
            return
        if isinstance(self.screen, tuple(screens.values())) and not (
            isinstance(self.screen, FormScreen) and self.screen.form and self.screen.form.is_dirty()
        ):
            self.pop_screen()
        self.push_screen(cls())

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
        # German entries only (Textual's defaults are English).
        from tui.screens.editor import EditorScreen
        from tui.screens.protocol import ProtocolScreen

        if isinstance(screen, ConfigListScreen):
            yield SystemCommand(
                "Neue Schnittstelle", "Eine Schnittstelle anlegen (n)", screen.action_new
            )
            yield SystemCommand(
                "Protokoll dieser Schnittstelle",
                "Die Läufe der ausgewählten Schnittstelle (l)",
                screen.action_protocol_for,
            )
        if isinstance(screen, ProtocolScreen):
            yield SystemCommand(
                "Nur Fehler", "Nur fehlgeschlagene Läufe zeigen (f)", screen.action_toggle_failed
            )
            yield SystemCommand(
                "Erneut ausführen",
                "Die Schnittstelle des Laufs jetzt ausführen (e)",
                screen.action_rerun,
            )
        if isinstance(screen, EditorScreen):
            yield SystemCommand(
                "Speichern", "Die Schnittstelle speichern (Strg+S)", screen.action_save
            )
            for section in SECTIONS:
                yield SystemCommand(
                    f"Abschnitt: {section}",
                    f"Zum Abschnitt „{section}“ springen",
                    lambda s=section: screen.jump_to(s),
                )
            yield SystemCommand(
                "Verbindungstest", "FTP-Verbindung testen", screen.action_test_connection
            )
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

    def action_home(self) -> None:
        """Back to the list; screens with unsaved changes ask first (via their escape)."""
        from tui.screens.form_screen import FormScreen

        if isinstance(self.screen, FormScreen):
            self.screen.action_leave()
        elif not isinstance(self.screen, ConfigListScreen):
            self.pop_screen()
