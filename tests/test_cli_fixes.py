"""The README corrections of issue 16 that are behaviour: `--home` after the command,
`config show` with the Name and the protocol, the example configs saying what to change,
a closed pipe. Real `buchex` processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, run_cli

EXAMPLES = ROOT / "examples" / "configs.json"


def test_home_is_taken_after_the_command_too(demo_home: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"  # run_cli sets $BUCHEX_HOME to this one
    elsewhere.mkdir()
    imported = run_cli(elsewhere, "config", "import", str(EXAMPLES), "--home", str(demo_home))
    assert imported.returncode == 0, imported.stderr
    assert (demo_home / "buchex.json").exists() and not (elsewhere / "buchex.json").exists()
    for args in (("config", "list"), ("config", "show", "stb-schroeder"), ("ledger", "stats")):
        result = run_cli(elsewhere, *args, "--home", str(demo_home))
        assert result.returncode == 0, (args, result.stderr)
        assert "Schröder" in result.stdout or "Mandant" in result.stdout, args
    # Given before and after: the one after the command wins; before alone still works.
    both = run_cli(elsewhere, "--home", str(elsewhere), "config", "list", "--home", str(demo_home))
    assert "stb-schroeder" in both.stdout
    before = run_cli(elsewhere, "--home", str(demo_home), "config", "list")
    assert "stb-schroeder" in before.stdout


def test_config_show_prints_the_name_and_the_protocol(demo_home: Path) -> None:
    assert run_cli(demo_home, "config", "import", str(EXAMPLES)).returncode == 0
    ftp = run_cli(demo_home, "config", "show", "stb-schroeder").stdout
    assert ftp.splitlines()[0] == "Schnittstelle stb-schroeder: Steuerbüro Schröder (täglich)"
    lines = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
             for line in ftp.splitlines() if ":" in line and line.startswith("  ")}  # fmt: skip
    assert lines["Name"] == "Steuerbüro Schröder (täglich)"
    assert lines["SFTP verwenden"] == "nein (FTP)"
    sftp = run_cli(demo_home, "config", "show", "kiel-stuendlich").stdout
    assert "  SFTP verwenden:                   ja" in sftp


def test_example_configs_say_their_targets_must_be_changed() -> None:
    for raw in json.loads(EXAMPLES.read_text(encoding="utf-8")):
        if raw["target"]["host"] == "127.0.0.1":
            assert f"127.0.0.1:{raw['target']['port']}" in raw["kommentar"]
            assert "ändern" in raw["kommentar"]


def test_a_closed_pipe_is_no_internal_error(demo_home: Path, tmp_path: Path) -> None:
    many = [{**raw, "id": f"{raw['id']}-{n}"} for n in range(20)
            for raw in json.loads(EXAMPLES.read_text(encoding="utf-8"))]  # fmt: skip
    (tmp_path / "many.json").write_text(json.dumps(many), encoding="utf-8")
    assert run_cli(demo_home, "config", "import", str(tmp_path / "many.json")).returncode == 0
    read, write = os.pipe()
    os.close(read)  # `buchex config list --json | head -0`: nobody reads
    try:
        result = subprocess.run(
            [sys.executable, "-m", "engine", "--home", str(demo_home), "config", "list", "--json"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    finally:
        os.close(write)
    assert result.returncode == 1
    assert "Interner Fehler" not in result.stderr and "Traceback" not in result.stderr
    assert "Exception ignored" not in result.stderr, result.stderr
