"""The Schnittstellen table: a `VirtualTable` of (key, cells) rows, fast enough to rebuild on
each keystroke of the filter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import BindingType

from tui.widgets.virtual_table import GAP, VirtualTable, fit, nav_bindings

# (label, width): fixed widths keep the layout steady while rows come and go; Name (the
# first) takes what is left of wider terminals. At 80 columns the table scrolls sideways.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("Name", 22),
    ("Filiale", 10),
    ("Rechner", 12),
    ("Format", 6),
    ("Intervall", 20),
    ("Nächste Ausführung", 18),
    ("Letzter Lauf", 22),
)

Row = tuple[str, tuple[str, ...]]


class ConfigTable(VirtualTable[Row]):
    PREFIX = "config-table"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "config-table--header",
        "config-table--cursor",
        "config-table--odd",
    }
    BINDINGS: ClassVar[list[BindingType]] = nav_bindings("Bearbeiten")
    RowSelected = VirtualTable.Selected  # Enter (or a click on the current row): edit

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._set_widths([w for _, w in COLUMNS])

    def _set_widths(self, widths: list[int]) -> None:
        self._widths = widths
        self._line_width = sum(w + GAP for w in widths)
        self._header = self._line([label for label, _ in COLUMNS])

    def _line(self, cells: Sequence[str]) -> str:
        gap = " " * GAP
        return "".join(gap + fit(c, w) for c, w in zip(cells, self._widths, strict=True))

    def show(self, rows: Sequence[tuple[str, Sequence[str]]], keep: str | None) -> None:
        """Replace the rows ((key, cells) each); the cursor stays on `keep` if shown."""
        super().show([(key, tuple(cells)) for key, cells in rows], keep)

    def row_key(self, row: Row) -> str:
        return row[0]

    def get_row(self, key: str) -> list[str]:
        return list(self._rows[self._index[key]][1])

    def _layout(self, width: int) -> None:
        others = sum(w + GAP for _, w in COLUMNS[1:])
        name = max(COLUMNS[0][1], width - others - GAP - 1)
        if name != self._widths[0]:
            self._set_widths([name, *self._widths[1:]])

    def _header_segments(self, style: Style) -> list[Segment]:
        return [Segment(self._header, style)]

    def _row_segments(self, row: Row, style: Style, cursor: bool) -> list[Segment]:
        return [Segment(self._line(row[1]), style)]
