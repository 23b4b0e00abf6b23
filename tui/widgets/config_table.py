"""The Schnittstellen table: a `VirtualTable` of (key, cells) rows, fast enough to rebuild on
each keystroke of the filter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import BindingType

from tui.formatting import STATUSES, status_of
from tui.widgets.virtual_table import GAP, VirtualTable, fit, nav_bindings

# (label, width): the cells in this order (`get_row`). The status columns (Nächste
# Ausführung, Letzter Lauf) are always whole: as wide as their widest cell, never cut, and
# shown at any width (80×24 too). The name gives way first (down to NAME_MIN, ellipsized);
# Intervall, Rechner, Format, Filiale come before the status columns only while the name
# keeps NAME_WIDE cells, else after them (reached by scrolling sideways). What is left over
# goes to the name.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("Name", 22),
    ("Filiale", 10),
    ("Rechner", 12),
    ("Format", 6),
    ("Intervall", 20),
    ("Nächste Ausführung", 18),
    ("Letzter Lauf", 12),
)
NAME, DUE, LAST = 0, 5, 6
# In the order they get room: Intervall, Rechner (what "a", Arbeitsplatz, filters by),
# Format, Filiale.
OPTIONAL = (4, 2, 3, 1)
NAME_MIN = 12
NAME_WIDE = 22

# (key, cells in COLUMNS order, failing: the config's latest finished run failed)
Row = tuple[str, tuple[str, ...], bool]


class ConfigTable(VirtualTable[Row]):
    PREFIX = "config-table"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "config-table--header",
        "config-table--cursor",
        "config-table--odd",
        *(f"config-table--{status}" for status in STATUSES),  # styled in app.tcss
    }
    BINDINGS: ClassVar[list[BindingType]] = nav_bindings(
        "Bearbeiten", "Die ausgewählte Schnittstelle bearbeiten"
    )
    RowSelected = VirtualTable.Selected  # Enter (or a click on the current row): edit

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._width = 0  # the last width laid out for
        self._order: list[int] = list(range(len(COLUMNS)))  # the columns as shown
        self._widths: list[int] = [w for _, w in COLUMNS]
        self._line_width = self._measure()

    def show(self, rows: Sequence[tuple[str, Sequence[str], bool]], keep: str | None) -> None:
        """Replace the rows ((key, cells, failing) each); the cursor stays on `keep`."""
        new = [(key, tuple(cells), failing) for key, cells, failing in rows]
        self._rows = new  # measured by the layout before the rows are drawn
        self._layout(self._width)
        super().show(new, keep)

    def row_key(self, row: Row) -> str:
        return row[0]

    def get_row(self, key: str) -> list[str]:
        return list(self._rows[self._index[key]][1])

    def is_failing(self, key: str) -> bool:
        return self._rows[self._index[key]][2]

    @property
    def shown_columns(self) -> list[tuple[str, int]]:
        """(label, width) as drawn, left to right."""
        return [(COLUMNS[n][0], self._widths[n]) for n in self._order]

    # --- layout ---------------------------------------------------------------------------

    def _measure(self) -> int:
        return sum(self._widths[n] + GAP for n in self._order)

    def _layout(self, width: int) -> None:
        self._width = width
        widths = [w for _, w in COLUMNS]
        for n in (DUE, LAST):  # whole: as wide as the widest cell
            widths[n] = max([cell_len(COLUMNS[n][0]), *(cell_len(r[1][n]) for r in self._rows)])
        name = width - 1 - GAP - (widths[DUE] + GAP) - (widths[LAST] + GAP)
        front: list[int] = []
        for n in OPTIONAL:
            if name - (widths[n] + GAP) >= NAME_WIDE:
                front.append(n)
                name -= widths[n] + GAP
        widths[NAME] = max(NAME_MIN, name)
        back = [n for n in OPTIONAL if n not in front]
        self._order = [NAME, *sorted(front), DUE, LAST, *sorted(back)]
        self._widths = widths
        self._line_width = self._measure()

    # --- rendering ------------------------------------------------------------------------

    def _header_segments(self, style: Style) -> list[Segment]:
        gap = " " * GAP
        return [
            Segment("".join(gap + fit(COLUMNS[n][0], self._widths[n]) for n in self._order), style)
        ]

    def _row_segments(self, row: Row, style: Style, cursor: bool) -> list[Segment]:
        _, cells, failing = row
        segments: list[Segment] = []
        for n in self._order:
            segments.append(Segment(" " * GAP, style))
            text = fit(cells[n], self._widths[n])
            status = (
                status_of(cells[n]) if n == LAST else "failed" if failing and n == NAME else None
            )
            if status is None:
                segments.append(Segment(text, style))
                continue
            cell = self.get_component_rich_style(f"config-table--{status}", partial=True)
            # On the cursor only weight and dimness: its colours keep the contrast.
            segments.append(
                Segment(text, style + (Style(bold=cell.bold, dim=cell.dim) if cursor else cell))
            )
        return segments
