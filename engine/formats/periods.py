"""How a format splits a client's bookings into files by date (`FormatSpec.file_periods`).

A rule takes the client and returns a function from a booking's document date to the
period of the file that booking goes to. `engine.export` only groups bookings by that
period, orders the files by it and hands it back to the writer in `FileInfo.period`; what a
period means is the format's business.

DATEV writes Belegdatum as TTMM and takes the year from the file's header (WJ-Beginn,
Datum vom/bis), so a DATEV file holds one fiscal year and, within it, one calendar year:
`fiscal_and_calendar_year`. Lexware imports one year at a time and uses the same rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from engine.ledger import Client


class FiscalPeriod(NamedTuple):
    """A file's period: one fiscal year (its first day) and one calendar year within it."""

    fiscal_year_start: date
    year: int


def fiscal_and_calendar_year(client: Client) -> Callable[[date], FiscalPeriod]:
    """The client's split: one file per fiscal year (starting `client.fiscal_year_start`,
    MM-DD) and again per calendar year."""
    start = client.fiscal_year_start

    def period(day: date) -> FiscalPeriod:
        return FiscalPeriod(fiscal_year_start(day, start), day.year)

    return period


def fiscal_year_start(day: date, start_mmdd: str) -> date:
    """First day of the fiscal year holding `day`, for a fiscal year starting MM-DD."""
    month, dom = int(start_mmdd[:2]), int(start_mmdd[3:5])
    start = _clamped(day.year, month, dom)
    return start if start <= day else _clamped(day.year - 1, month, dom)


def _clamped(year: int, month: int, day: int) -> date:
    """date(year, month, day) with the day clamped to the month (02-29 in other years)."""
    while True:
        try:
            return date(year, month, day)
        except ValueError:
            if day <= 28:
                raise
            day -= 1


def check_fiscal_year_start(value: str) -> None:
    """Raise ValueError (German) unless `value` is a usable MM-DD."""
    if not re.fullmatch(r"\d\d-\d\d", value):
        raise ValueError(f"Beginn des Wirtschaftsjahres „{value}“ ist kein MM-TT")
    try:
        _clamped(2001, int(value[:2]), int(value[3:]))
    except ValueError:
        raise ValueError(f"Beginn des Wirtschaftsjahres „{value}“ ist kein Datum") from None
