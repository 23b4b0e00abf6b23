"""The line under a list: its counts, or why it could not be loaded."""

from __future__ import annotations

from textual.widgets import Label


class StatusLine(Label):
    """Counts go in with `update`; a load error with `show_error` (red until the next good
    load calls `clear_error`, and announced once as a notification). Styled in app.tcss."""

    def __init__(self, *, id: str) -> None:
        super().__init__("", id=id, markup=False)

    def show_error(self, text: str) -> None:
        self.update(text)
        self.add_class("-error")
        self.notify(text, severity="error", markup=False)

    def clear_error(self) -> None:
        self.remove_class("-error")
