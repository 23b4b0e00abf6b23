"""Export formats. The registry maps a config's `format` name to its German label; the
writers register themselves here (issue: export)."""

from __future__ import annotations

# Names are what config files store; labels are what the forms show.
FORMAT_CHOICES: tuple[tuple[str, str], ...] = (
    ("datev", "DATEV-Format"),
    ("csv", "CSV (UTF-8)"),
)
