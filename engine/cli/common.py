"""Shared CLI plumbing: exit codes, German argparse, secret input, field-derived options."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Mapping, Sequence
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


#: Problems printed one by one; the rest are counted (a 10 MB file of bad configs must not
#: become 100 MB of messages).
MAX_PROBLEMS = 50
MAX_LINE = 300


def print_problems(problems: Sequence[Problem]) -> None:
    for p in problems[:MAX_PROBLEMS]:
        line = str(p)
        err(line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…")
    if len(problems) > MAX_PROBLEMS:
        err(f"… und {len(problems) - MAX_PROBLEMS} weitere Probleme")


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


#: Config files larger than this are refused before parsing (1000 configs are ~1 MB).
MAX_JSON_BYTES = 16 * 1024 * 1024
#: A config file is an array of objects with objects inside: 4 levels; anything much
#: deeper is no config, and Python's recursion would give up at about 1000.
MAX_JSON_DEPTH = 16


def read_json_file(path: str) -> Any:
    """JSON from FILE or `-` (stdin); a bad file is invalid input naming the file."""
    shown = "stdin" if path == "-" else path

    def bad(message: str) -> ValidationError:
        return ValidationError([Problem("file", f"Datei {shown}", message)])

    try:
        if path == "-":
            stdin = getattr(sys.stdin, "buffer", None)
            data = (
                stdin.read(MAX_JSON_BYTES + 1)
                if stdin is not None
                else sys.stdin.read(MAX_JSON_BYTES + 1).encode("utf-8", "surrogatepass")
            )
        else:
            with open(path, "rb") as fh:
                data = fh.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise bad(f"kann nicht gelesen werden ({exc.strerror})") from None
    if len(data) > MAX_JSON_BYTES:
        raise bad(f"zu groß (mehr als {MAX_JSON_BYTES // (1024 * 1024)} MB)") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise bad("ist keine UTF-8-Textdatei") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad(f"kein gültiges JSON (Zeile {exc.lineno}, Spalte {exc.colno})") from None
    except RecursionError:
        raise bad(f"zu tief verschachtelt (mehr als {MAX_JSON_DEPTH} Ebenen)") from None
    except ValueError:  # a number with more digits than Python converts (4300)
        raise bad("enthält eine Zahl mit zu vielen Ziffern") from None
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise bad(f"zu tief verschachtelt (mehr als {MAX_JSON_DEPTH} Ebenen)")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether `value` nests lists/objects deeper than `limit` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


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
