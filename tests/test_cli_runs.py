"""`buchex run / test / runs / schedule / export` as real commands against real servers."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import run_cli
from tests.servers import FTPServer, paramiko_sftp_server


def import_config(home: Path, tmp_path: Path, raw: dict[str, Any]) -> None:
    path = tmp_path / f"{raw['id']}.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    result = run_cli(home, "config", "import", str(path))
    assert result.returncode == 0, result.stderr


def ftp_config(ftp: FTPServer, **changes: Any) -> dict[str, Any]:
    target = {"host": ftp.host, "port": ftp.port, "user": ftp.user, "password": ftp.password}
    return base_config(target, **changes)


def base_config(target: dict[str, Any], **changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "stb",
        "name": "Steuerbüro",
        "target": target,
        "clients": ["1"],
        "document_types": ["KR", "GS"],
        "format": "datev",
        "time": "06:30",
        "interval": {"kind": "weekly", "days": ["mon", "wed"]},
    }
    raw.update(changes)
    return raw


def rows(table: str) -> int:
    """Sum of the Zeilen column of `buchex export`'s file table."""
    lines = [line.split() for line in table.splitlines() if line.startswith("EXTF_")]
    return sum(int(cols[1].replace(".", "")) for cols in lines)


def test_run_then_runs_lists_it(demo_home: Path, tmp_path: Path, ftp: FTPServer) -> None:
    import_config(demo_home, tmp_path, ftp_config(ftp))
    result = run_cli(demo_home, "run", "stb", "--force")
    assert result.returncode == 0, result.stderr
    assert "erfolgreich" in result.stdout and "übertragen:" in result.stdout
    assert list(ftp.root.glob("Automatischer_Buchhaltungsexport_*/EXTF_*.csv"))

    again = run_cli(demo_home, "run", "stb", "--force")
    assert again.returncode == 0 and "nichts zu exportieren" in again.stdout

    listing = run_cli(demo_home, "runs", "--config", "stb")
    assert "erfolgreich" in listing.stdout and "nichts zu exportieren" in listing.stdout
    runs = [json.loads(line) for line in run_cli(demo_home, "runs", "--json").stdout.splitlines()]
    assert [r["status"] for r in runs] == ["nothing", "ok"]
    assert runs[1]["files"][0]["sha256"]
    assert run_cli(demo_home, "runs", "--failed").stdout.strip() == "Keine Läufe."


def test_failed_run_exits_1_and_names_the_step(
    demo_home: Path, tmp_path: Path, ftp: FTPServer
) -> None:
    raw = ftp_config(ftp)
    raw["target"]["password"] = "falsch-geheim"
    import_config(demo_home, tmp_path, raw)
    result = run_cli(demo_home, "run", "stb", "--force")
    assert result.returncode == 1
    assert f"fehlgeschlagen – Anmelden: Der Server {ftp.host}:{ftp.port} hat die Anmeldung als" in (
        result.stderr
    )
    assert "\nServer: 530 " in result.stderr  # the server's own text on a line of its own
    assert "falsch-geheim" not in result.stdout + result.stderr
    failed = run_cli(demo_home, "runs", "--failed", "--json").stdout.splitlines()
    assert len(failed) == 1 and json.loads(failed[0])["step"] == "Anmelden"


def test_connection_test_steps(demo_home: Path, tmp_path: Path, ftp: FTPServer) -> None:
    import_config(demo_home, tmp_path, ftp_config(ftp))
    result = run_cli(demo_home, "test", "stb")
    assert result.returncode == 0, result.stdout + result.stderr
    steps = [line.split()[0] for line in result.stdout.splitlines()]
    assert steps == ["Verbinden", "Anmelden", "Verzeichnis", "Schreiben", "Löschen"]
    assert all(" ok " in line for line in result.stdout.splitlines())
    assert not [p for p in ftp.root.rglob("*") if p.is_file()]  # the probe is gone


def test_unknown_sftp_host_key_needs_trust(demo_home: Path, tmp_path: Path) -> None:
    with paramiko_sftp_server(tmp_path / "sftp") as server:
        target = {"protocol": "sftp", "host": server.host, "port": server.port,
                  "user": server.user, "password": server.password}  # fmt: skip
        raw = base_config(target)
        import_config(demo_home, tmp_path, raw)
        first = run_cli(demo_home, "test", "stb")
        assert first.returncode == 1
        fingerprint = re.search(r"SHA256:[A-Za-z0-9+/]+", first.stdout)
        assert fingerprint and fingerprint.group(0) == server.host_key.fingerprint
        assert f"--trust {server.host_key.fingerprint}" in first.stdout
        # --trust without the fingerprint the admin checked stores nothing (exit 2).
        plain = run_cli(demo_home, "test", "stb", "--trust")
        assert plain.returncode == 2
        assert f"buchex test stb --trust {server.host_key.fingerprint}" in plain.stderr
        assert not (demo_home / "known_hosts").exists()
        trusted = run_cli(demo_home, "test", "stb", "--trust", fingerprint.group(0))
        assert trusted.returncode == 0, trusted.stdout
        assert "neu gespeichert" in trusted.stdout
        assert server.host_key.public_line.split()[1] in (demo_home / "known_hosts").read_text()
        assert run_cli(demo_home, "test", "stb").returncode == 0  # now known


