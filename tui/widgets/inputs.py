"""Input that follows the app's cursor-blink switch (snapshots need a steady cursor)."""

from __future__ import annotations

from textual.widgets import Input


class BlinkAwareInput(Input):
    def on_mount(self) -> None:
        # BuchexApp(cursor_blink=False) turns blinking off everywhere: a blinking cursor
        # makes SVG snapshots depend on timing.
        if not getattr(self.app, "cursor_blink", True):
            self.cursor_blink = False
