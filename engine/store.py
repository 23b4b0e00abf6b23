"""A TinyDB file shared safely by several processes (TUI, daemon, CLI).

- Every read-modify-write runs in `transaction()`: an inter-process file lock, a fresh read
  of the file (no TinyDB instance or query cache outlives a transaction, so nothing is
  stale), one write at the end through temp file + fsync + atomic rename.
- `snapshot()` reads without the lock: renames are atomic, so a reader sees the last
  committed state, never a partial file.
- `stamp()` is a cheap change signal for pollers (one stat call); `revision()` is the
  monotonically increasing commit counter stored in the file.
- A damaged file raises StoreError naming it; it is never silently replaced.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from filelock import FileLock, Timeout
from tinydb import TinyDB
from tinydb.storages import Storage

from engine.errors import StoreError
from engine.paths import write_atomic

SCHEMA_VERSION = 1
META = "_meta"


class _MemoryStorage(Storage):
    """Holds the document read under the lock; TinyDB's writes only mark it dirty."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.dirty = False

    def read(self) -> dict[str, Any]:
        return self.data

    def write(self, data: dict[str, Any]) -> None:
        self.data = data
        self.dirty = True


Stamp = tuple[int, int, int]


class Store:
    def __init__(
        self, path: Path, *, lock_timeout: float = 30.0, first_keys: tuple[str, ...] = ()
    ) -> None:
        self.path = path
        # Tables written first in the file, in this order (e.g. small ones a reader wants
        # without parsing the rest); the others follow in their usual order.
        self._first_keys = first_keys
        # A short poll interval: contention is brief (one small JSON write), and the default
        # 50 ms would dominate the latency of concurrent writers.
        self._lock = FileLock(f"{path}.lock", timeout=lock_timeout, mode=0o600, poll_interval=0.002)

    # --- reading -------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = (
                f" (Zeile {exc.lineno}, Spalte {exc.colno})"
                if isinstance(exc, json.JSONDecodeError)
                else ""
            )
            raise StoreError(
                f"{self.path}: Datei ist beschädigt{where}. buchex überschreibt sie nicht; "
                "bitte aus einer Sicherung wiederherstellen."
            ) from exc
        if not isinstance(data, dict):
            raise StoreError(f"{self.path}: Datei ist beschädigt (kein JSON-Objekt).")
        schema = data.get(META, {}).get("1", {}).get("schema", SCHEMA_VERSION)
        if schema > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: Schema-Version {schema} ist neuer als diese buchex-Version "
                f"({SCHEMA_VERSION}); bitte buchex aktualisieren."
            )
        return data

    @contextmanager
    def snapshot(self) -> Iterator[TinyDB]:
        """Read-only view of the last committed state (no lock needed)."""
        db = TinyDB(self._load(), storage=_MemoryStorage)
        try:
            yield db
        finally:
            db.close()

    def stamp(self) -> Stamp | None:
        """Changes with every commit (the rename gives a new inode); None if no file yet."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def revision(self) -> int:
        rev: int = self._load().get(META, {}).get("1", {}).get("revision", 0)
        return rev

    # --- writing -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[TinyDB]:
        """Lock, read fresh, let the caller change the TinyDB, write once if it changed.
        An exception inside the block discards every change."""
        try:
            self._lock.acquire()
        except Timeout as exc:
            raise StoreError(
                f"{self.path}: gesperrt – ein anderer buchex-Prozess schreibt gerade "
                f"(länger als {self._lock.timeout:.0f} s)."
            ) from exc
        try:
            data = self._load()
            db = TinyDB(data, storage=_MemoryStorage)
            yield db
            storage = cast(_MemoryStorage, db.storage)
            if storage.dirty:
                self._commit(storage.data)
        finally:
            self._lock.release()

    def _commit(self, data: dict[str, Any]) -> None:
        # Only the lock holder writes temp files, so any left here belong to a writer that
        # was killed mid-write: sweep them.
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            stale.unlink(missing_ok=True)
        meta = data.setdefault(META, {}).setdefault("1", {})
        meta["schema"] = SCHEMA_VERSION
        meta["revision"] = int(meta.get("revision", 0)) + 1
        if self._first_keys:
            head = {k: data[k] for k in self._first_keys if k in data}
            data = head | {k: v for k, v in data.items() if k not in head}
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        write_atomic(self.path, payload.encode("utf-8"))
