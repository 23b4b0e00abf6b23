"""A focusable table on the Line API: only the visible rows are drawn, so a new row set is a
list assignment and a repaint, whatever the number of rows (Textual's DataTable measures
every cell of every new row). Line 0 is a header that stays while the rows scroll.

Subclasses name their component classes with `PREFIX` (`<prefix>--header`, `--cursor`,
`--odd`) and draw the header and each row as segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

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

RowT = TypeVar("RowT")
GAP = 1  # blank cells left of each column


def fit(text: str, width: int, *, right: bool = False) -> str:
    """Crop to `width` cells with an ellipsis, or pad with spaces (left of it if `right`)."""
    if cell_len(text) <= width:
        pad = " " * (width - cell_len(text))
        return pad + text if right else text + pad
    return set_cell_size(text, width - 1) + "…"


def nav_bindings(select: str, help: str = "") -> list[BindingType]:
    """Enter (shown as `select`, `help` the German explanation) and the cursor keys."""
    moves = [("up", "move(-1)"), ("down", "move(1)"), ("pageup", "page(-1)")]
    moves += [("pagedown", "page(1)"), ("home", "move_to(0)"), ("end", "move_to(-1)")]
    enter = Binding("enter", "select", select, key_display="⏎", tooltip=help)
    return [enter, *(Binding(key, action, show=False) for key, action in moves)]


class VirtualTable(ScrollView, Generic[RowT], can_focus=True):
    PREFIX: ClassVar[str] = "virtual-table"

    class Highlighted(Message):
        """The cursor moved to another row (`key` None: no rows)."""

        def __init__(self, table: VirtualTable[Any], key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable[Any]:
            return self.table

    class Selected(Message):
        """Enter or a click on the current row."""

        def __init__(self, table: VirtualTable[Any], key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable[Any]:
            return self.table

    cursor_row: reactive[int] = reactive(0)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: list[RowT] = []
        self._index: dict[str, int] = {}
        self._line_width = 0

    # --- hooks ----------------------------------------------------------------------------

    def row_key(self, row: RowT) -> str:
        raise NotImplementedError

    def _layout(self, width: int) -> None:
        """Fit the columns to `width` cells and set `_line_width`."""

    def _header_segments(self, style: Style) -> list[Segment]:
        raise NotImplementedError

    def _row_segments(self, row: RowT, style: Style, cursor: bool) -> list[Segment]:
        raise NotImplementedError

    def _cursor_moved(self) -> None:
        """After each move of the cursor and each new row set."""

    # --- data -----------------------------------------------------------------------------

    def show(self, rows: Sequence[RowT], keep: str | None) -> None:
        """Replace the rows; the cursor stays on the row `keep` if it is shown."""
        self._rows = list(rows)
        self._index = {self.row_key(row): n for n, row in enumerate(self._rows)}
        self._update_virtual_size()
        self.cursor_row = self._index.get(keep, 0) if keep is not None else 0
        self._scroll_cursor_visible()
        self._cursor_moved()
        self.refresh()

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def keys(self) -> list[str]:
        return [self.row_key(row) for row in self._rows]

    @property
    def current(self) -> RowT | None:
        if not self._rows:
            return None
        return self._rows[min(self.cursor_row, len(self._rows) - 1)]

    @property
    def current_key(self) -> str | None:
        return None if (row := self.current) is None else self.row_key(row)

    def move_to_key(self, key: str) -> None:
        if key in self._index:
            self.cursor_row = self._index[key]

    def move_cursor(self, *, row: int) -> None:
        self.cursor_row = row

    # --- cursor ---------------------------------------------------------------------------

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self._rows) - 1))

    def watch_cursor_row(self) -> None:
        self._scroll_cursor_visible()
        self._cursor_moved()
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
            self.post_message(self.Selected(self, key))

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

    def on_focus(self) -> None:
        self.refresh()  # the cursor row's colour depends on focus

    def on_blur(self) -> None:
        self.refresh()

    # --- layout and rendering -------------------------------------------------------------

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self._line_width, len(self._rows) + 1)  # + header line

    def on_resize(self) -> None:
        self._layout(self.scrollable_content_region.width)
        self._update_virtual_size()
        self._scroll_cursor_visible()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x = round(self.scroll_x)
        if y == 0:  # the header stays while the rows scroll
            style = self.get_component_rich_style(f"{self.PREFIX}--header")
            return self._strip(self._header_segments(style), style, scroll_x, width)
        index = round(self.scroll_y) + y - 1
        base = self.rich_style
        if index >= len(self._rows):
            return Strip.blank(width, base)
        cursor = index == self.cursor_row
        if cursor:
            style = base + self.get_component_rich_style(f"{self.PREFIX}--cursor")
        elif index % 2:
            style = base + self.get_component_rich_style(f"{self.PREFIX}--odd")
        else:
            style = base
        segments = self._row_segments(self._rows[index], style, cursor)
        return self._strip(segments, style, scroll_x, width)

    def _strip(self, segments: list[Segment], fill: Style, scroll_x: int, width: int) -> Strip:
        length = max(self._line_width, scroll_x + width)
        strip = Strip(segments).extend_cell_length(length, fill)
        return strip.crop(scroll_x, scroll_x + width)
