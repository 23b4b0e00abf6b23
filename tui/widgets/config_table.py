"""The Schnittstellen table: a Line API widget that renders only the visible rows.

Textual's DataTable measures every cell of every new row (~0.3 s for 1000 rows), too slow
to rebuild on each keystroke of the filter. Here a new row set is a list assignment and
a repaint, whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

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
_GAP = 1  # blank cells left of each column


def _fit(text: str, width: int) -> str:
    """Crop to `width` cells with an ellipsis, or pad with spaces."""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


class ConfigTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "config-table--header",
        "config-table--cursor",
        "config-table--odd",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Bearbeiten", key_display="⏎"),
        Binding("up", "move(-1)", show=False),
        Binding("down", "move(1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("home", "move_to(0)", show=False),
        Binding("end", "move_to(-1)", show=False),
    ]

    class RowSelected(Message):
        """Enter (or a click on the current row): open this config."""

        def __init__(self, table: ConfigTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> ConfigTable:
            return self.table

    cursor_row: reactive[int] = reactive(0)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: list[tuple[str, tuple[str, ...]]] = []
        self._index: dict[str, int] = {}
        self._set_widths([w for _, w in COLUMNS])

    def _set_widths(self, widths: list[int]) -> None:
        self._widths = widths
        self._line_width = sum(w + _GAP for w in widths)
        self._header = self._line([label for label, _ in COLUMNS])

    def _line(self, cells: Sequence[str]) -> str:
        gap = " " * _GAP
        return "".join(gap + _fit(c, w) for c, w in zip(cells, self._widths, strict=True))

    # --- data -----------------------------------------------------------------------------

    def show(self, rows: Sequence[tuple[str, Sequence[str]]], keep: str | None) -> None:
        """Replace the rows ((key, cells) each); the cursor stays on `keep` if shown."""
        self._rows = [(key, tuple(cells)) for key, cells in rows]
        self._index = {key: n for n, (key, _) in enumerate(self._rows)}
        self._update_virtual_size()
        self.cursor_row = self._index.get(keep, 0) if keep is not None else 0
        self._scroll_cursor_visible()
        self.refresh()

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def keys(self) -> list[str]:
        return [key for key, _ in self._rows]

    def get_row(self, key: str) -> list[str]:
        return list(self._rows[self._index[key]][1])

    @property
    def current_key(self) -> str | None:
        if not self._rows:
            return None
        return self._rows[min(self.cursor_row, len(self._rows) - 1)][0]

    def move_cursor(self, *, row: int) -> None:
        self.cursor_row = row

    # --- cursor -----------------------------------------------------------------------

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self._rows) - 1))

    def watch_cursor_row(self) -> None:
        self._scroll_cursor_visible()
        self.refresh()

    def _scroll_cursor_visible(self) -> None:
        rows_shown = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows_shown:
            self.scroll_to(y=self.cursor_row - rows_shown + 1, animate=False, immediate=True)

    def action_move(self, delta: int) -> None:
        self.cursor_row += delta

    def action_page(self, direction: int) -> None:
        self.cursor_row += direction * max(1, self.scrollable_content_region.height - 2)

    def action_move_to(self, row: int) -> None:
        self.cursor_row = row if row >= 0 else len(self._rows) - 1

    def action_select(self) -> None:
        if (key := self.current_key) is not None:
            self.post_message(self.RowSelected(self, key))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return  # the header
        row = round(self.scroll_y) + offset.y - 1
        if not 0 <= row < len(self._rows):
            return
        if row == self.cursor_row:
            self.action_select()
        self.cursor_row = row

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self._line_width, len(self._rows) + 1)  # + header line

    def on_resize(self) -> None:
        others = sum(w + _GAP for _, w in COLUMNS[1:])
        name = max(COLUMNS[0][1], self.scrollable_content_region.width - others - _GAP - 1)
        if name != self._widths[0]:
            self._set_widths([name, *self._widths[1:]])
            self._update_virtual_size()
        self._scroll_cursor_visible()
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()  # the cursor row's colour depends on focus

    def on_blur(self) -> None:
        self.refresh()

    # --- rendering --------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x = round(self.scroll_x)
        if y == 0:  # the header stays while the rows scroll
            style = self.get_component_rich_style("config-table--header")
            return self._strip(self._header, style, scroll_x, width)
        row = round(self.scroll_y) + y - 1
        base = self.rich_style
        if row >= len(self._rows):
            return Strip.blank(width, base)
        _, cells = self._rows[row]
        text = self._line(cells)
        if row == self.cursor_row:
            style = base + self.get_component_rich_style("config-table--cursor")
        elif row % 2:
            style = base + self.get_component_rich_style("config-table--odd")
        else:
            style = base
        return self._strip(text, style, scroll_x, width)

    def _strip(self, text: str, style: Style, scroll_x: int, width: int) -> Strip:
        line = set_cell_size(text, max(self._line_width, scroll_x + width))
        return Strip([Segment(line, style)]).crop(scroll_x, scroll_x + width)
