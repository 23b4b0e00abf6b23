"""Append-only audit record of changes: who, when, what, which fields — never values."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from filelock import FileLock


def current_actor() -> str:
    """The OS login name (the TUI maps it to a buchex user)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: FileLock | None = None  # made on the first record: readers need none
        self._lock_guard = threading.Lock()

    def _file_lock(self) -> FileLock:
        with self._lock_guard:
            if self._lock is None:
                from filelock import FileLock

                self._lock = FileLock(f"{self.path}.lock", mode=0o600, poll_interval=0.002)
            return self._lock

    def record(
        self,
        action: str,
        *,
        config_id: str | None = None,
        fields: Iterable[str] = (),
        detail: str | None = None,
        actor: str | None = None,
    ) -> None:
        entry: dict[str, Any] = {
            "ts": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "actor": actor or current_actor(),
            "action": action,
        }
        if config_id is not None:
            entry["config_id"] = config_id
        field_list = list(fields)
        if field_list:
            entry["fields"] = field_list
        if detail:
            entry["detail"] = detail
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        # O_APPEND: lines are only ever added; the lock keeps lines whole across processes.
        with self._file_lock():
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def entries(self) -> list[dict[str, Any]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]
