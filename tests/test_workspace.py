"""Configs, settings, users and audit through the Workspace, with the real demo ledger."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engine.config import config_to_json
from engine.errors import NotFound
from engine.fields import ValidationError
from engine.paths import DataDir
from engine.workspace import Workspace

SECRET = "Sehr-Geheim-4711"


def demo_config(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": "Steuerbüro Schröder",
        "target": {"host": "127.0.0.1", "user": "kanzlei", "password": SECRET},
        "clients": ["1"],
        "document_types": ["KR", "GS"],
        "format": "datev",
        "time": "06:30",
        "interval": {"kind": "daily"},
    }
    raw.update(changes)
    return raw


@pytest.fixture
def ws(demo_home: Path) -> Workspace:
    return Workspace(DataDir.open(demo_home))


def test_save_assigns_a_stable_id_and_round_trips(ws: Workspace) -> None:
    cfg = ws.save_config(demo_config())
    assert cfg.id and len(cfg.id) == 8
    loaded = ws.get_config(cfg.id)
    assert loaded == cfg
    assert loaded.target.password is not None and loaded.target.password.reveal() == SECRET
    edited = ws.save_config({**config_to_json(loaded), "name": "Neu"})
    assert edited.id == cfg.id
    assert [c.name for c in ws.list_configs()] == ["Neu"]


def test_invalid_config_changes_nothing(ws: Workspace) -> None:
    ws.save_config(demo_config())
    before = ws.data_dir.store_path.read_bytes()
    with pytest.raises(ValidationError) as info:
        ws.save_config(demo_config(clients=["77"], time="05:00"))
    assert {str(p) for p in info.value.problems} >= {
        "Mandant: 77 gibt es in der Buchhaltung nicht",
        "Ausführungszeit: nur zwischen 06:00 und 22:00 Uhr möglich (Wartungsfenster)",
    }
    assert ws.data_dir.store_path.read_bytes() == before


def test_import_is_all_or_nothing(ws: Workspace) -> None:
    good = demo_config(id="gut")
    bad = demo_config(id="schlecht", target={"host": "", "user": "x"})
    with pytest.raises(ValidationError) as info:
        ws.save_configs([good, bad])
    assert "Schnittstelle 2: FTP Hostname: Pflichtfeld" in [str(p) for p in info.value.problems]
    assert ws.list_configs() == []
    assert [c.id for c in ws.save_configs([good, demo_config(id="zwei")])] == ["gut", "zwei"]


def test_import_with_existing_id_replaces_and_null_password_keeps(ws: Workspace) -> None:
    ws.save_config(demo_config(id="stb"))
    raw = demo_config(id="stb", name="Ersetzt")
    raw["target"] = {"host": "ftp.example.org", "user": "neu", "password": None}
    replaced = ws.save_config(raw)
    assert replaced.name == "Ersetzt" and replaced.target.user == "neu"
    assert replaced.target.password is not None and replaced.target.password.reveal() == SECRET
    assert len(ws.list_configs()) == 1


def test_delete(ws: Workspace) -> None:
    cfg = ws.save_config(demo_config())
    ws.delete_config(cfg.id)
    with pytest.raises(NotFound, match="gibt es nicht"):
        ws.get_config(cfg.id)
    with pytest.raises(NotFound):
        ws.delete_config(cfg.id)


def test_no_password_readable_anywhere_in_the_data_dir(ws: Workspace) -> None:
    ws.save_config(demo_config())
    ws.save_smtp_settings(
        {
            "host": "127.0.0.1",
            "sender": "buchex@example.org",
            "user": "mailer",
            "password": SECRET + "-smtp",
        }
    )
    ws.add_user("anna", SECRET + "-user", admin=True)
    ws.audit.record("secret.reveal", config_id="x", fields=["target.password"])
    grep = subprocess.run(["grep", "-r", "-l", "Sehr-Geheim", str(ws.data_dir.root)],
                          capture_output=True, text=True)  # fmt: skip
    assert grep.returncode == 1, grep.stdout  # 1 = no match anywhere
    for name in os.listdir(ws.data_dir.root):
        mode = stat.S_IMODE(os.stat(ws.data_dir.root / name).st_mode)
        assert mode == 0o600, (name, oct(mode))
    smtp = ws.smtp_settings()
    assert smtp is not None and smtp.password is not None
    assert smtp.password.reveal() == SECRET + "-smtp"


def test_wrong_key_is_a_clear_error(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    from engine.errors import CipherError

    cfg = ws.save_config(demo_config())
    monkeypatch.setenv("BUCHEX_SECRET_KEY", Fernet.generate_key().decode())
    other = Workspace(ws.data_dir)
    loaded = other.get_config(cfg.id)  # reading a config needs no key (config list, show)
    assert loaded.target.password  # set, still encrypted
    with pytest.raises(CipherError, match="falscher Schlüssel"):
        loaded.target.password.reveal()  # using it does


def test_audit_names_fields_never_values(ws: Workspace) -> None:
    cfg = ws.save_config(demo_config())
    ws.save_config({**config_to_json(cfg), "target": {**config_to_json(cfg)["target"],
                    "password": "Anders-Geheim-1", "host": "ftp.example.org"}})  # fmt: skip
    entries = ws.audit.entries()
    assert [e["action"] for e in entries] == ["config.create", "config.save"]
    assert entries[1]["fields"] == ["target.host", "target.password"]
    assert entries[1]["actor"]
    text = ws.data_dir.audit_path.read_text()
    assert "Anders-Geheim" not in text and "ftp.example.org" not in text


def test_users_and_passwords(ws: Workspace) -> None:
    ws.add_user("anna", "richtig-geheim", admin=True)
    ws.add_user("bernd", "auch-geheim-1")
    assert [(u.name, u.admin) for u in ws.list_users()] == [("anna", True), ("bernd", False)]
    assert ws.check_user_password("anna", "richtig-geheim")
    assert not ws.check_user_password("anna", "falsch-geheim")
    assert not ws.check_user_password("niemand", "richtig-geheim")
    with pytest.raises(ValidationError, match="gibt es schon"):
        ws.add_user("anna", "noch-ein-passwort")
    with pytest.raises(ValidationError, match="Passwort: mindestens 8 Zeichen"):
        ws.add_user("carla", "kurz")
    ws.set_password("bernd", "neues-passwort")
    assert ws.check_user_password("bernd", "neues-passwort")
    stored = json.loads(ws.data_dir.store_path.read_text())["users"]
    assert all(d["password_hash"].startswith("scrypt$") for d in stored.values())


def test_settings_validation(ws: Workspace) -> None:
    with pytest.raises(ValidationError) as info:
        ws.save_smtp_settings({"host": "", "security": "tls", "sender": "x"})
    found = {str(p) for p in info.value.problems}
    assert "SMTP-Server: Pflichtfeld" in found
    assert any(p.startswith("Verschlüsselung: muss eines von none") for p in found)
    assert any(p.startswith("Absender: „x“ ist keine gültige") for p in found)
    chain = ws.save_chain_settings(
        {"admins_may_reveal_passwords": True, "timezone": "Europe/Berlin"}
    )
    assert chain.admins_may_reveal_passwords and ws.chain_settings().timezone == "Europe/Berlin"
    with pytest.raises(ValidationError, match="Zeitzone: „Mars/Olymp“ ist keine bekannte"):
        ws.save_chain_settings({"timezone": "Mars/Olymp"})


def test_list_configs_parses_once_per_store_version(
    ws: Workspace, demo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.config import parse_config as real

    ws.save_configs([demo_config(id="a", name="Bäcker"), demo_config(id="b", name="Apotheke")])
    calls: list[str] = []

    def counting(raw: Any, **kwargs: Any) -> Any:
        calls.append(str(raw.get("id")))
        return real(raw, **kwargs)

    monkeypatch.setattr("engine.workspace.parse_config", counting)
    first = ws.list_configs()
    assert [c.id for c in first] == ["b", "a"] and len(calls) == 2
    second = ws.list_configs()
    assert second == first and second is not first  # a new list of the same configs
    second.clear()
    assert ws.get_config("a") is first[1] and ws.list_configs() == first
    assert len(calls) == 2  # nothing parsed again
    with pytest.raises(NotFound):
        ws.get_config("nope")
    # A change through another Workspace (another process) is seen.
    other = Workspace(DataDir.open(demo_home))
    other.delete_config("b")
    assert [c.id for c in ws.list_configs()] == ["a"]
    assert len(calls) == 2  # only docs that changed are parsed again: none here
    other.save_configs([demo_config(id="a", name="Bäckerei")])  # (validates: parses too)
    before = len(calls)
    assert [c.name for c in ws.list_configs()] == ["Bäckerei"]
    assert calls[before:] == ["a"]  # the edited one, once


def test_a_form_save_drops_what_does_not_apply_an_import_refuses_it(ws: Workspace) -> None:
    """SPEC-silent decision (README "Configurations on the command line"): a time of day
    for "Stündlich" is dropped when a form saves, refused when a config file is imported
    or validated; null (what `config export` writes for it) is accepted."""
    hourly = {"kind": "hourly", "every_minutes": 15}
    saved = ws.save_config(demo_config(id="form", interval=hourly))
    assert saved.time is None and ws.get_config("form").time is None

    before = ws.data_dir.store_path.read_bytes()
    for check in (
        lambda raws: ws.save_configs(raws, action="config.import"),
        ws.validate_configs,
    ):
        with pytest.raises(ValidationError) as info:
            check([demo_config(id="datei", interval=hourly)])
        assert [str(p) for p in info.value.problems] == [
            "Ausführungszeit: nicht bei Stündlich möglich (Feld „time“ hängt von „Intervall“ "
            "ab, „interval.kind“); leer lassen oder weglassen"
        ]
    assert ws.data_dir.store_path.read_bytes() == before

    exported = config_to_json(ws.get_config("form"))
    assert exported["time"] is None
    again = ws.save_configs([exported], action="config.import")
    assert again == [ws.get_config("form")] == [saved]
