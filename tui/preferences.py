"""The TUI's preferences per OS user (now: the colour theme), in a small JSON file.

`platformdirs.user_config_dir("buchex")/tui.json` (on Linux `~/.config/buchex/tui.json`),
or the file `$BUCHEX_TUI_CONFIG` names. Not in the data directory: the data directory is
shared by every admin of the installation, a colour theme is one person's choice. A file
that cannot be read or written is ignored (the TUI starts with the default theme, and a
change that cannot be saved only lasts the session): never a crash over a colour.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

ENV = "BUCHEX_TUI_CONFIG"


def default_path() -> Path:
    if named := os.environ.get(ENV):
        return Path(named)
    import platformdirs

    return Path(platformdirs.user_config_dir("buchex")) / "tui.json"


class Preferences:
    """Read once at start (`load`), written on each change (`set`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.values: dict[str, Any] = {}

    @classmethod
    def default(cls) -> Preferences:
        return cls(default_path()).load()

    def load(self) -> Preferences:
        try:
            values = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            values = {}
        self.values = values if isinstance(values, dict) else {}
        return self

    @property
    def theme(self) -> str | None:
        theme = self.values.get("theme")
        return theme if isinstance(theme, str) else None

    def set(self, **changes: Any) -> bool:
        """Store the changes; False if the file could not be written (kept in memory)."""
        self.values.update(changes)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tui-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(self.values, out, ensure_ascii=False, indent=2)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            return False
        return True
