"""Export formats: what a format is, and the registry of the installed ones.

A format is declared by a `FormatSpec`: its name (what config files store), its German
label (what forms show), which files it writes (`FileKind`s), its options and its
validator, and where its writer class lives. buchex declares its own formats in
`engine.formats.builtin`; any installed Python package can add more through the entry
point group `buchex.formats` (docs/formats.md), each entry point naming a `FormatSpec`:

    [project.entry-points."buchex.formats"]
    sage = "buchex_sage:FORMAT"

`FORMAT_CHOICES` (name, German label) is read once, when this package is first imported:
engine.config builds the choice of the "Format" fields from it, so the TUI, `config
validate` and the CLI list what is installed. A declaration is cheap to import (the writer
class is named by "module:attribute" and imported on first use): every process that opens
a workspace, the TUI's start among them, reads the declarations.

`engine.export` does the selection, the file planning (one file per client, kind and
period, numbered parts) and the byte plumbing; a writer knows only its own format: how a
booking becomes a row (mending or refusing values), the file's head (header line,
headings), its file names and its master-data rows.

The writer modules import nothing from this package at run time (only for type checking),
so importing a writer directly and importing the registry both work without cycles.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TextIO

if TYPE_CHECKING:  # engine.config imports this package: keep SQLAlchemy out of its imports
    from engine.ledger import Booking, Catalog, Client, Partner

#: What a file holds: bookings, incoming (supplier-invoice) bookings, debtor or creditor
#: master data. Runner, journal and run record carry these strings.
FileKind = Literal["bookings", "incoming", "debtors", "creditors"]
FILE_KINDS: Final[tuple[FileKind, ...]] = ("bookings", "incoming", "debtors", "creditors")
#: Kinds without bookings: no sums, no journal index.
MASTER_DATA_KINDS: Final[frozenset[str]] = frozenset({"debtors", "creditors"})
#: German names of the kinds, for messages.
KIND_LABELS: Final[dict[str, str]] = {
    "bookings": "Buchungen",
    "incoming": "Eingangsbuchungen",
    "debtors": "Debitoren",
    "creditors": "Kreditoren",
}

#: The entry point group third-party formats register in.
ENTRY_POINT_GROUP: Final = "buchex.formats"


@dataclass(frozen=True)
class FileInfo:
    """What a writer needs to name a file and write its head; known when the file closes."""

    kind: FileKind
    fiscal_year_start: date | None  # the file's fiscal year (None: not split by fiscal year)
    date_from: date | None  # min/max document_date of the file's bookings; None: master data
    date_to: date | None
    part: int | None  # 1, 2, ... when a period needs more than one file, else None
    rows: int


class Report(Protocol):
    """Where a writer reports what it changed (warn) or cannot write (refuse)."""

    def warn(self, journal_no: int | None, field: str, message: str) -> None: ...

    def refuse(self, journal_no: int | None, field: str, message: str) -> None: ...


class RowWriter(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


class FormatWriter(Protocol):
    """One format for one client in one run (see `DatevFormat`, `CsvFormat`)."""

    encoding: str
    #: rows per file; None: no limit
    max_rows: int | None
    #: one file per fiscal year, and again per calendar year (DATEV's TTMM Belegdatum)
    split_by_year: bool

    def row_writer(self, fh: TextIO) -> RowWriter: ...

    def booking_row(self, booking: Booking, report: Report) -> list[Any] | None: ...

    def partner_rows(
        self,
        kind: FileKind,
        partners: Sequence[Partner],
        first_use: Mapping[str, int],
        report: Report,
    ) -> list[list[Any]]:
        """Rows of a master-data file (`kind` "debtors" or "creditors")."""
        ...

    def file_name(self, info: FileInfo) -> str: ...

    def file_head(self, info: FileInfo) -> bytes: ...


class FormatFactory(Protocol):
    """A writer class. buchex calls it with these keyword arguments; a plug-in should also
    accept `**kwargs` so that later versions can pass more without breaking it."""

    def __call__(
        self,
        *,
        client: Client,
        catalog: Catalog,
        config_name: str,
        now: datetime,
        mandant: str,
        options: Mapping[str, str],
        own_automatic_accounts: Mapping[str, int | None],
    ) -> FormatWriter: ...


@dataclass(frozen=True)
class FormatOption:
    """An option a format declares: German label, allowed values, default."""

    name: str
    label: str
    choices: tuple[tuple[str, str], ...]  # (value, German label)
    default: str
    help: str = ""


#: Validator of a written file: German problems, empty when the file is fine.
Validator = Callable[[Path], list[str]]

_NAME: Final = re.compile(r"[a-z][a-z0-9_-]{0,31}")


@dataclass(frozen=True)
class FormatSpec:
    """The declaration of a format (what a plug-in's entry point names)."""

    name: str  # stored in config files: lower-case letters, digits, _ and -
    label: str  # German, shown in forms and lists
    #: the writer class, or "module:attribute" naming it (imported on first use)
    writer: str | FormatFactory
    #: which files it writes; an export never asks it for another kind
    kinds: frozenset[FileKind] = frozenset({"bookings", "incoming"})
    options: tuple[FormatOption, ...] = ()
    #: "module:function" or a function checking a written file (`Validator`)
    validator: str | Validator | None = None
    description: str = ""  # German, one sentence
    #: where it was declared ("buchex" or the distribution of a plug-in)
    origin: str = "buchex"

    def factory(self) -> FormatFactory:
        writer = self.writer
        if isinstance(writer, str):
            loaded: FormatFactory = _load(writer)
            return loaded
        return writer

    def validate(self, path: Path) -> list[str]:
        """German problems of a file this format wrote; [] if it has no validator."""
        validator = self.validator
        if validator is None:
            return []
        check: Validator = _load(validator) if isinstance(validator, str) else validator
        return check(path)

    def resolve_options(self, given: Mapping[str, str] | None = None) -> dict[str, str]:
        """Every declared option with its value (default where not given).

        Raises ValueError with a German message naming the option by its label."""
        given = dict(given or {})
        values: dict[str, str] = {}
        for option in self.options:
            value = given.pop(option.name, option.default)
            allowed = [v for v, _ in option.choices]
            if value not in allowed:
                raise ValueError(
                    f"{self.label}, Option „{option.label}“: „{value}“ ist nicht erlaubt "
                    f"(möglich: {', '.join(allowed)})"
                )
            values[option.name] = value
        if given:
            raise ValueError(
                f"{self.label}: unbekannte Option {', '.join(sorted(given))} "
                f"(bekannt: {', '.join(o.name for o in self.options) or 'keine'})"
            )
        return values


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    return obj


# ---------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registry:
    """The installed formats, and what went wrong loading plug-ins (German, one line each)."""

    formats: dict[str, FormatSpec]
    problems: tuple[str, ...] = field(default=())


def _plugin_specs(builtin: Mapping[str, FormatSpec]) -> tuple[list[FormatSpec], list[str]]:
    """The FormatSpecs of the entry point group; a broken plug-in is a problem, not a crash
    (the daemon must keep running the other formats)."""
    from importlib.metadata import entry_points

    found: list[FormatSpec] = []
    problems: list[str] = []
    names = set(builtin)
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = ep.dist.name if ep.dist is not None else "?"
        where = f"Format-Erweiterung {ep.name} ({dist}, {ep.value})"
        try:
            spec = ep.load()
        except Exception as exc:  # a plug-in may raise anything on import
            problems.append(f"{where}: lässt sich nicht laden: {exc}")
            continue
        if not isinstance(spec, FormatSpec):
            problems.append(f"{where}: ist keine engine.formats.FormatSpec")
            continue
        if not _NAME.fullmatch(spec.name):
            problems.append(f"{where}: Name „{spec.name}“ ungültig (a-z, 0-9, _ und -)")
            continue
        if spec.name in names:
            problems.append(f"{where}: Name „{spec.name}“ ist schon vergeben")
            continue
        unknown = set(spec.kinds) - set(FILE_KINDS)
        if unknown or not spec.kinds:
            problems.append(f"{where}: Dateiarten {sorted(unknown) or 'fehlen'} unbekannt")
            continue
        names.add(spec.name)
        found.append(_with_origin(spec, dist))
    return found, problems


def _with_origin(spec: FormatSpec, origin: str) -> FormatSpec:
    return replace(spec, origin=origin)


def load_registry() -> Registry:
    """Built-in formats first, then the plug-ins (sorted by entry point name)."""
    from engine.formats.builtin import BUILTIN_FORMATS

    builtin = {spec.name: spec for spec in BUILTIN_FORMATS}
    plugins, problems = _plugin_specs(builtin)
    return Registry({**builtin, **{spec.name: spec for spec in plugins}}, tuple(problems))


REGISTRY: Final = load_registry()

#: (name, German label) of every installed format: what config files store, forms show.
FORMAT_CHOICES: Final[tuple[tuple[str, str], ...]] = tuple(
    (spec.name, spec.label) for spec in REGISTRY.formats.values()
)


def installed_formats() -> dict[str, FormatSpec]:
    return dict(REGISTRY.formats)


def format_spec(name: str) -> FormatSpec:
    """The declaration of format `name`; KeyError (German) if it is not installed."""
    try:
        return REGISTRY.formats[name]
    except KeyError:
        known = ", ".join(REGISTRY.formats)
        raise KeyError(f"Format „{name}“ ist nicht installiert (installiert: {known})") from None


def format_factories() -> dict[str, FormatFactory]:
    """Format name → writer class, for every name in FORMAT_CHOICES (imports the writers)."""
    return {name: spec.factory() for name, spec in REGISTRY.formats.items()}


def format_label(name: str) -> str:
    """The German label of a format name (the name itself if unknown)."""
    spec = REGISTRY.formats.get(name)
    return spec.label if spec is not None else name


__all__ = [
    "ENTRY_POINT_GROUP",
    "FILE_KINDS",
    "FORMAT_CHOICES",
    "KIND_LABELS",
    "MASTER_DATA_KINDS",
    "FileInfo",
    "FileKind",
    "FormatFactory",
    "FormatOption",
    "FormatSpec",
    "FormatWriter",
    "Registry",
    "Report",
    "RowWriter",
    "Validator",
    "format_factories",
    "format_label",
    "format_spec",
    "installed_formats",
    "load_registry",
]
