"""What every export file name shares."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.formats import FileInfo


def run_stamp(now: datetime) -> str:
    """The run's creation time, part of every file name. Names must differ between runs:
    an hourly run, or a late booking with an old date, would otherwise reuse the name of a
    file the advisor has not imported yet, and the upload would replace it."""
    return f"{now:%Y%m%d-%H%M%S}"


def file_name(prefix: str, mandant: str, info: FileInfo, now: datetime, ext: str = "csv") -> str:
    """`<prefix>_<Mandant>_<von>_<bis>[_<Teil>]_<Lauf>.<ext>` for bookings;
    `<prefix>_<Mandant>_<Lauf>.<ext>` for master data (a file without a period)."""
    if info.date_from is None or info.date_to is None:
        return f"{prefix}_{mandant}_{run_stamp(now)}.{ext}"
    part = "" if info.part is None else f"_{info.part}"
    period = f"{info.date_from:%Y%m%d}_{info.date_to:%Y%m%d}"
    return f"{prefix}_{mandant}_{period}{part}_{run_stamp(now)}.{ext}"
