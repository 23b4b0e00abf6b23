"""Format plug-ins: a tiny package registers a format through the entry point group
`buchex.formats` (docs/formats.md), and buchex lists and uses it.

The package is real: a module and a `*.dist-info` directory with `entry_points.txt` on the
child processes' PYTHONPATH, found by importlib.metadata exactly like one installed by pip
(no monkeypatching of the registry). Everything runs in child processes because the
registry is read once per process, when engine.formats is first imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, VALID
from tests.test_export import build_small_ledger

PLUGIN_INIT = '''
"""A test format for buchex: one line per booking, journal number and amount."""
from engine.formats import FormatOption, FormatSpec

FORMAT = FormatSpec(
    name="zeilen",
    label="Zeilenformat (Test-Erweiterung)",
    writer="buchex_zeilen.writer:ZeilenFormat",
    kinds=frozenset({"bookings", "incoming"}),
    options=(FormatOption("trenner", "Trennzeichen", (("|", "senkrechter Strich"),), "|"),),
    validator="buchex_zeilen.writer:validate",
    description="Test",
)
BROKEN = 42  # not a FormatSpec
'''

PLUGIN_WRITER = """
from pathlib import Path


class _Rows:
    def __init__(self, fh, sep):
        self.fh, self.sep = fh, sep

    def writerow(self, row):
        self.fh.write(self.sep.join(str(v) for v in row) + "\\n")


class ZeilenFormat:
    encoding = "utf-8"
    max_rows = None
    split_by_year = False

    def __init__(self, *, client, mandant, now, options, **kwargs):
        self.mandant, self.now, self.sep = mandant, now, options["trenner"]

    def row_writer(self, fh):
        return _Rows(fh, self.sep)

    def booking_row(self, booking, report):
        return [booking.journal_no, booking.amount_cents, booking.debit_credit]

    def partner_rows(self, kind, partners, first_use, report):
        raise AssertionError("kinds says: no master data")

    def file_name(self, info):
        return f"zeilen_{info.kind}_{self.mandant}_{self.now:%Y%m%d%H%M%S}.txt"

    def file_head(self, info):
        return b"journal|cents|sh\\n"


def validate(path):
    lines = Path(path).read_text().splitlines()
    return [] if lines[0] == "journal|cents|sh" else ["Kopf fehlt"]
"""

ENTRY_POINTS = """\
[buchex.formats]
zeilen = buchex_zeilen:FORMAT
kaputt = buchex_zeilen:BROKEN
"""


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    """A directory holding the plug-in package as pip would install it."""
    site = tmp_path / "site"
    package = site / "buchex_zeilen"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN_INIT))
    (package / "writer.py").write_text(textwrap.dedent(PLUGIN_WRITER))
    dist = site / "buchex_zeilen-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: buchex-zeilen\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    (dist / "top_level.txt").write_text("buchex_zeilen\n")
    return site


def buchex(home: Path, plugin: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BUCHEX_HOME": str(home)}
    env.pop("BUCHEX_SECRET_KEY", None)
    if plugin is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def python(plugin: Path | None, code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if plugin is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
        timeout=120,
    )  # fmt: skip


def test_the_entry_point_adds_the_format_to_the_choices(plugin_path: Path) -> None:
    code = (
        "import json\n"
        "from engine.formats import FORMAT_CHOICES, REGISTRY\n"
        "from engine.config import FIELDS_BY_PATH\n"
        "print(json.dumps({'choices': list(FORMAT_CHOICES),\n"
        "  'field': list(FIELDS_BY_PATH['format'].choices),\n"
        "  'incoming': list(FIELDS_BY_PATH['incoming_format'].choices),\n"
        "  'origin': REGISTRY.formats['zeilen'].origin if 'zeilen' in REGISTRY.formats else '',\n"
        "  'problems': REGISTRY.problems}))\n"
    )
    without = python(None, code)
    assert without.returncode == 0, without.stderr
    assert "zeilen" not in without.stdout
    found = python(plugin_path, code)
    assert found.returncode == 0, found.stderr
    data = json.loads(found.stdout)
    plugged = ["zeilen", "Zeilenformat (Test-Erweiterung)"]
    assert data["choices"][-1] == plugged
    assert data["field"][-1] == plugged and data["incoming"][-1] == plugged
    assert data["origin"] == "buchex-zeilen"
    # A broken entry point is reported, and does not take the others down.
    assert len(data["problems"]) == 1
    assert (
        "kaputt" in data["problems"][0] and "keine engine.formats.FormatSpec" in data["problems"][0]
    )


def test_config_validate_and_an_export_use_the_plugin(plugin_path: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    build_small_ledger(home / "ledger.sqlite")
    raw = {
        **VALID,
        "id": "plug",
        "format": "zeilen",
        "incoming_format": "zeilen",
        "export_debtors": False,
    }
    cfg_file = tmp_path / "plug.json"
    cfg_file.write_text(json.dumps(raw))

    # Without the package the format is unknown, and the message lists what is installed.
    missing = buchex(home, None, "config", "validate", str(cfg_file))
    assert missing.returncode == 2
    assert "Format: muss eines von datev, csv, csv-rfc4180, lexware sein" in missing.stderr

    ok = buchex(home, plugin_path, "config", "validate", str(cfg_file))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong = dict(raw, format="unbekannt")
    cfg_file.write_text(json.dumps(wrong))
    bad = buchex(home, plugin_path, "config", "validate", str(cfg_file))
    assert bad.returncode == 2
    assert "muss eines von datev, csv, csv-rfc4180, lexware, zeilen sein" in bad.stderr

    cfg_file.write_text(json.dumps(raw))
    imported = buchex(home, plugin_path, "config", "import", str(cfg_file))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    out = tmp_path / "out"
    exported = buchex(home, plugin_path, "export", "plug", "--out", str(out))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    files = sorted(p.name for p in out.iterdir())
    assert [name.rsplit("_", 1)[0] for name in files] == [
        "zeilen_bookings_10020",
        "zeilen_bookings_55003",
        "zeilen_incoming_55003",
    ]
    lines = (out / files[1]).read_text().splitlines()
    assert lines[0] == "journal|cents|sh"
    # KR and GS of client 1 (VALID's document types), in journal order
    assert lines[1:] == ["1|11900|S", "3|5000|H", "4|39900|S", "5|8900|S"]
    written = str(out / files[1])
    check = python(
        plugin_path,
        "from pathlib import Path\nfrom engine.formats import format_spec\n"
        f"print(format_spec('zeilen').validate(Path({written!r})))",
    )
    assert check.stdout.strip() == "[]", check.stderr
