"""A deleted `secret.key` (issue 16, item 7): never silently replaced while passwords
encrypted with it are stored; commands that need no secret keep working; the ones that do
say in German which file is missing and what to restore. Real `buchex` processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import run_cli

SECRET = "Kanzlei-Geheim-2026"


def raw(cfg_id: str = "stb", password: str | None = SECRET) -> dict[str, Any]:
    return {
        "id": cfg_id,
        "name": "Steuerbüro Schröder",
        "target": {"host": "127.0.0.1", "port": 1, "user": "kanzlei", "password": password},
        "clients": ["1"],
        "document_types": ["KR"],
        "format": "datev",
        "time": "06:30",
        "interval": {"kind": "weekly", "days": ["mon"]},
    }


def write(tmp_path: Path, data: Any, name: str = "c.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_deleted_key_is_not_replaced_and_named(demo_home: Path, tmp_path: Path) -> None:
    key = demo_home / "secret.key"
    assert not key.exists()  # a fresh data directory gets its key with the first password
    assert run_cli(demo_home, "config", "import", write(tmp_path, raw())).returncode == 0
    assert key.stat().st_mode & 0o777 == 0o600
    key.unlink()

    # Commands that need no secret keep working, and create no new key.
    for args in (
        ("config", "list"),
        ("config", "show", "stb"),
        ("config", "export", "stb"),
        ("runs",),
        ("schedule", "stb", "--count", "1"),
        ("settings", "show"),
        ("ledger", "stats"),
    ):
        result = run_cli(demo_home, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert not key.exists(), args
    shown = run_cli(demo_home, "config", "show", "stb")
    assert "Passwort:" in shown.stdout and "******** (gesetzt)" in shown.stdout

    # A config without a password can still be saved (nothing to encrypt) …
    assert run_cli(demo_home, "config", "import", write(tmp_path, raw("b", None))).returncode == 0
    # … one with a new password cannot: a new key would make the stored ones unreadable.
    before = (demo_home / "buchex.json").read_bytes()
    refused = run_cli(demo_home, "config", "import", write(tmp_path, raw("c"), "c.json"))
    assert refused.returncode == 1
    assert (demo_home / "buchex.json").read_bytes() == before
    for result in (
        refused,
        run_cli(demo_home, "test", "stb"),
        run_cli(demo_home, "run", "stb", "--force"),
    ):
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert f"Schlüsseldatei fehlt: {key}" in output, output
        assert "aus der Sicherung" in output and "Interner Fehler" not in output
        assert SECRET not in output
    assert not key.exists()
    # The failed run is in the history, with the step that failed.
    [run] = [r for r in json_runs(demo_home) if r["config_id"] == "stb"]
    # The sentence says what to do; the detail names the missing file.
    assert run["status"] == "failed" and "secret.key" in str(run["reason"])
    assert f"Schlüsseldatei fehlt: {key}" in str(run["detail"])


def test_restoring_the_key_brings_everything_back(demo_home: Path, tmp_path: Path) -> None:
    assert run_cli(demo_home, "config", "import", write(tmp_path, raw())).returncode == 0
    key = demo_home / "secret.key"
    backup = key.read_bytes()
    key.unlink()
    missing = run_cli(demo_home, "config", "export", "stb", "--with-secrets")
    assert missing.returncode == 1 and "Schlüsseldatei fehlt" in missing.stderr
    assert not key.exists()  # nothing was put in its place that the backup would clash with
    key.write_bytes(backup)
    key.chmod(0o600)
    exported = run_cli(demo_home, "config", "export", "stb", "--with-secrets")
    assert exported.returncode == 0 and json.loads(exported.stdout)["target"]["password"] == SECRET


def test_reset_key_forgets_passwords_for_a_fresh_start(demo_home: Path, tmp_path: Path) -> None:
    assert run_cli(demo_home, "config", "import", write(tmp_path, raw())).returncode == 0
    (demo_home / "secret.key").unlink()
    asked = run_cli(demo_home, "settings", "reset-key")
    assert asked.returncode == 2 and "--yes" in asked.stderr
    assert not (demo_home / "secret.key").exists()

    reset = run_cli(demo_home, "settings", "reset-key", "--yes")
    assert reset.returncode == 0, reset.stderr
    assert "1 gespeicherte Passwörter verworfen" in reset.stdout
    assert (demo_home / "secret.key").exists()
    exported = run_cli(demo_home, "config", "export", "stb", "--with-secrets")
    assert json.loads(exported.stdout)["target"]["password"] is None
    # New passwords can be stored again.
    assert run_cli(demo_home, "config", "import", write(tmp_path, raw())).returncode == 0
    again = run_cli(demo_home, "config", "export", "stb", "--with-secrets")
    assert json.loads(again.stdout)["target"]["password"] == SECRET


def json_runs(home: Path) -> list[dict[str, object]]:
    import json

    result = run_cli(home, "runs", "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]
