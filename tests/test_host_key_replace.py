"""Replacing a changed SFTP host key (issue 14, "Host keys in the TUI" and defect 6).

A changed key used to fail for good: the only way out was editing known_hosts. Now a buchex
administrator replaces it after seeing the stored and the new SHA256 fingerprint, through
`Service.replace_host_key` (TUI: the host-key dialog, type ERSETZEN; CLI: `buchex test ID
--replace-key SHA256:…`). The decision is audited; the key is stored only if the server
still shows exactly the confirmed one. Against the paramiko SFTP test server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Input

from engine.errors import ChangedHostKey, HostKeyReplaceRefused
from engine.service import Service
from engine.transports import KnownHosts
from engine.workspace import Workspace
from tests.conftest import run_cli
from tests.servers import SFTPServer, SSHKey, make_ssh_key, paramiko_sftp_server
from tests.test_tui_support import (
    ADMIN,
    CLERK,
    add_users,
    demo_raw,
    make_workspace,
    pilot_test,
    settle,
    until,
)
from tui.app import BuchexApp
from tui.screens.configs import ConfigListScreen
from tui.screens.editor import EditorScreen
from tui.screens.hostkey import CONFIRM_WORD, HostKeyDialog, HostKeyTestDialog
from tui.widgets.config_table import ConfigTable
from tui.widgets.step_log import StepLog

SIZE = (120, 40)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = make_workspace(tmp_path / "home")
    add_users(workspace)
    return workspace


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, SSHKey]:
    return {name: make_ssh_key(tmp_path / f"{name}_host_key") for name in ("old", "new", "evil")}


@pytest.fixture
def sftp(tmp_path: Path, keys: dict[str, SSHKey]) -> Iterator[SFTPServer]:
    with paramiko_sftp_server(tmp_path / "sftp", host_key=keys["new"]) as server:
        yield server


def sftp_raw(server: SFTPServer) -> dict[str, Any]:
    target = {
        "protocol": "sftp",
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "password": server.password,
    }
    return demo_raw("sftp-kanzlei", name="Kanzlei per SFTP", target=target)


def with_old_key(ws: Workspace, server: SFTPServer, old: SSHKey) -> None:
    ws.save_config(sftp_raw(server))
    KnownHosts(ws.data_dir.known_hosts_path).add(server.host, server.port, "ssh-ed25519", old.blob)


def stored(ws: Workspace, server: SFTPServer) -> list[str]:
    known = KnownHosts(ws.data_dir.known_hosts_path)
    return [k.fingerprint for k in known.keys_for(server.host, server.port)]


def audited(ws: Workspace, action: str) -> list[dict[str, Any]]:
    return [e for e in ws.audit.entries() if e["action"] == action]


# --- the service ----------------------------------------------------------------------------


def test_only_an_admin_replaces_and_only_the_confirmed_key(
    ws: Workspace, sftp: SFTPServer, keys: dict[str, SSHKey]
) -> None:
    with_old_key(ws, sftp, keys["old"])
    cfg = ws.get_config("sftp-kanzlei")
    [failed] = list(Service(ws, actor=ADMIN).test_connection(cfg))
    assert isinstance(failed.error, ChangedHostKey)
    old, new = failed.error.expected, keys["new"].fingerprint
    assert keys["old"].fingerprint in old

    for actor in (CLERK, "niemand"):
        with pytest.raises(HostKeyReplaceRefused, match="Nur Administratoren"):
            Service(ws, actor=actor).replace_host_key(cfg, old, new)
    assert [e["actor"] for e in audited(ws, "hostkey.replace_denied")] == [CLERK, "niemand"]
    assert stored(ws, sftp) == [keys["old"].fingerprint]

    # A confirmed fingerprint the server does not show: nothing stored, the test fails.
    steps = list(Service(ws, actor=ADMIN).replace_host_key(cfg, old, keys["evil"].fingerprint))
    assert [s.ok for s in steps] == [False] and isinstance(steps[0].error, ChangedHostKey)
    assert stored(ws, sftp) == [keys["old"].fingerprint]

    # The stored key is no longer the one the admin saw: nothing stored either.
    steps = list(Service(ws, actor=ADMIN).replace_host_key(cfg, keys["evil"].fingerprint, new))
    assert [s.ok for s in steps] == [False]
    assert stored(ws, sftp) == [keys["old"].fingerprint]

    steps = list(Service(ws, actor=ADMIN).replace_host_key(cfg, old, new))
    assert all(s.ok for s in steps), [s.detail for s in steps]
    assert f"ersetzt, vorher ssh-ed25519 {keys['old'].fingerprint}" in steps[0].detail
    assert stored(ws, sftp) == [new]
    entries = audited(ws, "hostkey.replace")
    assert len(entries) == 3 and {e["actor"] for e in entries} == {ADMIN}
    assert entries[-1]["config_id"] == "sftp-kanzlei"
    assert keys["old"].fingerprint in entries[-1]["detail"] and new in entries[-1]["detail"]
    # From now on the plain test knows the key.
    assert all(s.ok for s in Service(ws).test_connection(cfg))


def test_changed_key_failure_explains_how_to_replace_it(
    ws: Workspace, sftp: SFTPServer, keys: dict[str, SSHKey]
) -> None:
    with_old_key(ws, sftp, keys["old"])
    [failed] = list(Service(ws).test_connection(ws.get_config("sftp-kanzlei")))
    assert f"{sftp.host}:{sftp.port}" in failed.detail
    assert keys["old"].fingerprint in failed.detail and keys["new"].fingerprint in failed.detail
    assert "Verbindungstest → Schlüssel ersetzen" in failed.detail
    assert f"buchex test sftp-kanzlei --replace-key {keys['new'].fingerprint}" in failed.detail


# --- the command line -------------------------------------------------------------------------


def test_cli_replace_key_is_for_admins(
    tmp_path: Path, sftp: SFTPServer, keys: dict[str, SSHKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "cli-home"
    ws = make_workspace(home)
    with_old_key(ws, sftp, keys["old"])
    ws.add_user(ADMIN, "anna-passwort-1", admin=True)
    new = keys["new"].fingerprint

    monkeypatch.setenv("LOGNAME", "jemand")
    refused = run_cli(home, "test", "sftp-kanzlei", "--replace-key", new)
    assert refused.returncode == 1 and "Nur Administratoren" in refused.stderr
    assert stored(ws, sftp) == [keys["old"].fingerprint]

    monkeypatch.setenv("LOGNAME", ADMIN)
    wrong = run_cli(home, "test", "sftp-kanzlei", "--replace-key", keys["evil"].fingerprint)
    assert wrong.returncode == 1 and stored(ws, sftp) == [keys["old"].fingerprint]
    assert new in wrong.stdout  # both fingerprints shown
    replaced = run_cli(home, "test", "sftp-kanzlei", "--replace-key", new)
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    assert f"ersetzt, vorher ssh-ed25519 {keys['old'].fingerprint}" in replaced.stdout
    assert stored(ws, sftp) == [new]
    assert [e["actor"] for e in audited(ws, "hostkey.replace")] == [ADMIN, ADMIN]
    assert run_cli(home, "test", "sftp-kanzlei", "--replace-key", "ja").returncode == 2


# --- the TUI ------------------------------------------------------------------------------------


async def changed_key_dialog(pilot: Any) -> HostKeyDialog:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
    await settle(pilot)
    screen = app.screen
    table = screen.query_one(ConfigTable)
    table.move_cursor(row=screen.shown_ids().index("sftp-kanzlei"))
    table.focus()
    await pilot.pause()
    await pilot.press("t")
    await until(pilot, lambda: isinstance(app.screen, HostKeyDialog), "host-key dialog", 30)
    await settle(pilot)
    dialog = app.screen
    assert isinstance(dialog, HostKeyDialog) and isinstance(dialog.error, ChangedHostKey)
    return dialog


def text_of(dialog: HostKeyDialog, selector: str) -> str:
    return str(dialog.query_one(selector).render())


@pilot_test
async def test_tui_non_admin_sees_both_fingerprints_and_cannot_replace(
    ws: Workspace, sftp: SFTPServer, keys: dict[str, SSHKey]
) -> None:
    with_old_key(ws, sftp, keys["old"])
    app = BuchexApp(Service(ws, actor=CLERK))
    async with app.run_test(size=SIZE) as pilot:
        dialog = await changed_key_dialog(pilot)
        assert keys["old"].fingerprint in text_of(dialog, "#hostkey-expected")
        assert keys["new"].fingerprint in text_of(dialog, "#hostkey-actual")
        assert "Nur Administratoren" in text_of(dialog, ".dialog-error")
        assert f"„{CLERK}“ ist kein Administrator" in text_of(dialog, ".dialog-error")
        assert [b.label.plain for b in dialog.query(Button)] == ["Schließen"]
        assert not dialog.query("#hostkey-confirm")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HostKeyTestDialog))
    assert stored(ws, sftp) == [keys["old"].fingerprint]
    assert audited(ws, "hostkey.replace") == []


@pilot_test
async def test_tui_admin_replaces_after_typing_the_confirmation(
    ws: Workspace, sftp: SFTPServer, keys: dict[str, SSHKey]
) -> None:
    with_old_key(ws, sftp, keys["old"])
    app = BuchexApp(Service(ws, actor=ADMIN))
    async with app.run_test(size=SIZE) as pilot:
        dialog = await changed_key_dialog(pilot)
        assert keys["old"].fingerprint in text_of(dialog, "#hostkey-expected")
        assert keys["new"].fingerprint in text_of(dialog, "#hostkey-actual")
        assert [b.label.plain for b in dialog.query(Button)] == ["Schlüssel ersetzen", "Abbrechen"]
        assert app.focused is not None and app.focused.id == "reject"  # Enter cancels
        replace = dialog.query_one("#replace", Button)
        assert replace.disabled
        field = dialog.query_one("#hostkey-confirm", Input)
        field.value = "ersetze"
        await pilot.pause()
        assert replace.disabled
        field.value = CONFIRM_WORD.lower()
        await pilot.pause()
        assert not replace.disabled
        await pilot.click("#replace")
        await until(pilot, lambda: isinstance(app.screen, HostKeyTestDialog))
        log = app.screen.query_one(StepLog)
        await until(pilot, lambda: log.lines[-1:] == ["✓ Test erfolgreich"], "replaced", 30)
        assert log.lines[0].startswith(f"… Hostschlüssel-Wechsel auf {keys['new'].fingerprint}")
    assert stored(ws, sftp) == [keys["new"].fingerprint]
    [entry] = audited(ws, "hostkey.replace")
    assert entry["actor"] == ADMIN and entry["config_id"] == "sftp-kanzlei"
    assert keys["old"].fingerprint in entry["detail"]
    assert keys["new"].fingerprint in entry["detail"]


@pilot_test
async def test_tui_a_key_swapped_again_before_the_confirmation_is_not_stored(
    tmp_path: Path, ws: Workspace, keys: dict[str, SSHKey]
) -> None:
    server_b = paramiko_sftp_server(tmp_path / "b", host_key=keys["new"])
    sftp = server_b.__enter__()
    port = sftp.port
    try:
        with_old_key(ws, sftp, keys["old"])
        app = BuchexApp(Service(ws, actor=ADMIN))
        async with app.run_test(size=SIZE) as pilot:
            dialog = await changed_key_dialog(pilot)
            assert keys["new"].fingerprint in text_of(dialog, "#hostkey-actual")
            # Between the admin's look and the confirmation the server shows yet another key.
            server_b.__exit__(None, None, None)
            with paramiko_sftp_server(tmp_path / "c", host_key=keys["evil"], port=port):
                dialog.query_one("#hostkey-confirm", Input).value = CONFIRM_WORD
                await pilot.pause()
                await pilot.click("#replace")
                again = await_new_dialog(app, dialog)
                await until(pilot, again, "asked afresh", 30)
                fresh = app.screen
                assert isinstance(fresh, HostKeyDialog)
                assert keys["evil"].fingerprint in text_of(fresh, "#hostkey-actual")
                await pilot.press("escape")
                await until(pilot, lambda: isinstance(app.screen, HostKeyTestDialog))
                log = app.screen.query_one(StepLog)
                await until(pilot, lambda: log.status is None, "test over", 30)
                assert log.lines[-1] == "✗ Test fehlgeschlagen"
    finally:
        server_b.__exit__(None, None, None)
    assert stored(ws, sftp) == [keys["old"].fingerprint]
    # The decision is audited with the fingerprint confirmed, which was never stored.
    [entry] = audited(ws, "hostkey.replace")
    assert keys["new"].fingerprint in entry["detail"]


def await_new_dialog(app: BuchexApp, first: HostKeyDialog) -> Any:
    return lambda: isinstance(app.screen, HostKeyDialog) and app.screen is not first


@pilot_test
async def test_tui_editor_test_button_replaces_a_changed_key(
    ws: Workspace, sftp: SFTPServer, keys: dict[str, SSHKey]
) -> None:
    with_old_key(ws, sftp, keys["old"])
    app = BuchexApp(Service(ws, actor=ADMIN))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
        await settle(pilot)
        await pilot.press("enter")
        await until(
            pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen.form is not None
        )
        editor = app.screen
        assert isinstance(editor, EditorScreen)
        editor.action_test_connection()
        await until(pilot, lambda: isinstance(app.screen, HostKeyDialog), "dialog", 30)
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, HostKeyDialog)
        dialog.query_one("#hostkey-confirm", Input).value = CONFIRM_WORD
        await pilot.pause()
        await pilot.click("#replace")
        await until(pilot, lambda: app.screen is editor)
        log = editor.query_one("#ftp-steps", StepLog)
        await until(pilot, lambda: log.lines[-1:] == ["✓ Test erfolgreich"], "replaced", 30)
    assert stored(ws, sftp) == [keys["new"].fingerprint]
    assert len(audited(ws, "hostkey.replace")) == 1