def audit_entries(home: Path, action: str) -> list[dict[str, Any]]:
    lines = (home / "audit.log").read_text(encoding="utf-8").splitlines()
    return [entry for entry in map(json.loads, lines) if entry["action"] == action]


def test_trusting_a_host_key_is_audited(demo_home: Path, tmp_path: Path) -> None:
    """`buchex test ID --trust SHA256:…` records who trusted which key for which config
    (hostkey.trust), as the TUI's dialog does: the service layer writes it (issue 13)."""
    with paramiko_sftp_server(tmp_path / "sftp") as server:
        target = {"protocol": "sftp", "host": server.host, "port": server.port,
                  "user": server.user, "password": server.password}  # fmt: skip
        import_config(demo_home, tmp_path, base_config(target))
        assert run_cli(demo_home, "test", "stb").returncode == 1  # unknown key: shown only
        assert run_cli(demo_home, "test", "stb", "--trust").returncode == 2  # no fingerprint
        assert audit_entries(demo_home, "hostkey.trust") == []
        fingerprint = server.host_key.fingerprint
        trusted = run_cli(demo_home, "test", "stb", "--trust", fingerprint)
        assert trusted.returncode == 0, trusted.stdout
    [entry] = audit_entries(demo_home, "hostkey.trust")
    assert entry["config_id"] == "stb" and entry["detail"] == fingerprint
    assert entry["actor"] and entry["ts"]


def test_schedule_prints_due_times(demo_home: Path, tmp_path: Path, ftp: FTPServer) -> None:
    import_config(demo_home, tmp_path, ftp_config(ftp))
    run_cli(demo_home, "settings", "set", "--timezone", "Europe/Berlin")
    result = run_cli(demo_home, "schedule", "stb", "--from", "2026-11-24T06:30", "--count", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "2026-11-25T06:30:00+01:00",  # a Wednesday
        "2026-11-30T06:30:00+01:00",  # Monday
        "2026-12-02T06:30:00+01:00",
    ]
    bad = run_cli(demo_home, "schedule", "stb", "--from", "morgen")
    assert bad.returncode == 2 and "--from" in bad.stderr


def test_export_commit_moves_the_watermark(demo_home: Path, tmp_path: Path, ftp: FTPServer) -> None:
    import_config(demo_home, tmp_path, ftp_config(ftp))
    out = tmp_path / "out"
    first = run_cli(demo_home, "export", "stb", "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert "Summe Soll" in first.stdout and list(out.glob("EXTF_*.csv"))
    second = run_cli(demo_home, "export", "stb", "--out", str(tmp_path / "o2"))
    assert rows(second.stdout) == rows(first.stdout) > 0  # without --commit nothing moved
    committed = run_cli(demo_home, "export", "stb", "--out", str(tmp_path / "o3"), "--commit")
    assert "Wasserstand weitergeschoben" in committed.stdout
    after = run_cli(demo_home, "export", "stb", "--out", str(tmp_path / "o4"))
    assert after.stdout.strip() == "nichts zu exportieren"


def test_ledger_url_reaches_a_second_database(
    demo_home: Path, tmp_path: Path, ftp: FTPServer
) -> None:
    import_config(demo_home, tmp_path, ftp_config(ftp))
    other = tmp_path / "other.sqlite"
    other.write_bytes((demo_home / "ledger.sqlite").read_bytes())
    with sqlite3.connect(other) as db:  # the second database has fewer bookings
        db.execute("DELETE FROM bookings WHERE journal_no > 10")
    url = f"sqlite:///{other}"
    assert run_cli(demo_home, "settings", "set", "--ledger-url-stdin", stdin=url).returncode == 0
    assert url not in (demo_home / "buchex.json").read_text()  # stored encrypted
    result = run_cli(demo_home, "export", "stb", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert 0 < rows(result.stdout) <= 10


def test_connection_test_folder_is_dated_in_the_configured_zone(
    demo_home: Path, tmp_path: Path, ftp: FTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dated folder the connection test creates is today in the chain's time zone, not
    the machine's: 26 hours apart, the two dates always differ (issue 13)."""
    import_config(demo_home, tmp_path, ftp_config(ftp))
    assert run_cli(demo_home, "settings", "set", "--timezone", "Etc/GMT+12").returncode == 0
    monkeypatch.setenv("TZ", "Etc/GMT-14")  # the machine: UTC+14
    zone = ZoneInfo("Etc/GMT+12")  # the chain: UTC-12
    before = dt.datetime.now(zone).date()
    result = run_cli(demo_home, "test", "stb")
    after = dt.datetime.now(zone).date()
    assert result.returncode == 0, result.stdout + result.stderr
    folders = {p.name for p in ftp.root.iterdir() if p.is_dir()}
    expected = {f"Automatischer_Buchhaltungsexport_{d.isoformat()}" for d in (before, after)}
    assert len(folders) == 1 and folders <= expected, folders
    local = dt.datetime.now(ZoneInfo("Etc/GMT-14")).date()
    assert f"Automatischer_Buchhaltungsexport_{local.isoformat()}" not in folders
