"""How screens and widgets reach the running BuchexApp (its workspace, actor, clock, hooks).

A module of its own, so that a screen can use it without importing the others: the list,
the first thing a start draws, must not wait for the editor's imports."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from tui.app import BuchexApp


def buchex(node: DOMNode) -> BuchexApp:
    """The running BuchexApp (screens need its workspace, actor and hooks)."""
    return cast("BuchexApp", node.app)
