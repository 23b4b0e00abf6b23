"""The data directory: where it is and how files in it are created (0600, atomically)."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ENV_HOME = "BUCHEX_HOME"


def resolve_home(cli_home: str | os.PathLike[str] | None = None) -> Path:
    """`--home` beats `$BUCHEX_HOME` beats the platform's user data directory (SPEC §6)."""
    if cli_home:
        return Path(cli_home).expanduser().resolve()
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser().resolve()
    return Path(platformdirs.user_data_dir("buchex", appauthor=False))


@dataclass(frozen=True)
class DataDir:
    root: Path

    @classmethod
    def open(cls, cli_home: str | os.PathLike[str] | None = None) -> DataDir:
        root = resolve_home(cli_home)
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cls(root)

    @property
    def store_path(self) -> Path:
        """Configs, settings, users, watermarks."""
        return self.root / "buchex.json"

    @property
    def journal_path(self) -> Path:
        """The export journal: runs, watermarks, delivered bookings (engine/journal.py)."""
        return self.root / "journal.sqlite"

    @property
    def runs_dir(self) -> Path:
        """Run files of versions before the journal; migrated on first open."""
        return self.root / "runs"

    @property
    def outbox_dir(self) -> Path:
        """Files of deliveries not yet finished, one folder per run."""
        return self.root / "outbox"

    @property
    def locks_dir(self) -> Path:
        return self.root / "locks"

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.sqlite"

    @property
    def ledger_url(self) -> str:
        return f"sqlite:///{self.ledger_path}"

    @property
    def key_path(self) -> Path:
        return self.root / "secret.key"

    @property
    def known_hosts_path(self) -> Path:
        return self.root / "known_hosts"

    @property
    def audit_path(self) -> Path:
        return self.root / "audit.log"

    def lock_path(self, name: str) -> Path:
        return self.root / f"{name}.lock"


def touch_private(path: Path) -> None:
    """Create `path` 0600 if missing (lock files, logs); tighten it if it exists."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same directory + fsync + rename: readers see the old or the new file,
    never a partial one, even if this process is killed mid-write."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # The rename itself is only durable once the directory entry is flushed.
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files created inside (e.g. by sqlite) get 0600."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def local_problem(exc: OSError) -> str:
    """A German reason for a failing local file: the path and what to do."""
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return (
            f"kein Platz mehr auf dem Datenträger des Datenverzeichnisses{where}. Platz "
            "schaffen (z. B. alte Dateien löschen) und den Lauf wiederholen; es ging nichts "
            "verloren."
        )
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (
            f"das Datenverzeichnis ist nicht beschreibbar{where}. Schreibrechte des Benutzers, "
            "unter dem buchex läuft, und den Mount (schreibgeschützt?) prüfen."
        )
    return f"lokale Datei nicht schreibbar oder lesbar{where}: {exc.strerror or exc}"
