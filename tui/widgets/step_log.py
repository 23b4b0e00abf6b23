"""Results of a test (connection steps, test mail) as they arrive, one line each."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from textual.message import Message
from textual.widgets import Static

from engine.errors import MailError
from tui.formatting import format_step, step_line

T = TypeVar("T")


class StepArrived(Message):
    """One result for the StepLog with id `log_id` (ok None: info); `done` ends the run."""

    def __init__(self, log_id: str, ok: bool | None, text: str, *, done: bool = False) -> None:
        super().__init__()
        self.log_id = log_id
        self.ok = ok
        self.text = text
        self.done = done


def run_steps(
    post: Callable[[StepArrived], object],
    log_id: str,
    test: Callable[[T], Iterable[object]],
    arg: T,
) -> None:
    """Post each step of `test(arg)` as it arrives (call from a worker thread). A failure
    becomes a last ✗ line with its message instead of a traceback."""
    ok = True
    try:
        for step in test(arg):
            step_ok, text = format_step(step)
            ok = ok and step_ok is not False
            post(StepArrived(log_id, step_ok, text))
    except MailError as exc:  # the sentence (engine.explain), the server's text apart
        text = exc.reason + (f"\n  Server: {exc.detail}" if exc.detail else "")
        post(StepArrived(log_id, False, text, done=True))
        return
    except Exception as exc:
        post(StepArrived(log_id, False, str(exc) or type(exc).__name__, done=True))
        return
    post(StepArrived(log_id, ok, "Test erfolgreich" if ok else "Test fehlgeschlagen", done=True))


class StepLog(Static):
    """Result lines plus an optional trailing "… läuft" status line."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, classes="step-log", markup=False)
        self.lines: list[str] = []
        self.status: str | None = None
        self.display = False

    def start(self, status: str) -> None:
        self.lines = []
        self.status = status
        self._show()

    def clear(self) -> None:
        """No result shown (the values it was for have changed)."""
        self.lines = []
        self.status = None
        self._show()

    def add(self, ok: bool | None, text: str, *, done: bool = False) -> None:
        self.lines.append(step_line(ok, text))
        if done:
            self.status = None
        self._show()

    @property
    def text(self) -> str:
        status = [step_line(None, self.status)] if self.status else []
        return "\n".join(self.lines + status)

    def _show(self) -> None:
        self.update(self.text)
        self.display = bool(self.text)
