"""A TinyDB file shared safely by several processes (TUI, daemon, CLI).

- Every read-modify-write runs in `transaction()`: an inter-process file lock, a fresh read
  of the file (no TinyDB instance or query cache outlives a transaction, so nothing is
  stale), one write at the end through temp file + fsync + atomic rename.
- `snapshot()` reads without the lock: renames are atomic, so a reader sees the last
  committed state, never a partial file.
- `stamp()` is a cheap change signal for pollers (one stat call); `revision()` is the
  monotonically increasing commit counter stored in the file.
- The file is compact JSON with one document per line (`{"configs":{` ⏎ `"1":{…}` ⏎
  `,"2":{…}` ⏎ `}}`): JSON escapes a line break inside a string, so every raw line break
  lies between documents, and `read(reuse)` parses only the lines that changed since the
  last read (a reload after one edited config out of 1000: one document, not the file).
- A damaged file raises StoreError naming it; it is never silently replaced.
"""

from __future__ import annotations

import gc
import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tinydb import TinyDB
from tinydb.storages import Storage

from engine.errors import StoreError
from engine.paths import write_atomic

if TYPE_CHECKING:
    from filelock import FileLock

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
#: `Store.read(reuse)`: a document's JSON text (bytes of its line) → its parsed value
DocCache = dict[bytes, Any]
_DOC_KEY = re.compile(rb',?"[0-9]+":')


def _dumps(data: dict[str, Any]) -> str:
    """Compact JSON with every document of a table on its own line (module docstring)."""
    parts = []
    for name, table in data.items():
        key = json.dumps(name, ensure_ascii=False)
        if isinstance(table, dict) and table:
            docs = "\n,".join(
                f"{json.dumps(str(doc_id))}:"
                f"{json.dumps(doc, ensure_ascii=False, separators=(',', ':'))}"
                for doc_id, doc in table.items()
            )
            parts.append(f"{key}:{{\n{docs}\n}}")
        else:
            parts.append(f"{key}:{json.dumps(table, ensure_ascii=False, separators=(',', ':'))}")
    return "{" + ",".join(parts) + "}"


def _load_lines(text: bytes, reuse: DocCache) -> dict[str, Any] | None:
    """Parse a file written by `_dumps`, taking unchanged documents from `reuse` (which is
    updated to this file's documents). None when the text is not in that layout (an older
    file, or damaged): the caller parses it whole."""
    skeleton: list[bytes] = []
    values: list[Any] = []
    seen: DocCache = {}
    with _gc_paused():
        try:
            for line in text.split(b"\n"):
                match = _DOC_KEY.match(line)
                if match is None:  # table braces: `{"name":{`, `},"name":{`, `}}`
                    skeleton.append(line)
                    continue
                doc_text = line[match.end() :]
                value = reuse.get(doc_text)
                if value is None:
                    value = json.loads(doc_text)
                seen[doc_text] = value
                values.append(value)
                skeleton.append(match.group() + b"0")
            data = json.loads(b"\n".join(skeleton))
            if not isinstance(data, dict):
                return None
            slots = [
                (table, doc_id)
                for table in data.values()
                if isinstance(table, dict)
                for doc_id, placeholder in table.items()
                if placeholder == 0
            ]
        except (ValueError, UnicodeDecodeError):
            return None
    if len(slots) != len(values):
        return None
    for (table, doc_id), value in zip(slots, values, strict=True):
        table[doc_id] = value
    reuse.clear()
    reuse.update(seen)
    return data


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a whole store file is parsed: the parse makes
    tens of thousands of (acyclic) containers, and the collections they trigger, up to
    full ones over every object of the process, cost more than the parse itself (1000
    configs: 4 ms parse, 8–40 ms with the collector on)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Store:
    def __init__(
        self, path: Path, *, lock_timeout: float = 30.0, first_keys: tuple[str, ...] = ()
    ) -> None:
        self.path = path
        # Tables written first in the file, in this order (e.g. small ones a reader wants
        # without parsing the rest); the others follow in their usual order.
        self._first_keys = first_keys
        self._lock_timeout = lock_timeout
        self._lock: FileLock | None = None  # made on the first write (`_file_lock`)
        self._lock_guard = threading.Lock()

    # --- reading -------------------------------------------------------------------------

    def _load(self, reuse: DocCache | None = None) -> dict[str, Any]:
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        if reuse is not None:
            data = _load_lines(text, reuse)
            if data is not None:
                return self._checked(data)
        try:
            with _gc_paused():
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
        return self._checked(data)

    def _checked(self, data: dict[str, Any]) -> dict[str, Any]:
        schema = data.get(META, {}).get("1", {}).get("schema", SCHEMA_VERSION)
        if schema > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: Schema-Version {schema} ist neuer als diese buchex-Version "
                f"({SCHEMA_VERSION}); bitte buchex aktualisieren."
            )
        return data

    def read(self, reuse: DocCache | None = None) -> dict[str, Any]:
        """The last committed state as parsed JSON, `{table: {doc id: doc}}`, without
        TinyDB: for readers that take every document of a table. Read-only: do not modify.

        `reuse` (an empty dict at first, then the same one on every call) maps each
        document's JSON text to its parsed value: a document whose line is unchanged is the
        same object as last time, and only changed lines are parsed."""
        return self._load(reuse)

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
        from filelock import Timeout

        lock = self._file_lock()
        try:
            lock.acquire()
        except Timeout as exc:
            raise StoreError(
                f"{self.path}: gesperrt – ein anderer buchex-Prozess schreibt gerade "
                f"(länger als {lock.timeout:.0f} s)."
            ) from exc
        try:
            data = self._load()
            db = TinyDB(data, storage=_MemoryStorage)
            yield db
            storage = cast(_MemoryStorage, db.storage)
            if storage.dirty:
                self._commit(storage.data)
        finally:
            lock.release()

    def _file_lock(self) -> FileLock:
        """The writers' lock file, made on the first write: readers (`buchex config list`,
        the TUI's start) never import filelock (~10 ms)."""
        with self._lock_guard:
            if self._lock is None:
                from filelock import FileLock

                # A short poll interval: contention is brief (one small JSON write), and the
                # default 50 ms would dominate the latency of concurrent writers.
                self._lock = FileLock(
                    f"{self.path}.lock", timeout=self._lock_timeout, mode=0o600, poll_interval=0.002
                )
            return self._lock

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
        payload = _dumps(data)
        write_atomic(self.path, payload.encode("utf-8"))
