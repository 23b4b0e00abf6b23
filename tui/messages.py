"""What the app's watcher tells the open screens (tui/app.py posts them; screens react).

One watcher polls `Service.stamps()` for the whole app, instead of a timer per screen: the
configs (and settings) changed, the run log changed, or the clock passed a minute
("Nächste Ausführung", "heute"/"morgen" move on with it). A screen that is covered notes
the change and reloads when it is shown again.
"""

from __future__ import annotations

from textual.message import Message


class ConfigsChanged(Message, bubble=False):
    """Configs, settings or users changed (by this UI, the CLI, the daemon, another UI)."""


class RunsChanged(Message, bubble=False):
    """The run log changed: a run started, made progress or ended."""


class MinutePassed(Message, bubble=False):
    """The service clock moved on to another minute."""
