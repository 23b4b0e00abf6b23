"""A throwaway PostgreSQL server on 127.0.0.1 for the ledger tests; no pytest in here.

- `find_binaries()`: the directory with `initdb` and `pg_ctl` (PATH, else the newest
  `/usr/lib/postgresql/<version>/bin`, where Debian's `postgresql` package puts them).
- `postgres_server()`: a context manager that creates a cluster with `initdb` in a new
  temp dir, starts it with `pg_ctl` listening only on 127.0.0.1 on a free port (unix socket
  in the temp dir too), yields a `PostgresServer` and stops and removes it at the end.
  PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the `postgres` OS user
  (`runuser -u postgres -- …`) in a temp dir that user owns.
- `create_contract_tables()`, `load_ledger()`: the SPEC §5 tables with natural PostgreSQL
  types (INTEGER ids, DATE document_date, BIGINT amount_cents, BOOLEAN flags, TEXT) plus the
  index on bookings (client_id, journal_no), filled from an embedded SQLite ledger.
- `create_readonly_role()`: a LOGIN role with CONNECT, USAGE and SELECT only; returns its
  SQLAlchemy URL. `create_ledger_database()`: all of it in a new database.

The superuser logs in over TCP with a password (scram-sha-256), like every other role: the
tests go through the same authentication a production server would ask for.

No sleeps for synchronisation: `pg_ctl start -w` polls the server's pid file against a
deadline, and the readiness check polls connection attempts against a deadline.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import secrets
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg import sql

HOST: Final = "127.0.0.1"
DRIVER: Final = "postgresql+psycopg"
OS_USER: Final = "postgres"  # the account Debian's package creates; used when run as root
ADMIN_USER: Final = "buchex_admin"
START_TIMEOUT: Final = 60.0

CONTRACT_TABLES: Final = (
    "clients",
    "branches",
    "document_types",
    "payment_methods",
    "partners",
    "bookings",
)

# SPEC §5 in natural PostgreSQL types. {name} placeholders: the real table names, so the same
# DDL builds a ledger whose tables have other names (exposed through views).
CONTRACT_DDL: Final = """
CREATE TABLE {clients} (
    id                INTEGER  PRIMARY KEY,
    name              TEXT     NOT NULL,
    consultant_no     INTEGER  NOT NULL,
    client_no         INTEGER  NOT NULL,
    fiscal_year_start TEXT     NOT NULL DEFAULT '01-01',
    account_length    SMALLINT NOT NULL DEFAULT 4,
    chart             TEXT     NOT NULL CHECK (chart IN ('SKR03', 'SKR04')),
    lock_batches      BOOLEAN  NOT NULL DEFAULT false
);
CREATE TABLE {branches} (
    id          INTEGER PRIMARY KEY,
    client_id   INTEGER NOT NULL REFERENCES {clients} (id),
    name        TEXT    NOT NULL,
    cost_center TEXT
);
CREATE TABLE {document_types} (
    code     TEXT    PRIMARY KEY,
    name     TEXT    NOT NULL,
    incoming BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE {payment_methods} (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE {partners} (
    client_id INTEGER NOT NULL REFERENCES {clients} (id),
    account   TEXT    NOT NULL,
    kind      TEXT    NOT NULL CHECK (kind IN ('debtor', 'creditor')),
    name      TEXT    NOT NULL,
    street    TEXT,
    postcode  TEXT,
    city      TEXT,
    country   TEXT,
    vat_id    TEXT,
    email     TEXT,
    PRIMARY KEY (client_id, account)
);
CREATE TABLE {bookings} (
    journal_no      BIGINT  PRIMARY KEY,
    client_id       INTEGER NOT NULL REFERENCES {clients} (id),
    branch_id       INTEGER NOT NULL REFERENCES {branches} (id),
    document_type   TEXT    NOT NULL REFERENCES {document_types} (code),
    document_no     TEXT    NOT NULL,
    document_date   DATE    NOT NULL,
    amount_cents    BIGINT  NOT NULL CHECK (amount_cents > 0),
    debit_credit    CHAR(1) NOT NULL CHECK (debit_credit IN ('S', 'H')),
    account         TEXT    NOT NULL,
    contra_account  TEXT    NOT NULL,
    tax_key         TEXT,
    text            TEXT,
    payment_method  TEXT    REFERENCES {payment_methods} (code),
    partner_account TEXT,
    cost_center     TEXT
);
CREATE INDEX {bookings}_client_journal ON {bookings} (client_id, journal_no);
"""

# Columns whose SQLite values (0/1, ISO text) are loaded as PostgreSQL booleans and dates.
_BOOLEAN_COLUMNS: Final = {"clients": {"lock_batches"}, "document_types": {"incoming"}}
_DATE_COLUMNS: Final = {"bookings": {"document_date"}}


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here (binaries or the OS user missing)."""


# -- finding and running the binaries ------------------------------------------------


def find_binaries() -> Path:
    """The directory with initdb and pg_ctl; else PostgresUnavailable naming what is missing."""
    initdb = shutil.which("initdb")
    if initdb is not None:
        directory = Path(initdb).resolve().parent
        if (directory / "pg_ctl").is_file():
            return directory
    candidates = sorted(
        (p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda d: _version_key(d.parent.name),
        reverse=True,
    )
    for directory in candidates:
        if (directory / "pg_ctl").is_file():
            return directory
    raise PostgresUnavailable(
        "PostgreSQL-Server fehlt: initdb/pg_ctl weder im PATH noch in "
        "/usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)"
    )


def _version_key(name: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return (0,)


def _os_user() -> pwd.struct_passwd | None:
    """The account to run PostgreSQL as: None for the current user, `postgres` for root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(OS_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"PostgreSQL läuft nicht als root, und der OS-Benutzer {OS_USER} fehlt "
            "(Debian: apt-get install postgresql legt ihn an)"
        ) from None


def _run(
    argv: list[str], user: pwd.struct_passwd | None, timeout: float = START_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    if user is not None:
        argv = ["runuser", "-u", user.pw_name, "--", *argv]
    return subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",  # runuser's user may not be allowed into the current directory
        env={**os.environ, "LC_ALL": "C", "LANG": "C"},
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# -- the server ----------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway server. Every URL goes over TCP to 127.0.0.1 with a password."""

    host: str
    port: int
    admin_user: str
    admin_password: str
    base: Path  # the temp dir: data/, the socket, the log
    bin_dir: Path

    def url(
        self,
        database: str = "postgres",
        user: str | None = None,
        password: str | None = None,
        driver: str = DRIVER,
    ) -> str:
        """A SQLAlchemy URL; the admin's credentials unless `user`/`password` are given."""
        from sqlalchemy import URL

        return URL.create(
            driver,
            username=user or self.admin_user,
            password=password if user is not None else self.admin_password,
            host=self.host,
            port=self.port,
            database=database,
        ).render_as_string(hide_password=False)

    @property
    def admin_url(self) -> str:
        """The superuser's SQLAlchemy URL for the `postgres` maintenance database."""
        return self.url()

    def connect(
        self, database: str = "postgres", *, autocommit: bool = False
    ) -> psycopg.Connection:
        """A psycopg connection as the superuser (the caller closes it, e.g. `with`)."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.admin_user,
            password=self.admin_password,
            dbname=database,
            autocommit=autocommit,
            connect_timeout=10,
        )

    def create_database(self, name: str | None = None) -> str:
        """Create a new empty database (a unique name unless given); returns its name."""
        name = name or f"t_{next(_database_numbers)}_{secrets.token_hex(3)}"
        with self.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database even while connections are open (PostgreSQL ≥ 13)."""
        with self.connect(autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


_database_numbers = itertools.count(1)


@contextlib.contextmanager
def postgres_server(timeout: float = START_TIMEOUT) -> Iterator[PostgresServer]:
    """initdb + pg_ctl in a new temp dir, on 127.0.0.1 only; stopped and removed at the end.

    Raises PostgresUnavailable where no server can be started (the binaries or, as root, the
    `postgres` OS user are missing), RuntimeError with the server's log when one fails to start.
    """
    bin_dir = find_binaries()
    user = _os_user()
    base = Path(tempfile.mkdtemp(prefix="buchex-pg-"))
    try:
        if user is not None:
            os.chown(base, user.pw_uid, user.pw_gid)  # mkdtemp made it 0700
        data = base / "data"
        password = secrets.token_urlsafe(16)
        pwfile = base / "pwfile"
        pwfile.write_text(password + "\n")
        if user is not None:
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        init = _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                ADMIN_USER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",  # the socket is in the 0700 temp dir
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            user,
            timeout,
        )
        pwfile.unlink()
        if init.returncode != 0:
            raise RuntimeError(f"initdb fehlgeschlagen:\n{init.stdout}{init.stderr}")
        # Appended settings win over initdb's; root can write the postgres-owned file.
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# buchex tests: a throwaway server\n"
                f"listen_addresses = '{HOST}'\n"
                f"unix_socket_directories = '{base}'\n"
                "fsync = off\n"
                "synchronous_commit = off\n"
                "full_page_writes = off\n"
                "max_connections = 50\n"
                "timezone = 'UTC'\n"
            )
        log = base / "server.log"
        try:
            port = _start(bin_dir, data, log, user, timeout)
            server = PostgresServer(HOST, port, ADMIN_USER, password, base, bin_dir)
            _wait_ready(server, log, timeout)
            yield server
        finally:
            if (data / "postmaster.pid").exists():  # running, or still starting up
                pg_ctl = str(bin_dir / "pg_ctl")
                stop = _run([pg_ctl, "stop", "-D", str(data), "-m", "fast", "-w"], user)
                if stop.returncode != 0:  # do not leave it behind
                    _run([pg_ctl, "stop", "-D", str(data), "-m", "immediate", "-w"], user)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _start(
    bin_dir: Path, data: Path, log: Path, user: pwd.struct_passwd | None, timeout: float
) -> int:
    """`pg_ctl start -w` on a free port; another port if the first was taken meanwhile."""
    failures = []
    for _attempt in range(3):
        port = _free_port()
        started = _run(
            [
                str(bin_dir / "pg_ctl"),
                "start",
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-t",
                str(int(timeout)),
                "-o",
                f"-p {port}",
            ],
            user,
            timeout + 10,
        )
        if started.returncode == 0:
            return port
        text = log.read_text(errors="replace") if log.exists() else ""
        failures.append(f"{started.stdout}{started.stderr}{text}")
        if "could not bind" not in text and "already in use" not in text:
            break
    raise RuntimeError("PostgreSQL startet nicht (pg_ctl start):\n" + "\n".join(failures))


def _wait_ready(server: PostgresServer, log: Path, timeout: float) -> None:
    """Poll connection attempts over TCP until one succeeds or the deadline passes."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        try:
            with server.connect() as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                text = log.read_text(errors="replace") if log.exists() else ""
                raise RuntimeError(
                    f"PostgreSQL auf {server.host}:{server.port} nicht bereit "
                    f"nach {timeout:.0f} s: {exc}\n{text}"
                ) from exc
        time.sleep(delay)  # polling interval, not synchronisation
        delay = min(delay * 2, 0.2)


# -- contract tables and roles ---------------------------------------------------------


def create_contract_tables(
    conn: psycopg.Connection, names: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Create the six contract tables (with the index on bookings (client_id, journal_no)).

    `names` maps contract names to other table names (for a ledger exposed through views);
    returns the mapping used. Does not commit.
    """
    used = {table: (names or {}).get(table, table) for table in CONTRACT_TABLES}
    ddl = CONTRACT_DDL.format(**used)
    conn.execute(ddl.encode())  # several statements: simple query protocol, no parameters
    return used


def _sqlite_rows(sqlite_path: Path, table: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    booleans = _BOOLEAN_COLUMNS.get(table, set())
    dates = _DATE_COLUMNS.get(table, set())
    conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    finally:
        conn.close()
    converted = []
    for row in rows:
        values = []
        for column, value in zip(columns, row, strict=True):
            if value is not None and column in booleans:
                value = bool(value)
            elif value is not None and column in dates:
                value = date.fromisoformat(value)
            values.append(value)
        converted.append(tuple(values))
    return converted


def load_ledger(
    conn: psycopg.Connection, sqlite_path: Path, names: Mapping[str, str] | None = None
) -> dict[str, int]:
    """Copy every contract table of an embedded SQLite ledger into the (empty) tables.

    Uses COPY; `names` as for `create_contract_tables`. Returns the row count per contract
    table. Does not commit.
    """
    from engine.ledger import CONTRACT

    counts: dict[str, int] = {}
    for table in CONTRACT_TABLES:  # parents before children (foreign keys)
        columns = CONTRACT[table]
        rows = _sqlite_rows(sqlite_path, table, columns)
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier((names or {}).get(table, table)),
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        )
        with conn.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        counts[table] = len(rows)
    conn.execute("ANALYZE")
    return counts


def create_readonly_role(
    server: PostgresServer,
    database: str,
    user: str = "buchex_reader",
    password: str | None = None,
    objects: Iterable[str] = CONTRACT_TABLES,
    schema: str = "public",
) -> str:
    """A LOGIN role with CONNECT on `database`, USAGE on `schema` and SELECT on `objects`
    (tables or views), nothing else; returns its SQLAlchemy URL. Another schema than public
    becomes the role's search_path in that database. The role is cluster-wide: an existing
    one of that name just gets the grants on this database (and a new password)."""
    password = password or secrets.token_urlsafe(12)
    with server.connect(autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(user), sql.Literal(password)
            )
        )
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(user)
            )
        )
    with server.connect(database, autocommit=True) as conn:
        if schema == "public":  # PostgreSQL ≤ 14 let everybody create tables there
            conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                sql.Identifier(schema), sql.Identifier(user)
            )
        )
        conn.execute(
            sql.SQL("GRANT SELECT ON {} TO {}").format(
                sql.SQL(", ").join(sql.Identifier(schema, name) for name in objects),
                sql.Identifier(user),
            )
        )
        if schema != "public":
            conn.execute(
                sql.SQL("ALTER ROLE {} IN DATABASE {} SET search_path = {}").format(
                    sql.Identifier(user), sql.Identifier(database), sql.Identifier(schema)
                )
            )
    return server.url(database, user=user, password=password)


def create_ledger_database(
    server: PostgresServer,
    sqlite_path: Path,
    *,
    database: str | None = None,
    reader: str = "buchex_reader",
) -> tuple[str, str]:
    """A new database with the contract tables filled from an embedded SQLite ledger and a
    read-only role for it: (database name, the role's SQLAlchemy URL)."""
    database = server.create_database(database)
    with server.connect(database) as conn:
        create_contract_tables(conn)
        load_ledger(conn, sqlite_path)
        conn.commit()
    return database, create_readonly_role(server, database, user=reader)
