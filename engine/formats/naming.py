"""What every export file name shares."""

from __future__ import annotations

from datetime import datetime


def run_stamp(now: datetime) -> str:
    """The run's creation time, part of every file name. Names must differ between runs:
    an hourly run, or a late booking with an old date, would otherwise reuse the name of a
    file the advisor has not imported yet, and the upload would replace it."""
    return f"{now:%Y%m%d-%H%M%S}"
