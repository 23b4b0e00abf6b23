"""`buchex demo`: everything on one machine, for trying buchex out.

Creates (or reuses) a demo data directory with demo books and example configs, starts a
local FTP server (pyftpdlib) and an SMTP sink (aiosmtpd) on 127.0.0.1, runs the daemon as
a child process, starts two runs so the Protokoll has something to show, and opens the
TUI in the foreground. Quitting the TUI stops everything.

The demo never touches the real data directory: without `--home` it works in a fresh
temporary directory. Like every front end it uses the engine only through
`engine.service.Service`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.service import Service

HOST = "127.0.0.1"
FTP_USER = "kanzlei"
FTP_PASSWORD = "demo-passwort"  # demo only; shown in the README and the demo banner
ADMIN_PASSWORD = "demo-passwort"
log = logging.getLogger("buchex.demo")


@dataclass
class DemoServers:
    ftp_port: int
    ftp_root: Path
    smtp_port: int
    mail_dir: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def ftp_server(root: Path) -> Iterator[int]:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    authorizer = DummyAuthorizer()
    authorizer.add_user(FTP_USER, FTP_PASSWORD, str(root), perm="elradfmwMT")

    class Handler(FTPHandler):  # type: ignore[misc]
        pass

    Handler.authorizer = authorizer
    Handler.banner = "buchex Demo-FTP-Server"
    server = FTPServer((HOST, 0), Handler)
    running = threading.Event()
    running.set()

    def serve() -> None:
        while running.is_set():
            server.ioloop.loop(0.1, blocking=False)
        server.close_all()

    thread = threading.Thread(target=serve, name="demo-ftp", daemon=True)
    thread.start()
    try:
        yield int(server.address[1])
    finally:
        running.clear()
        thread.join(5)


@contextlib.contextmanager
def smtp_sink(mail_dir: Path) -> Iterator[int]:
    """Accepts every mail and stores it as `<n>.eml` in mail_dir."""
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            n = len(list(mail_dir.glob("*.eml"))) + 1
            (mail_dir / f"{n:04d}.eml").write_bytes(envelope.content)
            return "250 OK"

    port = _free_port()
    controller = Controller(Handler(), hostname=HOST, port=port, server_hostname="localhost")
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def prepare(svc: Service, servers: DemoServers, *, today: dt.date) -> None:
    """Demo books, settings, a user for the password eye, and the example configs."""
    if not svc.paths.ledger_path.exists():
        svc.demo_ledger(months=12, per_day=40, seed=1, end=today, documents_per_day=3)
    svc.save_smtp_settings(
        {
            "host": HOST,
            "port": servers.smtp_port,
            "security": "none",
            "sender": "buchex@demo.example",
        }
    )
    svc.save_chain_settings({"admins_may_reveal_passwords": True})
    if all(user.name != svc.actor for user in svc.list_users()):
        with contextlib.suppress(Exception):  # an odd login name must not stop the demo
            svc.add_user(svc.actor, ADMIN_PASSWORD, admin=True)
    ftp = {"host": HOST, "port": servers.ftp_port, "user": FTP_USER, "password": FTP_PASSWORD}
    mail = "buchhaltung@optik-mueller.example"
    catalog = svc.catalog()
    configs: list[dict[str, Any]] = [
        {
            "id": "stb-schroeder",
            "name": "Steuerbüro Schröder (täglich)",
            "target": {**ftp, "directory": "kanzlei"},
            "clients": ["1", "2"],
            "document_types": ["KR", "KT", "GS", "BV", "EA", "ZA"],
            "export_debtors": True,
            "format": "datev",
            "incoming_export": True,
            "incoming_format": "datev",
            "document_images": True,  # the demo books carry receipts (issue 17)
            "time": "06:30",
            "interval": {"kind": "daily"},
            "email": mail,
        },
        {
            "id": "wuerzburg-15min",
            "name": "Filiale Würzburg (alle 15 Minuten)",
            "branch": "1",
            "target": {**ftp, "directory": "wuerzburg", "data_interface": True},
            "clients": ["1"],
            "document_types": ["KR", "BV"],
            "payment_methods": ["BAR", "EC"],
            "format": "datev",
            "interval": {"kind": "hourly", "every_minutes": 15},
            "email": mail,
        },
        {
            "id": "kanzlei-csv",
            "name": "Kanzlei Weiß, CSV (falsches Passwort)",
            "target": {**ftp, "password": "veraltet", "directory": "csv"},
            "clients": ["2"],
            "document_types": ["KR", "GS"],
            "format": "csv",
            "time": "07:00",
            "interval": {"kind": "weekly", "days": ["mon", "thu"]},
            "email": mail,
        },
        {
            "id": "kasse-luebeck",
            "name": "Kasse Lüneburg (Arbeitsplatz)",
            "workstation": "KASSE-LUENEBURG-01",
            "server_side": False,
            "branch": "4",
            "target": {**ftp, "protocol": "sftp", "port": 2222, "password": None},
            "clients": ["2"],
            "document_types": ["BV"],
            "format": "datev",
            "time": "21:30",
            "interval": {"kind": "monthly", "day": 31},
        },
    ]
    for raw in configs:
        svc.save_config(raw, catalog=catalog)  # as the form saves them (config.save)


def _first_runs(svc: Service, started: threading.Event) -> None:
    """Two runs right away so the live Protokoll shows a success and a failure."""
    started.wait(3.0)
    for cfg_id in ("stb-schroeder", "kanzlei-csv"):
        with contextlib.suppress(Exception):
            svc.run_now(cfg_id, force=True, trigger="manual")


def quiet_servers(log_file: Path) -> None:
    """The servers' own logging goes to a file: the terminal belongs to the TUI."""
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    for name in ("pyftpdlib", "mail.log"):
        server_log = logging.getLogger(name)
        server_log.handlers[:] = [handler]
        server_log.setLevel(logging.INFO)
        server_log.propagate = False


