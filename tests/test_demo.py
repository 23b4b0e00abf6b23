"""`buchex demo`'s pieces: the demo configs are valid, its servers take files and mail."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine.demo import DemoServers, ftp_server, prepare, smtp_sink
from engine.paths import DataDir
from engine.runner import RunOptions, run_config
from engine.service import Service
from engine.workspace import Workspace

NOON = dt.datetime(2026, 11, 24, 12, 0).astimezone()


def test_demo_data_runs_against_the_demo_servers(tmp_path: Path) -> None:
    ws = Workspace(DataDir.open(tmp_path / "home"))
    svc = Service(ws)
    (ftp_root := tmp_path / "ftp").mkdir()
    (mails := tmp_path / "mails").mkdir()
    with ftp_server(ftp_root) as ftp_port, smtp_sink(mails) as smtp_port:
        prepare(svc, DemoServers(ftp_port, ftp_root, smtp_port, mails), today=NOON.date())
        configs = {c.id: c for c in ws.list_configs()}
        assert set(configs) == {"stb-schroeder", "wuerzburg-15min", "kanzlei-csv", "kasse-luebeck"}
        assert ws.chain_settings().admins_may_reveal_passwords
        ok = run_config(ws, configs["stb-schroeder"], RunOptions(), clock=lambda: NOON)
        failed = run_config(ws, configs["kanzlei-csv"], RunOptions(attempts=1), clock=lambda: NOON)
    assert ok.status == "ok"
    assert list((ftp_root / "kanzlei").glob("Automatischer_Buchhaltungsexport_*/EXTF_*.csv"))
    # The demo books carry receipts and the daily config delivers them (issue 17).
    packages = list((ftp_root / "kanzlei").glob("Automatischer_Buchhaltungsexport_*/*.zip"))
    assert [p.name.startswith("Belegbilder_") for p in packages] == [True, True]  # 2 clients
    assert any(f["kind"] == "documents" and f["rows"] > 100 for f in ok.files)
    assert failed.status == "failed" and failed.step == "Anmelden"
    assert [p.name for p in mails.glob("*.eml")] == ["0001.eml"]  # the failure mail
    prepare(svc, DemoServers(1, ftp_root, 2, mails), today=NOON.date())  # a second start works
