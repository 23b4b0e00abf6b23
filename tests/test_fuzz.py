"""Fuzzing config files and ledger rows (issue 16): whatever a hostile user or a broken
database supplies, buchex answers with exit 2 naming the field by its German label (config
files) or with a refusal naming the journal number (ledger rows), never "Interner Fehler",
always in bounded output, and stores nothing.

The bulk runs in-process through `engine.cli.main` (the same code as the command, fast
enough for hundreds of examples); a sample goes through the real entry point in a child
process. Hypothesis shrinks a failure to a small file, printed with the failure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import re
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import main
from engine.config import FIELDS, GROUP_LABELS, OWNER_LABEL
from engine.errors import LedgerError
from engine.export import ExportError, export
from engine.ledger import CONTRACT, Ledger
from engine.ledger_demo import generate
from tests.conftest import run_cli
from tests.test_export import (
    BRANCHES,
    CLIENTS,
    DOCUMENT_TYPES,
    NOW,
    PARTNERS,
    PAYMENT_METHODS,
    config,
)

# --------------------------------------------------------------------------- config files

BASE: dict[str, Any] = {
    "id": "fuzz",
    "name": "Steuerbüro Schröder",
    "target": {"protocol": "ftp", "host": "ftp.example.org", "port": 21, "user": "kanzlei",
               "password": "Geheim-1", "directory": "export"},
    "clients": ["1"],
    "document_types": ["KR"],
    "format": "datev",
    "time": "06:30",
    "interval": {"kind": "weekly", "days": ["mon"]},
    "email": "buchhaltung@example.org",
}  # fmt: skip

#: Every label a problem line may start with: the fields' German labels and the labels of
#: the file, the config and its groups; never a bare JSON key.
LABELS = {f.label for f in FIELDS} | set(GROUP_LABELS.values()) | {OWNER_LABEL, "ID"}
MAX_OUTPUT = 20_000

_SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udc80b"])
_ODD_TEXT = st.sampled_from(
    ["", " ", "²", "٢١", "٠٧:٠٠", "07:00", "enc:v1:xyz", "enc:", "None", "null", "\x00",
     "1e400", "9" * 5000, "a" * 300, "ａｂｃ", "🙂", "-1", "0", "65536", "Infinity"]
)  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    _ODD_TEXT,
    _SURROGATES,
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_PATHS = st.sampled_from(
    [f.path for f in FIELDS] + ["id", "interval", "target", "target.extra", "unbekannt", "\ud800"]
)


def _set(raw: dict[str, Any], path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if rest:
        nested = raw.get(head)
        if not isinstance(nested, dict):
            nested = raw[head] = {}
        nested[rest] = value
    else:
        raw[head] = value


@st.composite
def config_documents(draw: st.DrawFn) -> Any:
    """A config file's JSON: the valid base with 1–3 fields set to anything, or something
    else entirely (a list, deep nesting, a bare value)."""
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "list", "deep", "bare"]))
    if kind == "bare":
        return draw(_VALUES)
    if kind == "deep":
        depth = draw(st.integers(min_value=17, max_value=3000))
        return json.loads("[" * depth + "]" * depth) if depth < 900 else "[" * depth
    raw = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        _set(raw, draw(_PATHS), draw(_VALUES))
    return [raw, draw(_VALUES)] if kind == "list" else raw


def _file_text(document: Any) -> str:
    if isinstance(document, str) and document.startswith("["):
        return document  # deep nesting as raw text: Python's json could not even write it
    # ensure_ascii: lone surrogates become \\ud800 escapes, as another tool would write them
    return json.dumps(document, ensure_ascii=True, allow_nan=True)


def _in_process(home: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--home", str(home), *args])
    return code, out.getvalue(), err.getvalue()


def _check_problem_lines(stderr: str) -> None:
    """Every line names a German label (or the file), never a bare JSON key."""
    for line in stderr.splitlines():
        if line.startswith(("… und ", "Datei")):
            continue
        head, _, rest = line.partition(": ")
        if head.startswith("Schnittstelle ") and head.removeprefix("Schnittstelle ").isdigit():
            line = rest  # "Schnittstelle 2: Port: …"
        assert any(line.startswith(f"{label}: ") for label in LABELS), line


@pytest.fixture(scope="module")
def fuzz_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("fuzz-home")
    generate(home / "ledger.sqlite", months=1, per_day=2, seed=3)
    code, _, err = _in_process(home, "config", "import", str(_write(home, BASE, "base.json")))
    assert code == 0, err
    return home


def _write(home: Path, document: Any, name: str = "fuzz.json") -> Path:
    path = home.parent / f"{home.name}-{name}"
    path.write_text(_file_text(document), encoding="utf-8")
    return path


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=config_documents())
def test_config_files_in_process(fuzz_home: Path, document: Any) -> None:
    store = fuzz_home / "buchex.json"
    before = store.read_bytes()
    path = _write(fuzz_home, document)
    code, out, err = _in_process(fuzz_home, "config", "validate", str(path))
    assert code in (0, 2), (code, err)
    assert "Interner Fehler" not in out + err and "Traceback" not in err
    assert len(out) + len(err) < MAX_OUTPUT
    assert store.read_bytes() == before  # validate stores nothing

    imported, out, err = _in_process(fuzz_home, "config", "import", str(path))
    assert imported == code, (imported, code, err)
    assert "Interner Fehler" not in out + err
    assert len(out) + len(err) < MAX_OUTPUT
    if code == 2:
        assert err.strip(), "a refusal says why"
        _check_problem_lines(err)
        assert store.read_bytes() == before  # nothing stored
    else:  # accepted: it must read back and show
        shown, out, err = _in_process(fuzz_home, "config", "show", "fuzz")
        assert shown == 0, err
        store.write_bytes(before)


#: The malformed files of issue 16 that gave "Interner Fehler" or were accepted.
ISSUE_CASES: list[tuple[str, Any, str]] = [
    ("port_superscript", {"target": {"port": "²"}}, "Port: "),
    ("port_5000_digits", {"target": {"port": "9" * 5000}}, "Port: "),
    ("port_arabic", {"target": {"port": "٢١"}}, "Port: "),
    ("password_enc", {"target": {"password": "enc:abc"}}, "Passwort: "),
    ("surrogate_name", {"name": "\ud800"}, "Name: "),
    ("interval_null", {"interval": None}, "Intervall: Pflichtfeld"),
    ("interval_empty", {"interval": {}}, "Intervall: Pflichtfeld"),
    ("interval_not_object", {"interval": "daily"}, "Intervall: muss ein Objekt sein"),
    ("target_not_object", {"target": 7}, "FTP: muss ein Objekt sein"),
    ("time_arabic", {"time": "٠٧:٠٠"}, "Ausführungszeit: "),
]


@pytest.mark.parametrize(
    ("case", "change", "expected"), ISSUE_CASES, ids=[c[0] for c in ISSUE_CASES]
)
def test_issue_cases_through_the_real_command(
    demo_home: Path, tmp_path: Path, case: str, change: dict[str, Any], expected: str
) -> None:
    raw = json.loads(json.dumps(BASE))
    for key, value in change.items():
        if isinstance(value, dict) and value and isinstance(raw.get(key), dict):
            raw[key].update(value)
        else:
            raw[key] = value
    path = tmp_path / "c.json"
    path.write_text(json.dumps(raw, ensure_ascii=True), encoding="utf-8")
    for command in ("validate", "import"):
        result = run_cli(demo_home, "config", command, str(path))
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert expected in result.stderr, result.stderr
        assert "Interner Fehler" not in result.stderr and len(result.stderr) < 2000
    assert not (demo_home / "buchex.json").exists()


UNREADABLE = [
    ("deep_1000", "[" * 1000 + "]" * 1000, "zu tief verschachtelt"),
    ("deep_100000", "[" * 100_000, "zu tief verschachtelt"),
    ("number_5000_digits", '{"target": {"port": ' + "9" * 5000 + "}}", "zu vielen Ziffern"),
    ("not_utf8", "\udcff", "keine UTF-8-Textdatei"),
]


@pytest.mark.parametrize(("case", "text", "expected"), UNREADABLE, ids=[c[0] for c in UNREADABLE])
def test_unreadable_files_through_the_real_command(
    demo_home: Path, tmp_path: Path, case: str, text: str, expected: str
) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    result = run_cli(demo_home, "config", "import", str(path))
    assert result.returncode == 2 and expected in result.stderr, result.stderr
    assert result.stderr.startswith(f"Datei {path}: ") and len(result.stderr) < 500


def test_a_10_mb_file_gives_bounded_output(demo_home: Path, tmp_path: Path) -> None:
    bad = {**BASE, "name": "x" * 2000, "time": "25:00", "unbekannt": 1}
    documents = [{**bad, "id": f"c{i}"} for i in range(3500)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(documents), encoding="utf-8")
    assert path.stat().st_size > 7_000_000
    result = run_cli(demo_home, "config", "import", str(path))
    assert result.returncode == 2
    assert len(result.stderr) < 20_000 and "weitere Probleme" in result.stderr
    assert "Interner Fehler" not in result.stderr
    assert not (demo_home / "buchex.json").exists()

    path.write_text(json.dumps({**BASE, "name": "n" * 10_000_000}), encoding="utf-8")
    result = run_cli(demo_home, "config", "import", str(path))
    assert result.returncode == 2 and len(result.stderr) < 1000, result.stderr[:500]
    assert "Name: höchstens 80 Zeichen" in result.stderr


@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=config_documents())
def test_a_sample_through_the_real_command(demo_home: Path, document: Any) -> None:
    path = demo_home.parent / "sample.json"
    path.write_text(_file_text(document), encoding="utf-8")
    store = demo_home / "buchex.json"
    before = store.read_bytes() if store.exists() else None
    result = run_cli(demo_home, "config", "import", str(path))
    assert result.returncode in (0, 2), result.stderr
    assert "Interner Fehler" not in result.stderr and "Traceback" not in result.stderr
    assert len(result.stdout) + len(result.stderr) < MAX_OUTPUT
    if result.returncode == 2:
        _check_problem_lines(result.stderr)
        assert (store.read_bytes() if store.exists() else None) == before
    elif before is None:
        store.unlink()
    else:
        store.write_bytes(before)


#: Values for fields that do not apply (BASE is FTP, weekly, no Eingangsbuchungsexport):
#: refused by `config import` and `config validate`, naming the field, what it depends on.
INAPPLICABLE: list[tuple[str, Any, str]] = [
    ("target.key_file", "/etc/id_ed25519", "Schlüsseldatei: nur bei SFTP möglich (Feld „target"),
    ("target.tls_fingerprint", "ab" * 32, "Zertifikat-Fingerabdruck: nur bei FTPS (explizites"),
    ("incoming_format", "csv", "Format (Eingangsbuchungen): nur möglich, wenn „Eingangsbuch"),
    ("interval.day", 3, "Tag des Monats: nur bei Tag des Monats möglich (Feld „interval.day“"),
    ("interval.every_minutes", 15, "alle x Minuten: nur bei Stündlich möglich (Feld „interval"),
]


@pytest.mark.parametrize(
    ("path", "value", "expected"), INAPPLICABLE, ids=[c[0] for c in INAPPLICABLE]
)
def test_values_that_do_not_apply_are_refused_on_import(
    demo_home: Path, path: str, value: Any, expected: str
) -> None:
    raw = json.loads(json.dumps(BASE))
    _set(raw, path, value)
    file = _write(demo_home, raw)
    for command in ("validate", "import"):
        code, _, err = _in_process(demo_home, "config", command, str(file))
        assert code == 2 and err.startswith(expected), (command, err)
        assert err.rstrip().endswith("leer lassen oder weglassen"), err
        _check_problem_lines(err)
    assert not (demo_home / "buchex.json").exists()
    _set(raw, path, None)  # null: what `config export` writes for such a field
    code, _, err = _in_process(demo_home, "config", "import", str(_write(demo_home, raw)))
    assert code == 0, err


def test_exported_configs_import_again_unchanged(demo_home: Path) -> None:
    """Every interval kind, every protocol: `config export --all` imports again (strictly)
    and exports the same."""
    sftp = {"protocol": "sftp", "key_file": "/etc/id_ed25519", "port": 2222}
    ftps = {"protocol": "ftps", "tls_fingerprint": "ab" * 32}
    docs = [
        {**BASE, "id": "w"},
        {**BASE, "id": "h", "time": None, "interval": {"kind": "hourly", "every_minutes": 15}},
        {**BASE, "id": "d", "interval": {"kind": "daily"}, "target": {**BASE["target"], **sftp}},
        {**BASE, "id": "m", "interval": {"kind": "monthly", "day": 31},
         "target": {**BASE["target"], **ftps}, "incoming_export": True, "incoming_format": "csv"},
    ]  # fmt: skip
    code, _, err = _in_process(demo_home, "config", "import", str(_write(demo_home, docs)))
    assert code == 0, err
    code, first, err = _in_process(demo_home, "config", "export", "--all")
    assert code == 0, err
    exported = json.loads(first)
    assert {d["id"]: d["time"] for d in exported}["h"] is None  # written, as null
    code, _, err = _in_process(
        demo_home, "config", "import", str(_write(demo_home, exported, "again.json"))
    )
    assert code == 0, err
    code, second, err = _in_process(demo_home, "config", "export", "--all")
    assert code == 0 and second == first, err


# --------------------------------------------------------------------------- ledger rows

COLUMNS = CONTRACT["bookings"]
REQUIRED = COLUMNS[:10]


def _clean(journal_no: int) -> list[Any]:
    return [journal_no, 1, 10, "KR", f"RE-{journal_no}", "2025-03-03", 1000 + journal_no, "S",
            "1000", "8400", None, f"Buchung {journal_no}", None, None, None]  # fmt: skip


_BAD_VALUES = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(max_size=20).filter(lambda t: "None" not in t),
    st.sampled_from(["2025-02-30", "21.11.2026", "2025-13-01", "12,34", "", "  ", "0.285"]),
)


@st.composite
def ledger_rows(draw: st.DrawFn) -> list[list[Any]]:
    count = draw(st.integers(min_value=1, max_value=12))
    rows = [_clean(n) for n in range(1, count + 1)]
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        target = draw(st.sampled_from(rows))
        column = draw(st.sampled_from(range(1, len(COLUMNS))))
        target[column] = draw(_BAD_VALUES)
    if draw(st.booleans()):  # a duplicate journal number
        rows.append(list(draw(st.sampled_from(rows))))
    return rows


def _known_bad(row: list[Any]) -> bool:
    """Rows every export must refuse: a NULL in a required column, a date that is none, an
    amount that is no whole number of cents (written from SPEC §5, not from the reader)."""
    if any(value is None for value in row[1:10]):
        return True
    day, cents = row[5], row[6]
    if not isinstance(day, str):
        return True
    text = day.strip()
    if not re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T]|$)", text):
        return True
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return True
    if isinstance(cents, float):
        return not math.isfinite(cents) or abs(cents - round(cents)) > 0.001
    if isinstance(cents, str):
        if not re.fullmatch(r"[+-]?[0-9]{1,19}(\.[0-9]{1,12})?", cents.strip()):
            return True
        exact = Decimal(cents.strip())
        return abs(exact - exact.to_integral_value()) > Decimal("0.001")
    return False


@contextlib.contextmanager
def _own_ledger(path: Path, rows: list[list[Any]]) -> Iterator[Ledger]:
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    with conn:
        for table, columns in CONTRACT.items():
            conn.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
        conn.executemany("INSERT INTO clients VALUES (?, ?, ?, ?, ?, ?, ?, ?)", CLIENTS)
        conn.executemany("INSERT INTO branches VALUES (?, ?, ?, ?)", BRANCHES)
        conn.executemany("INSERT INTO document_types VALUES (?, ?, ?)", DOCUMENT_TYPES)
        conn.executemany("INSERT INTO payment_methods VALUES (?, ?)", PAYMENT_METHODS)
        conn.executemany("INSERT INTO partners VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", PARTNERS)
        marks = ", ".join("?" for _ in COLUMNS)
        conn.executemany(f"INSERT INTO bookings VALUES ({marks})", rows)
    conn.close()
    with Ledger(f"sqlite:///{path}") as ledger:
        yield ledger


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ledger_rows(), fmt=st.sampled_from(["datev", "csv"]))
def test_ledger_rows(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[Any]], fmt: str
) -> None:
    base = tmp_path_factory.mktemp("rows")
    cfg = config(clients=("1",), format=fmt, incoming_format=fmt, export_debtors=False)
    with _own_ledger(base / "own.sqlite", rows) as ledger:
        try:
            result = export(cfg, ledger, {}, base / "out", now=NOW)
        except ExportError as exc:
            text = str(exc)
            assert "Journalnummer" in text and len(text) < MAX_OUTPUT
            assert exc.journal_nos, text
            assert not list((base / "out").iterdir())  # nothing written
            numbers = [r[0] for r in rows]
            for row in rows:
                if row[1] == 1 and row[3] in ("KR", "GS", "BV", "ER") and _known_bad(row):
                    assert row[0] in exc.journal_nos, (row, text)
            for number in set(numbers):
                same = [r for r in rows if r[0] == number and r[1] == 1]
                if len(same) > 1 and all(r[3] in ("KR", "GS", "BV", "ER") for r in same):
                    assert number in exc.journal_nos, (number, text)
            return
        except LedgerError as exc:  # e.g. a client id that is no id: a German sentence
            assert len(str(exc)) < MAX_OUTPUT and "Error" not in str(exc)
            return
    for row in rows:
        if row[1] == 1 and row[3] in ("KR", "GS", "BV", "ER"):
            assert not _known_bad(row), row  # a bad row went out silently
    for f in result.files:
        assert "None" not in f.path.read_bytes().decode("utf-8", "replace"), f.name
