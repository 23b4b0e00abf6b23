"""Failure reasons in the run record, the connection test, the mail test (issue 14, defect 6).

"Verzeichnis: keine Schreibrechte" named no directory and no user; now the run record's
`reason` is the German sentence of engine.explain naming user, server and folder, `detail`
the server's own text, `step` the failed step. Old records (no `detail`) still load.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from engine.errors import MailError
from engine.paths import DataDir
from engine.runner import RunOptions, run_config
from engine.runs import RunRecord
from engine.service import Service
from engine.settings import SmtpSettings
from engine.workspace import Workspace
from tests.conftest import run_cli
from tests.servers import FTPServer, ftp_server
from tests.smtp_server import refused_port

NOON = dt.datetime(2026, 11, 24, 12, 0).astimezone()

pytestmark = pytest.mark.filterwarnings("ignore:The (asyncore|asynchat) module:DeprecationWarning")


def test_old_run_records_load_and_new_ones_keep_the_detail() -> None:
    old = {
        "id": "r1",
        "config_id": "stb",
        "config_name": "Steuerbüro",
        "trigger": "schedule",
        "started_at": "2026-11-20T06:30:00+01:00",
        "status": "failed",
        "step": "Verzeichnis",
        "reason": "keine Schreibrechte (550 Permission denied.)",
    }
    record = RunRecord.from_doc(old)
    assert record.detail is None and record.reason == old["reason"]
    new = dataclasses.replace(record, reason="Der Benutzer …", detail="550 Permission denied.")
    assert RunRecord.from_doc(dataclasses.asdict(new)) == new


def test_a_folder_without_write_permission_names_user_server_and_folder(
    demo_home: Path, tmp_path: Path
) -> None:
    ws = Workspace(DataDir.open(demo_home))
    root = tmp_path / "ftp-root"
    root.mkdir()
    with ftp_server(root, perm="elr") as ftp:  # may list and read, not create
        cfg = ws.save_config(
            {
                "id": "stb",
                "name": "Steuerbüro Schröder",
                "target": {
                    "host": ftp.host,
                    "port": ftp.port,
                    "user": ftp.user,
                    "password": ftp.password,
                    "directory": "export",
                },
                "clients": ["1"],
                "document_types": ["KR", "GS", "BV"],
                "format": "datev",
                "time": "06:30",
            }
        )
        record = run_config(ws, cfg, RunOptions(trigger="manual", backoff=0), clock=lambda: NOON)
    assert record.status == "failed" and record.step == "Verzeichnis"
    assert record.reason is not None
    assert record.reason.startswith(
        f"Der Benutzer „{ftp.user}“ darf auf {ftp.host}:{ftp.port} den Ordner "
        "„export/Automatischer_Buchhaltungsexport_2026-11-24“ nicht anlegen oder öffnen."
    )
    assert f"Schreibrechte für „{ftp.user}“ auf „export“" in record.reason
    assert record.detail is not None and record.detail.startswith("550")
    stored = ws.runs.run(record.id)
    assert stored is not None and (stored.reason, stored.detail) == (record.reason, record.detail)


def test_the_mail_test_explains_a_refused_server(demo_home: Path) -> None:
    service = Service(Workspace(DataDir.open(demo_home)))
    with refused_port() as port:
        smtp = SmtpSettings(host="127.0.0.1", port=port, security="none", sender="a@b.example")
        with pytest.raises(MailError) as info:
            service.send_test_mail("x@y.example", smtp)
    assert info.value.reason.startswith(
        f"Der SMTP-Server 127.0.0.1 hat die Verbindung auf Port {port} abgelehnt."
    )


def test_cli_test_prints_the_sentence_and_the_server_text_on_a_line_of_its_own(
    demo_home: Path, ftp: FTPServer
) -> None:
    ws = Workspace(DataDir.open(demo_home))
    target = {"host": ftp.host, "port": ftp.port, "user": ftp.user, "password": "falsch-3"}
    ws.save_config(
        {
            "id": "stb",
            "name": "Steuerbüro Schröder",
            "target": target,
            "clients": ["1"],
            "document_types": ["KR"],
            "format": "datev",
            "time": "06:30",
        }
    )
    result = run_cli(demo_home, "test", "stb")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    failed = next(i for i, line in enumerate(lines) if line.startswith("Anmelden"))
    assert (
        f"FEHLER  Der Server {ftp.host}:{ftp.port} hat die Anmeldung als „{ftp.user}“"
        in (lines[failed])
    )
    assert lines[failed + 1].strip().startswith("Server: 530")
    assert "falsch-3" not in result.stdout
