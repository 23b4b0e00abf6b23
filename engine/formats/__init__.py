"""Export formats: what a format is, and the registry of the installed ones.

A format is declared by a `FormatSpec`: its name (what config files store), its German
label (what forms show), which files it writes (`FileKind`s), its options and its
validator, and where its writer class lives. buchex declares its own formats in
`engine.formats.builtin`; any installed Python package can add more through the entry
point group `buchex.formats` (docs/formats.md), each entry point naming a `FormatSpec`:

    [project.entry-points."buchex.formats"]
    sage = "buchex_sage:FORMAT"

`FORMAT_CHOICES` (name, German label) is read when first looked into (`registry()`):
engine.config builds the choice of the "Format" fields from it, so the TUI, `config
validate` and the CLI list what is installed; a config naming a built-in format is
validated without reading the plug-ins (`is_installed`), so `buchex config list` never
scans the installed packages' entry points. A declaration is cheap to import (the writer
class is named by "module:attribute" and imported on first use).

`engine.export` does the selection, the file planning (one file per client, kind and
period, numbered parts) and the byte plumbing; a writer knows only its own format: how a
booking becomes a row (mending or refusing values), the file's head (header line,
headings), its file names and its master-data rows. What a period is, the format declares
(`FormatSpec.file_periods`, e.g. DATEV's fiscal and calendar year in
`engine.formats.periods`); the exporter groups by it without knowing what it means.

The writer modules import nothing from this package at run time (only for type checking),
so importing a writer directly and importing the registry both work without cycles.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, overload

from engine.formats.spec import _NAME
from engine.formats.spec import (
    ENTRY_POINT_GROUP as ENTRY_POINT_GROUP,
)
from engine.formats.spec import (
    FILE_KINDS as FILE_KINDS,
)
from engine.formats.spec import (
    KIND_LABELS as KIND_LABELS,
)
from engine.formats.spec import (
    MASTER_DATA_KINDS as MASTER_DATA_KINDS,
)
from engine.formats.spec import (
    FileInfo as FileInfo,
)
from engine.formats.spec import (
    FileKind as FileKind,
)
from engine.formats.spec import (
    FilePeriods as FilePeriods,
)
from engine.formats.spec import (
    FormatFactory as FormatFactory,
)
from engine.formats.spec import (
    FormatOption as FormatOption,
)
from engine.formats.spec import (
    FormatSpec as FormatSpec,
)
from engine.formats.spec import (
    FormatWriter as FormatWriter,
)
from engine.formats.spec import (
    PeriodOf as PeriodOf,
)
from engine.formats.spec import (
    Report as Report,
)
from engine.formats.spec import (
    RowWriter as RowWriter,
)
from engine.formats.spec import (
    Validator as Validator,
)

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


@functools.cache
def registry() -> Registry:
    """The installed formats, read on first use: finding the plug-ins means importing
    importlib.metadata and reading every installed package's entry points (~20 ms), which
    a process that only lists or runs built-in formats (`buchex config list`) never needs."""
    return load_registry()


def __getattr__(name: str) -> Any:
    """`REGISTRY`: the registry (module attribute for callers that read it directly)."""
    if name == "REGISTRY":
        return registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _FormatChoices(Sequence[tuple[str, str]]):
    """(name, German label) of every installed format: what config files store, forms
    show. Reads the registry when first looked into (`registry`)."""

    def _items(self) -> tuple[tuple[str, str], ...]:
        return tuple((spec.name, spec.label) for spec in registry().formats.values())

    @overload
    def __getitem__(self, index: int) -> tuple[str, str]: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[tuple[str, str], ...]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self._items()[index]

    def __len__(self) -> int:
        return len(self._items())

    def __eq__(self, other: object) -> bool:
        return self._items() == (tuple(other) if isinstance(other, Sequence) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._items())


FORMAT_CHOICES: Final = _FormatChoices()


def is_installed(name: str) -> bool:
    """Whether format `name` is installed; a built-in name is known without reading the
    plug-ins."""
    from engine.formats.builtin import BUILTIN_FORMATS

    return any(spec.name == name for spec in BUILTIN_FORMATS) or name in registry().formats


def installed_formats() -> dict[str, FormatSpec]:
    return dict(registry().formats)


def format_spec(name: str) -> FormatSpec:
    """The declaration of format `name`; KeyError (German) if it is not installed."""
    try:
        return registry().formats[name]
    except KeyError:
        known = ", ".join(registry().formats)
        raise KeyError(f"Format „{name}“ ist nicht installiert (installiert: {known})") from None


def format_factories() -> dict[str, FormatFactory]:
    """Format name → writer class, for every name in FORMAT_CHOICES (imports the writers)."""
    return {name: spec.factory() for name, spec in registry().formats.items()}


def format_label(name: str) -> str:
    """The German label of a format name (the name itself if unknown)."""
    spec = registry().formats.get(name)
    return spec.label if spec is not None else name


__all__ = [
    "ENTRY_POINT_GROUP",
    "FILE_KINDS",
    "FORMAT_CHOICES",
    "KIND_LABELS",
    "MASTER_DATA_KINDS",
    "FileInfo",
    "FileKind",
    "FilePeriods",
    "FormatFactory",
    "FormatOption",
    "FormatSpec",
    "FormatWriter",
    "PeriodOf",
    "Registry",
    "Report",
    "RowWriter",
    "Validator",
    "format_factories",
    "format_label",
    "format_spec",
    "installed_formats",
    "is_installed",
    "load_registry",
    "registry",
]
