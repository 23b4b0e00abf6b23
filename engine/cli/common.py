"""Shared CLI plumbing: exit codes, German argparse, secret input, field-derived options."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.fields import FieldSpec, Problem, ValidationError

EXIT_OK = 0
EXIT_FAILED = 1  # a run or test failed, or an operational error
EXIT_INVALID = 2  # invalid input or usage
EXIT_LOCKED = 3  # data directory locked by another daemon

# argparse looks its messages up through a module-level `_` at call time; a small table
# gives admins German usage errors without shipping .mo files.
_GERMAN = {
    "usage: ": "Aufruf: ",
    "positional arguments": "Argumente",
    "options": "Optionen",
    "show this help message and exit": "diese Hilfe zeigen und beenden",
    "the following arguments are required: %s": "diese Angaben fehlen: %s",
    "unrecognized arguments: %s": "unbekannte Angaben: %s",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "ungültige Auswahl: %(value)r (möglich: %(choices)s)"
    ),
    "expected one argument": "erwartet einen Wert",
    "invalid %(type)s value: %(value)r": "ungültiger Wert: %(value)r",
    "argument %(argument_name)s: %(message)s": "%(argument_name)s: %(message)s",
    "%(prog)s: error: %(message)s\n": "%(prog)s: Fehler: %(message)s\n",
    "not allowed with argument %s": "nicht zusammen mit %s möglich",
}


def _de(message: str) -> str:
    return _GERMAN.get(message, message)


argparse._ = _de  # type: ignore[attr-defined]


def out(text: str = "") -> None:
    print(text)


def err(text: str) -> None:
    print(text, file=sys.stderr)


def print_problems(problems: Sequence[Problem]) -> None:
    for p in problems:
        err(str(p))


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def read_json_file(path: str) -> Any:
    """JSON from FILE or `-` (stdin); a bad file is invalid input naming the file."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(
            [Problem("file", path, f"kann nicht gelesen werden ({exc.strerror})")]
        ) from None
    except UnicodeDecodeError:
        raise ValidationError([Problem("file", path, "ist keine UTF-8-Textdatei")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            [Problem("file", path, f"kein gültiges JSON (Zeile {exc.lineno}, Spalte {exc.colno})")]
        ) from None


def read_secret(prompt: str, *, confirm: bool = False) -> str | None:
    """Prompted on a terminal (not echoed), else one line from stdin; None if nothing given.
    Secrets are never command-line flags: those end up in shell history and `ps`."""
    if sys.stdin is None:
        return None
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if confirm and first and getpass.getpass("Wiederholen: ") != first:
            raise ValidationError(
                [Problem("password", "Passwort", "Eingaben stimmen nicht überein")]
            )
        return first or None
    line = sys.stdin.readline()
    return line.rstrip("\r\n") or None


def option_name(fs: FieldSpec) -> str:
    return "--" + fs.path.split(".")[-1].replace("_", "-")


def add_field_options(parser: argparse.ArgumentParser, specs: Sequence[FieldSpec]) -> None:
    """One option per declared field (secrets excepted), help text = German label."""
    for fs in specs:
        if fs.kind == "secret":
            continue
        kwargs: dict[str, Any] = {"dest": fs.path.replace(".", "__"), "default": None}
        if fs.choices:
            kwargs["choices"] = [v for v, _ in fs.choices]
        hint = f" ({fs.help})" if fs.help else ""
        if fs.kind == "bool":
            kwargs["metavar"] = "ja|nein"
        parser.add_argument(option_name(fs), help=f"{fs.label}{hint}", **kwargs)


def given_field_values(args: argparse.Namespace, specs: Sequence[FieldSpec]) -> dict[str, Any]:
    """The options the user actually gave, as a nested raw dict for parse_values."""
    raw: dict[str, Any] = {}
    for fs in specs:
        value = getattr(args, fs.path.replace(".", "__"), None)
        if value is None:
            continue
        cur = raw
        *parents, leaf = fs.path.split(".")
        for part in parents:
            cur = cur.setdefault(part, {})
        cur[leaf] = value
    return raw


def merged(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)