def _stop_on_hangup() -> None:
    """A closed terminal (SIGHUP) or SIGTERM must stop the daemon too, not orphan it: the
    daemon itself takes SIGHUP as "reload"."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, stop)


def main(home: str | None) -> int:
    # Everything the demo writes (mails, logs, delivered files) is private like the data
    # directory: 0600 files, 0700 folders, also in the daemon and TUI it starts.
    from engine.service import Service

    os.umask(0o077)
    root = Path(home) if home else Path(tempfile.mkdtemp(prefix="buchex-demo-"))
    svc = Service.open(root)
    quiet_servers(root / "servers.log")
    ftp_root = root / "ftp-root"
    mail_dir = root / "mails"
    ftp_root.mkdir(exist_ok=True)
    mail_dir.mkdir(exist_ok=True)
    print(f"buchex-Demo im Verzeichnis {root}")
    with ftp_server(ftp_root) as ftp_port, smtp_sink(mail_dir) as smtp_port:
        servers = DemoServers(ftp_port, ftp_root, smtp_port, mail_dir)
        print("Demo-Buchhaltung und Schnittstellen werden angelegt …")
        prepare(svc, servers, today=dt.date.today())
        print(f"FTP-Server 127.0.0.1:{ftp_port} → {ftp_root}")
        print(f"SMTP-Sammler 127.0.0.1:{smtp_port} → {mail_dir}")
        env = {**os.environ, "BUCHEX_HOME": str(root)}
        with open(root / "daemon.log", "ab") as daemon_log:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "engine", "--home", str(root), "daemon"],
                stdout=daemon_log,
                stderr=daemon_log,
                env=env,
            )
            started = threading.Event()
            runner = threading.Thread(target=_first_runs, args=(svc, started), daemon=True)
            runner.start()
            tui: subprocess.Popen[bytes] | None = None
            code = 1
            _stop_on_hangup()
            try:
                tui = subprocess.Popen([sys.executable, "-m", "tui", "--home", str(root)], env=env)
                started.set()
                code = tui.wait()
            except KeyboardInterrupt:
                pass  # closed terminal or SIGTERM: fall through to stopping everything
            finally:
                if tui is not None and tui.poll() is None:
                    tui.terminate()
                daemon.send_signal(signal.SIGTERM)
                try:
                    daemon.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                runner.join(timeout=30)
    mails = sorted(mail_dir.glob("*.eml"))
    print(f"Demo beendet. Daten bleiben in {root} ({len(mails)} E-Mail(s) in {mail_dir}).")
    for path in mails[-3:]:
        # The default policy decodes RFC 2047 words: "=?utf-8?q?…?=" becomes readable text.
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        print(f"  {path.name}: {message['Subject']}")
    return code
