"""`buchex test ID --trust SHA256:…` (issue 16, item 6): only the key whose fingerprint the
admin confirmed is stored. A server that swaps its key between the admin's look and the
trust is refused naming both fingerprints, in the CLI (real processes, a real SFTP server)
and in the TUI's host-key dialog, which passes on exactly the fingerprint it showed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.app import App

from engine.config import Target
from engine.service import Service
from engine.transports import HostKeyNotConfirmed, UnknownHostKey
from engine.workspace import Workspace
from tests.conftest import run_cli
from tests.servers import SFTPServer, make_ssh_key, paramiko_sftp_server
from tests.test_tui_support import pilot_test, until
from tui.screens.hostkey import HostKeyDialog, HostKeyProblem, ask_host_key


def sftp_config(server: SFTPServer) -> dict[str, Any]:
    return {
        "id": "stb",
        "name": "Steuerbüro SFTP",
        "target": {
            "protocol": "sftp",
            "host": server.host,
            "port": server.port,
            "user": server.user,
            "password": server.password,
        },
        "clients": ["1"],
        "document_types": ["KR"],
        "format": "datev",
        "time": "06:30",
        "interval": {"kind": "daily"},
    }


def test_a_key_swapped_after_the_admin_looked_is_refused(demo_home: Path, tmp_path: Path) -> None:
    first_key = make_ssh_key(tmp_path / "first_host_key")
    second_key = make_ssh_key(tmp_path / "second_host_key")
    with paramiko_sftp_server(tmp_path / "a", host_key=first_key) as server:
        port = server.port
        (tmp_path / "c.json").write_text(json.dumps(sftp_config(server)), encoding="utf-8")
        assert run_cli(demo_home, "config", "import", str(tmp_path / "c.json")).returncode == 0
        looked = run_cli(demo_home, "test", "stb")  # the admin reads this fingerprint …
        assert looked.returncode == 1 and first_key.fingerprint in looked.stdout
    # … and meanwhile the server (or a man in the middle) shows another key.
    with paramiko_sftp_server(tmp_path / "b", host_key=second_key, port=port):
        refused = run_cli(demo_home, "test", "stb", "--trust", first_key.fingerprint)
        assert refused.returncode == 1
        assert "zeigt einen anderen Hostschlüssel" in refused.stdout
        assert f"als den bestätigten ({first_key.fingerprint})" in refused.stdout
        assert f"(ssh-ed25519 {second_key.fingerprint})" in refused.stdout
        assert not (demo_home / "known_hosts").exists()  # nothing stored

        # Only after confirming the new one: stored, and later tests need no trust.
        trusted = run_cli(demo_home, "test", "stb", "--trust", second_key.fingerprint)
        assert trusted.returncode == 0, trusted.stdout
        stored = (demo_home / "known_hosts").read_text()
        assert second_key.public_line.split()[1] in stored
        assert first_key.public_line.split()[1] not in stored
        assert run_cli(demo_home, "test", "stb").returncode == 0


def test_trust_needs_a_real_fingerprint(demo_home: Path, tmp_path: Path) -> None:
    with paramiko_sftp_server(tmp_path / "s") as server:
        (tmp_path / "c.json").write_text(json.dumps(sftp_config(server)), encoding="utf-8")
        assert run_cli(demo_home, "config", "import", str(tmp_path / "c.json")).returncode == 0
        for bad in ("ja", "SHA256:kurz", "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48"):
            result = run_cli(demo_home, "test", "stb", "--trust", bad)
            assert result.returncode == 2, bad
            assert "kein SHA256-Fingerabdruck" in result.stderr
        # Padded and without the prefix, as some tools print it: the same fingerprint.
        bare = server.host_key.fingerprint.removeprefix("SHA256:") + "="
        assert run_cli(demo_home, "test", "stb", "--trust", bare).returncode == 0
    assert (demo_home / "known_hosts").exists()


def test_tui_hook_trusts_only_the_confirmed_fingerprint(tmp_path: Path) -> None:
    from tests.test_tui_support import make_workspace

    ws: Workspace = make_workspace(tmp_path / "home")
    shown = make_ssh_key(tmp_path / "shown")
    with paramiko_sftp_server(tmp_path / "s") as server:
        ws.save_config(sftp_config(server))
        cfg = ws.get_config("stb")
        hook = Service(ws).test_connection  # what the TUI's test calls (was tui.wiring's hook)
        assert hook is not None
        [step] = list(hook(cfg, trust=shown.fingerprint))
        error = getattr(step, "error", None)
        assert isinstance(error, HostKeyNotConfirmed)
        assert (error.confirmed, error.fingerprint) == (
            shown.fingerprint,
            server.host_key.fingerprint,
        )
        assert not ws.data_dir.known_hosts_path.exists()


class _DialogApp(App[None]):
    def __init__(self, problem: HostKeyProblem) -> None:
        super().__init__()
        self.problem = problem
        self.trusted: list[str] = []

    def on_mount(self) -> None:
        ask_host_key(self.screen, self.problem, self.trusted.append)


@pilot_test
async def test_dialog_names_both_and_passes_on_exactly_the_shown_fingerprint() -> None:
    error = HostKeyNotConfirmed(
        "SHA256:" + "A" * 43, "SHA256:" + "B" * 43, key_type="ssh-ed25519", host="[h]:2222"
    )
    target = Target(host="h", port=2222, user="u", protocol="sftp")
    app = _DialogApp(HostKeyProblem(error, "log", type("Cfg", (), {"target": target})()))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HostKeyDialog), "dialog")
        dialog = app.screen
        assert str(dialog.query_one("#hostkey-confirmed").render()) == "SHA256:" + "A" * 43
        assert str(dialog.query_one("#hostkey-fingerprint").render()) == "SHA256:" + "B" * 43
        await pilot.click("#trust")
        await until(pilot, lambda: app.trusted, "trusted")
    assert app.trusted == ["SHA256:" + "B" * 43]  # what was shown, nothing else
    assert isinstance(error, UnknownHostKey)
