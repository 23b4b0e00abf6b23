"""The real `buchex` command in child processes: output, exit codes, nothing written on error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, run_cli

SECRET = "Kanzlei-Geheim-2026"


def config(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "stb",
        "name": "Steuerbüro Schröder",
        "target": {"host": "ftp.example.org", "user": "kanzlei", "password": SECRET},
        "clients": ["1", "2"],
        "document_types": ["KR"],
        "format": "datev",
        "time": "06:30",
        "interval": {"kind": "weekly", "days": ["mon", "thu"]},
    }
    raw.update(changes)
    return raw


def write(tmp_path: Path, data: Any, name: str = "c.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_help_lists_the_commands(home: Path) -> None:
    result = run_cli(home, "--help")
    assert result.returncode == 0
    for cmd in ("config", "ledger", "user", "smtp", "settings"):
        assert cmd in result.stdout


def test_usage_error_is_german_and_exits_2(home: Path) -> None:
    result = run_cli(home, "config", "show")
    assert result.returncode == 2
    assert "diese Angaben fehlen: id" in result.stderr


def test_invalid_import_prints_label_lines_exits_2_writes_nothing(
    demo_home: Path, tmp_path: Path
) -> None:
    bad = config(time="23:15", target={"host": "ftp example", "user": "", "port": 99999})
    result = run_cli(demo_home, "config", "import", write(tmp_path, bad))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "Ausführungszeit: nur zwischen 06:00 und 22:00 Uhr möglich (Wartungsfenster)" in lines
    assert "Benutzer: Pflichtfeld" in lines
    assert "Port: muss zwischen 1 und 65535 liegen" in lines
    assert any(line.startswith("FTP Hostname: „ftp example“") for line in lines)
    assert not (demo_home / "buchex.json").exists()


def test_import_show_export_delete(demo_home: Path, tmp_path: Path) -> None:
    result = run_cli(demo_home, "config", "import", write(tmp_path, [config(), config(id="b")]))
    assert result.returncode == 0, result.stderr
    assert "importiert: stb" in result.stdout

    listing = run_cli(demo_home, "config", "list")
    assert listing.returncode == 0
    assert "stb" in listing.stdout and "ftp://ftp.example.org:21/" in listing.stdout
    as_json = run_cli(demo_home, "config", "list", "--json")
    assert [json.loads(line)["id"] for line in as_json.stdout.splitlines()] == ["b", "stb"]

    shown = run_cli(demo_home, "config", "show", "stb")
    assert shown.returncode == 0
    assert "FTP Hostname:" in shown.stdout and "******** (gesetzt)" in shown.stdout
    assert SECRET not in shown.stdout + shown.stderr

    exported = run_cli(demo_home, "config", "export", "stb")
    assert json.loads(exported.stdout)["target"]["password"] is None
    assert SECRET not in exported.stdout

    clear = run_cli(demo_home, "config", "export", "stb", "--with-secrets")
    assert json.loads(clear.stdout)["target"]["password"] == SECRET
    assert "WARNUNG" in clear.stderr

    assert run_cli(demo_home, "config", "delete", "b").returncode == 0
    missing = run_cli(demo_home, "config", "show", "b")
    assert missing.returncode == 2 and "gibt es nicht" in missing.stderr


def test_export_then_reimport_keeps_the_password(demo_home: Path, tmp_path: Path) -> None:
    run_cli(demo_home, "config", "import", write(tmp_path, config()))
    exported = json.loads(run_cli(demo_home, "config", "export", "stb").stdout)
    exported["name"] = "Umbenannt"
    assert run_cli(demo_home, "config", "import", write(tmp_path, exported)).returncode == 0
    clear = json.loads(run_cli(demo_home, "config", "export", "stb", "--with-secrets").stdout)
    assert clear["name"] == "Umbenannt" and clear["target"]["password"] == SECRET


def test_validate_does_not_write(demo_home: Path, tmp_path: Path) -> None:
    result = run_cli(demo_home, "config", "validate", write(tmp_path, config()))
    assert result.returncode == 0 and "gültig: 1" in result.stdout
    assert not (demo_home / "buchex.json").exists()
    broken = tmp_path / "broken.json"
    broken.write_text("{ nope")
    result = run_cli(demo_home, "config", "validate", str(broken))
    assert result.returncode == 2 and "kein gültiges JSON (Zeile 1" in result.stderr


def test_damaged_store_names_the_file(demo_home: Path) -> None:
    (demo_home / "buchex.json").write_text('{"configs": ')
    result = run_cli(demo_home, "config", "list")
    assert result.returncode == 1
    assert str(demo_home / "buchex.json") in result.stderr and "beschädigt" in result.stderr
    assert "Traceback" not in result.stderr
    assert (demo_home / "buchex.json").read_text() == '{"configs": '


def test_users_via_stdin(home: Path) -> None:
    added = run_cli(home, "user", "add", "anna", "--admin", stdin="anna-passwort\n")
    assert added.returncode == 0, added.stderr
    short = run_cli(home, "user", "add", "bernd", stdin="kurz\n")
    assert short.returncode == 2 and "Passwort: mindestens 8 Zeichen" in short.stderr
    listing = run_cli(home, "user", "list")
    assert "anna" in listing.stdout and "ja" in listing.stdout and "bernd" not in listing.stdout
    assert "anna-passwort" not in (home / "buchex.json").read_text()


def test_smtp_set_and_show(home: Path) -> None:
    result = run_cli(
        home,
        "smtp", "set", "--host", "mail.example.org", "--security", "starttls",
        "--user", "buchex", "--sender", "buchex@example.org",
        stdin="smtp-geheim-1\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    shown = run_cli(home, "smtp", "show")
    assert "mail.example.org" in shown.stdout and "******** (gesetzt)" in shown.stdout
    assert "smtp-geheim-1" not in shown.stdout
    # a later change of one option keeps the others and the password
    assert run_cli(home, "smtp", "set", "--port", "2525").returncode == 0
    shown = run_cli(home, "smtp", "show")
    assert "2525" in shown.stdout and "******** (gesetzt)" in shown.stdout
    bad = run_cli(home, "smtp", "set", "--sender", "kein-absender")
    assert bad.returncode == 2 and "Absender: „kein-absender“" in bad.stderr


def test_home_flag_beats_environment(home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    result = run_cli(home, "--home", str(other), "user", "add", "anna", stdin="anna-passwort\n")
    assert result.returncode == 0
    assert (other / "buchex.json").exists() and not (home / "buchex.json").exists()


def test_example_configs_are_valid(demo_home: Path) -> None:
    result = run_cli(demo_home, "config", "validate", str(ROOT / "examples" / "configs.json"))
    assert result.returncode == 0, result.stderr


def test_ledger_demo_import_stats(home: Path, tmp_path: Path) -> None:
    demo = run_cli(home, "ledger", "demo", "--months", "1", "--per-day", "3", "--end", "2026-11-20")
    assert demo.returncode == 0, demo.stderr
    assert "2 Mandanten, 5 Filialen" in demo.stdout
    again = run_cli(home, "ledger", "demo")
    assert again.returncode == 2 and "--replace" in again.stderr

    before = run_cli(home, "ledger", "stats").stdout
    assert "Optik & Hörakustik Müller GmbH" in before and "Gesamt" in before

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "client_id;branch_id;document_type;document_no;document_date;amount_cents;"
        "debit_credit;account;contra_account\n"
        "1;1;KR;RE-1;2026-11-21;1190;S;10001;8400\n"
        "1;1;KR;RE-2;2026-11-31;-5;X;10001;8400\n",
        encoding="utf-8",
    )
    result = run_cli(home, "ledger", "import", str(bad))
    assert result.returncode == 2
    assert "Zeile 3, Spalte document_date" in result.stderr
    assert "Zeile 3, Spalte amount_cents" in result.stderr
    assert "Zeile 3, Spalte debit_credit" in result.stderr
    assert run_cli(home, "ledger", "stats").stdout == before  # nothing loaded

    good = tmp_path / "good.csv"
    good.write_text(bad.read_text(encoding="utf-8").splitlines()[0] + "\n"
                    "1;1;KR;RE-1;2026-11-21;1190;S;10001;8400\n", encoding="utf-8")  # fmt: skip
    loaded = run_cli(home, "ledger", "import", str(good))
    assert loaded.returncode == 0, loaded.stderr
    assert "1 Buchungen importiert" in loaded.stdout
    assert run_cli(home, "ledger", "stats").stdout != before


def test_config_show_uses_labels(demo_home: Path, tmp_path: Path) -> None:
    run_cli(demo_home, "config", "import", str(ROOT / "examples" / "configs.json"))
    shown = run_cli(demo_home, "config", "show", "kiel-stuendlich").stdout
    assert "SFTP verwenden:" in shown and "SFTP" in shown
    assert "Stündlich" in shown and "alle 15 Minuten" in shown


def test_missing_ledger_is_explained(home: Path, tmp_path: Path) -> None:
    result = run_cli(home, "config", "import", write(tmp_path, config()))
    assert result.returncode == 1
    assert "ledger.sqlite" in result.stderr and "buchex ledger demo" in result.stderr


def test_smtp_test_mail_arrives(home: Path) -> None:
    from tests.smtp_server import smtp_server

    with smtp_server("plain") as server:
        set_result = run_cli(
            home, "smtp", "set", "--host", server.host, "--port", str(server.port),
            "--security", "none", "--sender", "buchex@optik-mueller.example",
        )  # fmt: skip
        assert set_result.returncode == 0, set_result.stderr
        sent = run_cli(home, "smtp", "test", "buchhaltung@optik-mueller.example")
        assert sent.returncode == 0, sent.stderr
        [message] = server.wait_for(1)
        assert "Test-E-Mail" in str(message)
    refused = run_cli(home, "smtp", "test", "buchhaltung@optik-mueller.example")
    assert refused.returncode == 1
    assert f"Der SMTP-Server {server.host} hat die Verbindung auf Port" in refused.stderr
