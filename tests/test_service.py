"""The service layer's own policy: who may reveal a password, what is audited, which date a
connection test uses. The CLI and the TUI both go through these methods (issue 13)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from engine.ledger import Catalog
from engine.service import RevealRefused, Service
from engine.workspace import Workspace
from tests.servers import FTPServer

ADMIN_PW = "Admin-Passwort-1"


class FixedClock:
    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def now(self) -> dt.datetime:
        return self.moment


def actions(ws: Workspace, action: str) -> list[dict[str, Any]]:
    return [e for e in ws.audit.entries() if e["action"] == action]


@pytest.fixture
def saved(workspace: Workspace, valid_raw: dict[str, Any], catalog: Catalog) -> str:
    return workspace.save_config({**valid_raw, "id": "kiel"}, catalog=catalog).id


def admin_service(ws: Workspace, *, admin: bool = True, option: bool = True) -> Service:
    ws.add_user("anna", ADMIN_PW, admin=admin)
    ws.save_chain_settings({"admins_may_reveal_passwords": option})
    return Service(ws, actor="anna")


def test_reveal_returns_the_stored_password_and_audits_it(workspace: Workspace, saved: str) -> None:
    svc = admin_service(workspace)
    assert svc.reveal_refusal() is None
    clear = svc.reveal_secret("target.password", ADMIN_PW, config_id=saved)
    assert clear == "Geheim-Passwort-123"
    [entry] = actions(workspace, "secret.reveal")
    assert entry["config_id"] == saved and entry["fields"] == ["target.password"]
    assert entry["actor"] == "anna"
    assert "Geheim" not in workspace.data_dir.audit_path.read_text()


def test_wrong_password_is_refused_and_audited(workspace: Workspace, saved: str) -> None:
    svc = admin_service(workspace)
    with pytest.raises(RevealRefused) as info:
        svc.reveal_secret("target.password", "falsch", config_id=saved)
    assert info.value.wrong_password
    assert actions(workspace, "secret.reveal") == []
    [denied] = actions(workspace, "secret.reveal_denied")
    assert denied["detail"] == "Passwort falsch"


@pytest.mark.parametrize(
    ("admin", "option", "words"),
    [(False, True, "kein Administrator"), (True, False, "ausgeschaltet")],
)
def test_reveal_checks_permission_itself(
    workspace: Workspace, saved: str, admin: bool, option: bool, words: str
) -> None:
    """Even a front end that skips reveal_refusal cannot get the password."""
    svc = admin_service(workspace, admin=admin, option=option)
    refusal = svc.reveal_refusal()
    assert refusal is not None and words in refusal
    with pytest.raises(RevealRefused) as info:
        svc.reveal_secret("target.password", ADMIN_PW, config_id=saved)
    assert not info.value.wrong_password and words in str(info.value)
    assert actions(workspace, "secret.reveal") == []
    assert actions(workspace, "secret.reveal_denied")[0]["detail"] == "nicht berechtigt"


def test_unknown_os_login_may_not_reveal(workspace: Workspace, saved: str) -> None:
    workspace.save_chain_settings({"admins_may_reveal_passwords": True})
    refusal = Service(workspace, actor="fremd").reveal_refusal()
    assert refusal is not None and "„fremd“" in refusal


def test_reveal_of_smtp_password(workspace: Workspace) -> None:
    svc = admin_service(workspace)
    workspace.save_smtp_settings(
        {"host": "mail.example", "sender": "buchex@example.com", "password": "Mail-Geheim-9"}
    )
    assert svc.reveal_secret("smtp.password", ADMIN_PW) == "Mail-Geheim-9"
    assert actions(workspace, "secret.reveal")[0]["fields"] == ["smtp.password"]


def test_trust_is_audited_by_the_service(workspace: Workspace, saved: str, ftp: FTPServer) -> None:
    """The host-key decision is recorded before the test runs, whichever front end asks."""
    cfg = workspace.get_config(saved)
    fingerprint = "SHA256:" + "A" * 43
    list(Service(workspace, actor="anna").test_connection(cfg, trust=fingerprint))
    [entry] = actions(workspace, "hostkey.trust")
    assert entry["detail"] == fingerprint and entry["config_id"] == saved
    assert entry["actor"] == "anna"


def test_connection_test_uses_the_configured_zone_for_its_date(
    workspace: Workspace, valid_raw: dict[str, Any], catalog: Catalog, ftp: FTPServer
) -> None:
    """23:30 UTC on 31 Dec is already 1 Jan in Kiritimati (UTC+14): the test's dated folder
    is the configured zone's date, as in a run."""
    raw = {**valid_raw, "id": "zeit"}
    raw["target"] = {
        **raw["target"],
        "host": "127.0.0.1",
        "port": ftp.port,
        "user": ftp.user,
        "password": ftp.password,
        "directory": "",
        "data_interface": False,
    }
    cfg = workspace.save_config(raw, catalog=catalog)
    workspace.save_chain_settings({"timezone": "Pacific/Kiritimati"})
    moment = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    svc = Service(workspace, clock=FixedClock(moment))
    assert svc.now().date() == dt.date(2027, 1, 1)
    steps = list(svc.test_connection(cfg))
    assert all(s.ok for s in steps), [str(s) for s in steps]
    folders = [p.name for p in ftp.root.rglob("Automatischer_Buchhaltungsexport_*")]
    assert folders == ["Automatischer_Buchhaltungsexport_2027-01-01"]


def test_acknowledge_changes_is_audited(workspace: Workspace, saved: str) -> None:
    svc = Service(workspace, actor="anna")
    assert svc.acknowledge_changes(saved, None) == 0
    [entry] = actions(workspace, "changes.acknowledge")
    assert entry["config_id"] == saved and entry["actor"] == "anna"


def test_stamps_change_with_configs_and_runs(workspace: Workspace, saved: str) -> None:
    svc = Service(workspace)
    before = svc.stamps()
    svc.delete_config(saved)
    after = svc.stamps()
    assert after.configs != before.configs
