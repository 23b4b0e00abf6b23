"""The Protokoll's run table: a `VirtualTable` of `RunRow`s, the status cells styled by
component classes, the columns fitted to the width."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import BindingType

from engine.runs import RunRecord
from tui.widgets.virtual_table import GAP, VirtualTable, fit, nav_bindings


@dataclass(frozen=True)
class RunRow:
    """One run as the table shows it (cells built once per changed run file)."""

    record: RunRecord
    cells: tuple[str, ...]  # in COLUMNS order

    @property
    def key(self) -> str:
        return self.record.id

    @property
    def status(self) -> str:
        return self.record.status


# (label, width, shown below 100 columns): the narrow set keeps what tells a failure apart,
# Enter shows the rest. Schnittstelle and Schritt/Grund share what wider terminals add.
COLUMNS: tuple[tuple[str, int, bool], ...] = (
    ("Beginn", 15, True),
    ("Schnittstelle", 16, True),
    ("Auslöser", 10, False),
    ("Status", 23, True),
    ("Dateien", 7, False),
    ("Zeilen", 8, False),
    ("Schritt/Grund", 20, True),
)
_NAME, _STATUS, _REASON = 1, 3, 6
_RIGHT = {4, 5}  # numbers right-aligned
_NARROW_STATUS = 17  # "✗ fehlgeschlagen"; "○ nichts zu exportieren" is cropped
_FULL_FROM = 108  # table width that shows every column without scrolling


class RunTable(VirtualTable[RunRow]):
    """Runs as lines, newest first; `Highlighted` whenever the current run changes."""

    PREFIX = "run-table"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "run-table--header",
        "run-table--cursor",
        "run-table--odd",
        "run-table--ok",
        "run-table--failed",
        "run-table--running",
        "run-table--skipped",
    }
    BINDINGS: ClassVar[list[BindingType]] = nav_bindings(
        "Details", "Alle Details des ausgewählten Laufs"
    )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._columns: list[int] = [n for n, (_, _, narrow) in enumerate(COLUMNS) if narrow]
        self._widths: dict[int, int] = {n: w for n, (_, w, _) in enumerate(COLUMNS)}
        self._line_width = self._measure()
        self._highlighted: str | None = None

    def row_key(self, row: RunRow) -> str:
        return row.key

    def get_row(self, key: str) -> RunRow:
        return self._rows[self._index[key]]

    @property
    def column_labels(self) -> list[str]:
        return [COLUMNS[n][0] for n in self._columns]

    def _cursor_moved(self) -> None:
        key = self.current_key
        if key != self._highlighted:
            self._highlighted = key
            self.post_message(self.Highlighted(self, key))

    # --- layout ---------------------------------------------------------------------------

    def _measure(self) -> int:
        return sum(self._widths[n] + GAP for n in self._columns)

    def _layout(self, width: int) -> None:
        full = width >= _FULL_FROM
        self._columns = [n for n, (_, _, narrow) in enumerate(COLUMNS) if full or narrow]
        widths = {n: w for n, (_, w, _) in enumerate(COLUMNS)}
        if not full:
            widths[_STATUS] = _NARROW_STATUS
            widths[_NAME] = 14
        fixed = sum(widths[n] + GAP for n in self._columns)
        spare = max(0, width - fixed - 1)
        # A third of the spare room to the name (up to 30 cells), the rest to the reason.
        extra_name = min(spare // 3, max(0, 30 - widths[_NAME]))
        widths[_NAME] += extra_name
        widths[_REASON] += spare - extra_name
        self._widths = widths
        self._line_width = self._measure()

    # --- rendering ------------------------------------------------------------------------

    def _cell_style(self, status: str, column: int) -> Style | None:
        if status == "skipped":
            return self.get_component_rich_style("run-table--skipped", partial=True)
        if column == _STATUS or (column == _REASON and status == "failed"):
            name = f"run-table--{status}"
            if name in self.COMPONENT_CLASSES:
                return self.get_component_rich_style(name, partial=True)
        return None

    def _header_segments(self, style: Style) -> list[Segment]:
        gap = " " * GAP
        text = "".join(
            gap + fit(COLUMNS[n][0], self._widths[n], right=n in _RIGHT) for n in self._columns
        )
        return [Segment(text, style)]

    def _row_segments(self, row: RunRow, style: Style, cursor: bool) -> list[Segment]:
        segments: list[Segment] = []
        for n in self._columns:
            segments.append(Segment(" " * GAP, style))
            text = fit(row.cells[n], self._widths[n], right=n in _RIGHT)
            cell = self._cell_style(row.status, n)
            if cell is None:
                segments.append(Segment(text, style))
            elif cursor:
                # On the cursor only weight and dimness: its colours keep the contrast.
                segments.append(Segment(text, style + Style(bold=cell.bold, dim=cell.dim)))
            else:
                segments.append(Segment(text, style + cell))
        return segments
