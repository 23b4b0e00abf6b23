"""The "Schnittstelle" editor: every field of `engine.config.FIELDS`, one section per seed
heading (Konfiguration, FTP, Ausführungsdetails, E-Mail), with the FTP and E-Mail tests."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Button

from engine.config import (
    FIELDS,
    FTP,
    MAIL,
    SECTIONS,
    ExportConfig,
    Target,
    parse_config,
)
from engine.fields import FieldSpec, Invalid, Problem, ValidationError, parse_values
from tui.commands import Providers, ScreenCommands
from tui.screens.form_screen import FormScreen, action_row
from tui.widgets.fields import Options
from tui.widgets.form import FieldForm
from tui.widgets.step_log import StepLog

if TYPE_CHECKING:
    from engine.service import Catalog, Service

_NAME_MAX = 80  # the model's limit for Name; a duplicate's " (Kopie)" must fit
_COPY = re.compile(r" \(Kopie(?: \d+)?\)$")


def copy_name(name: str, taken: Iterable[str]) -> str:
    """A duplicate's name that no config has yet: "Kasse (Kopie)", then "Kasse (Kopie 2)",
    … (a copy of a copy counts on from the original's name), cropped to fit the model."""
    base = _COPY.sub("", name)
    names = {t.casefold() for t in taken}
    n = 1
    while True:
        suffix = " (Kopie)" if n == 1 else f" (Kopie {n})"
        candidate = base[: _NAME_MAX - len(suffix)].rstrip() + suffix
        if candidate.casefold() not in names:
            return candidate
        n += 1


_MAIL_SPEC = next(s for s in FIELDS if s.section == MAIL and s.kind == "email")


def catalog_options(catalog: Catalog, source: str) -> Options:
    """Choices for a catalog-backed field (Belegart: only the non-incoming types)."""
    if source == "clients":
        return [(c.id, f"{c.name} ({c.client_no})") for c in catalog.clients.values()]
    if source == "branches":
        return [(b.id, b.name) for b in catalog.branches.values()]
    if source == "document_types":
        return [
            (d.code, f"{d.code} – {d.name}")
            for d in catalog.document_types.values()
            if not d.incoming
        ]
    if source == "payment_methods":
        return [(p.code, f"{p.code} – {p.name}") for p in catalog.payment_methods.values()]
    raise ValueError(f"unknown catalog {source!r}")


class EditorCommands(ScreenCommands):
    """The editor's keys (Speichern, Zurück, Tests) and a jump to each section."""

    def extra(self) -> Iterable[SystemCommand]:
        screen = self.screen
        assert isinstance(screen, EditorScreen)
        for section in SECTIONS:
            yield SystemCommand(
                f"Abschnitt: {section}",
                f"Zum Abschnitt „{section}“ springen",
                lambda s=section: screen.jump_to(s),
            )


class EditorScreen(FormScreen):
    """New (config_id None), edit, or duplicate (a copy without id, password included).
    Dismisses with the saved config's id (None: left without saving)."""

    COMMANDS: ClassVar[Providers] = {EditorCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+t",
            "test_connection",
            "Verbindungstest",
            show=False,
            tooltip="Die Verbindung zum FTP-Server mit den Eingaben testen",
        ),
        Binding(
            "ctrl+o",
            "test_mail",
            "Test-E-Mail",
            show=False,
            tooltip="Eine Test-E-Mail an die eingetragene Adresse senden",
        ),
    ]
    HELP = (
        "Eine Schnittstelle: wohin (FTP), was (Mandanten, Belegarten, Format) und wann "
        "(Ausführungszeit, Intervall) exportiert wird, und wer bei einem Fehler eine E-Mail "
        "bekommt. Tab geht von Feld zu Feld; unter dem Feld mit dem Cursor steht, wofür es "
        "da ist. Pflichtfelder sind mit * markiert."
    )

    class CatalogLoaded(Message):
        def __init__(self, catalog: Catalog | None, error: str | None = None) -> None:
            super().__init__()
            self.catalog = catalog
            self.error = error

    def __init__(
        self, service: Service, config_id: str | None = None, *, duplicate: bool = False
    ) -> None:
        super().__init__(service)
        self.config_id = config_id
        self.duplicate = duplicate
        self.source: ExportConfig | None = None  # the stored config (edit and duplicate)
        self.catalog: Catalog | None = None
        if config_id is None:
            self.sub_title = "Neue Schnittstelle"

    @property
    def previous(self) -> ExportConfig | None:
        """What the parser keeps an untouched password from (not for a duplicate: its
        password travels as text, and `previous` would also lend it the original's id)."""
        return None if self.duplicate else self.source

    # --- loading ----------------------------------------------------------------------

    def on_mount(self) -> None:
        super().on_mount()
        self._load_catalog()

    def load_model(self) -> Any:
        if self.config_id is None:
            return ExportConfig()
        self.source = self.service.get_config(self.config_id)
        if self.duplicate:
            taken = [c.name or "" for c in self.service.list_configs()]
            return dataclasses.replace(self.source, name=copy_name(self.source.name or "", taken))
        return self.source

    @work(thread=True, exclusive=True, group="catalog")
    def _load_catalog(self) -> None:
        try:
            catalog = self.service.catalog()
        except Exception as exc:  # LedgerError etc.: editing works, checks come on save
            self.post_message(self.CatalogLoaded(None, str(exc)))
            return
        self.post_message(self.CatalogLoaded(catalog))

    @on(CatalogLoaded)
    def _catalog_loaded(self, message: CatalogLoaded) -> None:
        if message.catalog is None:
            self.notify(
                f"Buchhaltung nicht lesbar: {message.error}", severity="error", markup=False
            )
            return
        self.catalog = message.catalog
        self._apply_catalog()

    def _apply_catalog(self) -> None:
        if self.form is None or self.catalog is None:
            return
        for spec in FIELDS:
            if spec.catalog:
                self.form.set_options(spec.path, catalog_options(self.catalog, spec.catalog))
        self.form.validate()

    def build_form(self, model: Any) -> FieldForm:
        cfg: ExportConfig = model
        kept: dict[str, str] = {}
        if self.duplicate:
            cfg = dataclasses.replace(cfg, id="")  # named by load_model: copy_name
            if cfg.target.password:
                kept["target.password"] = cfg.target.password.reveal()
            self.sub_title = f"Kopie von: {self.source.name if self.source else ''}"
        elif self.config_id is not None:
            self.sub_title = f"Schnittstelle: {cfg.name}"

        def options(spec: FieldSpec) -> Options | None:
            return None if spec.catalog else list(spec.choices)

        return FieldForm(
            FIELDS,
            cfg,
            validate=self._validate,
            options=options,
            kept_secrets=kept,
            extras={
                FTP: lambda: [
                    action_row(
                        Button("Test", id="ftp-test", compact=True),
                        StepLog(id="ftp-steps"),
                        id="ftp-test-row",
                    )
                ],
                MAIL: lambda: [
                    action_row(
                        Button("Test", id="mail-test", compact=True),
                        StepLog(id="mail-steps"),
                        id="mail-test-row",
                    )
                ],
            },
            id="editor-form",
        )

    def form_ready(self) -> None:
        self._apply_catalog()
        super().form_ready()

    # --- validation and saving --------------------------------------------------------

    def _validate(self, raw: dict[str, Any]) -> list[Problem]:
        try:
            parse_config(raw, catalog=self.catalog, previous=self.previous)
        except ValidationError as exc:
            return exc.problems
        return []

    def save_model(self, raw: dict[str, Any]) -> Any:
        if self.config_id is not None and not self.duplicate:
            raw = {**raw, "id": self.config_id}
        return self.service.save_config(raw, catalog=self.catalog)

    def saved(self, result: Any) -> None:
        cfg: ExportConfig = result
        self.notify(f"„{cfg.name}“ gespeichert.", markup=False)
        self.dismiss(cfg.id)

    def secret_config_id(self) -> str | None:
        return self.source.id if self.source else None

    # --- tests ------------------------------------------------------------------------

    def config_for_test(self) -> tuple[ExportConfig | None, list[Problem]]:
        """The config as typed, for the connection test. Only the FTP section has to be
        valid: the seed tests the server while the config is still being set up."""
        assert self.form is not None
        raw = self.form.raw()
        try:
            return parse_config(raw, catalog=None, previous=self.previous), []
        except ValidationError:
            pass
        specs = [s for s in FIELDS if s.section == FTP]
        values, problems = parse_values(specs, raw, self.previous)
        if problems:
            return None, problems
        target = Target(**{p.removeprefix("target."): v for p, v in values.items()})
        base = self.source or ExportConfig()
        return dataclasses.replace(base, id=self.config_id or "", target=target), []

    @on(Button.Pressed, "#ftp-test")
    def action_test_connection(self) -> None:
        if self.form is None:
            return
        cfg, problems = self.config_for_test()
        if cfg is None:
            for p in problems:
                self.form.rows[p.path].touched = True
            self.form.validate()
            self.notify(
                "\n".join(str(p) for p in problems),
                title="Test nicht möglich",
                severity="error",
                markup=False,
            )
            return
        test = self.service.test_connection
        self.start_steps("ftp-steps", "Verbindungstest läuft …", test, cfg)

    @on(Button.Pressed, "#mail-test")
    def action_test_mail(self) -> None:
        if self.form is None:
            return
        row = self.form.rows[_MAIL_SPEC.path]
        try:
            address = _MAIL_SPEC.parse(row.raw())
        except Invalid as exc:
            address, problem = None, str(exc)
        else:
            problem = "" if address else "für den Test eine Adresse eintragen"
        if not address:
            row.touched = True
            self.form.validate()
            row.set_errors([problem])
            row.focus_control()
            return
        self.mail_test(address, "mail-steps")


__all__ = ["EditorScreen", "catalog_options"]
