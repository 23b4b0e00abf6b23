"""Shared fixtures: a data directory, a small hand-made ledger catalog, a valid config."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, settings

from engine.ledger import Branch, Catalog, Client, DocumentType, PaymentMethod
from engine.paths import DataDir
from engine.workspace import Workspace
from tests.servers import FTPServer, ftp_server

if TYPE_CHECKING:
    from tests.pg_server import PostgresServer

ROOT = Path(__file__).resolve().parent.parent

# CI machines are shared and slow at times: no per-example deadline, no speed health check
# (speed targets live in bench/, not in tests).
settings.register_profile(
    "buchex", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("buchex")


@pytest.fixture
def catalog() -> Catalog:
    return Catalog(
        clients={
            "1": Client("1", "Optik Müller GmbH", 29098, 55003, "01-01", 4, "SKR03", False),
            "2": Client("2", "Hörgeräte Weiß KG", 31245, 10020, "07-01", 4, "SKR04", False),
        },
        branches={
            "10": Branch("10", "1", "Kiel", "100"),
            "20": Branch("20", "2", "Lübeck", "200"),
        },
        document_types={
            "KR": DocumentType("KR", "Kundenrechnung", False),
            "GS": DocumentType("GS", "Gutschrift", False),
            "ER": DocumentType("ER", "Eingangsrechnung", True),
        },
        payment_methods={
            "BAR": PaymentMethod("BAR", "Bar"),
            "EC": PaymentMethod("EC", "EC-Karte"),
        },
    )


VALID: dict[str, Any] = {
    "name": "Steuerbüro Schröder täglich",
    "branch": None,
    "workstation": None,
    "server_side": True,
    "start": "2026-01-01",
    "target": {
        "protocol": "ftp",
        "host": "ftp.steuerbuero.example",
        "port": 2121,
        "directory": "export/buchex",
        "data_interface": False,
        "user": "kanzlei",
        "password": "Geheim-Passwort-123",
    },
    "clients": ["1", "2"],
    "document_types": ["KR", "GS"],
    "payment_methods": [],
    "export_debtors": True,
    "format": "datev",
    "incoming_export": True,
    "incoming_format": "datev",
    "time": "06:30",
    "interval": {"kind": "daily"},
    "email": "buchhaltung@optik-mueller.example",
}


@pytest.fixture
def valid_raw() -> dict[str, Any]:
    return copy.deepcopy(VALID)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[FTPServer]:
    """A real FTP server (pyftpdlib) on 127.0.0.1 serving tmp_path/ftp-root."""
    root = tmp_path / "ftp-root"
    root.mkdir()
    with ftp_server(root) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server on 127.0.0.1 for the whole session (tests/pg_server.py).

    Skips where none can be started (initdb/pg_ctl missing); on CI (CI=true) that fails.
    """
    from tests import pg_server  # psycopg only for the tests that use it

    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(pg_server.postgres_server())
        except pg_server.PostgresUnavailable as exc:
            if os.environ.get("CI", "").lower() in ("true", "1"):
                pytest.fail(f"CI braucht einen PostgreSQL-Server: {exc}", pytrace=False)
            pytest.skip(str(exc))
        yield server


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh empty database on the session's server, dropped after the test; its name."""
    name = postgres_server.create_database()
    yield name
    postgres_server.drop_database(name)


@pytest.fixture
def workspace(home: Path) -> Iterator[Workspace]:
    yield Workspace(DataDir.open(home))


@pytest.fixture
def demo_home(home: Path) -> Path:
    """A data directory with small demo books (the real generator, a few weeks)."""
    from engine.ledger_demo import generate

    generate(home / "ledger.sqlite", months=1, per_day=5, seed=7, end=dt.date(2026, 11, 20))
    return home


def run_cli(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real `buchex` entry point in a child process."""
    env = {**os.environ, "BUCHEX_HOME": str(home)}
    env.pop("BUCHEX_SECRET_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
