"""Sicherheit: the chain options (password eye, time zone, ledger database URL)."""

from __future__ import annotations

from typing import Any

from engine.settings import CHAIN_FIELDS, SICHERHEIT, ChainSettings
from engine.workspace import Workspace
from tui.screens.settings_base import SettingsScreen


class SecurityScreen(SettingsScreen):
    SPECS = CHAIN_FIELDS
    MODEL = ChainSettings
    AUDIT_PREFIX = "chain."
    SUB_TITLE = SICHERHEIT

    def read_settings(self, workspace: Workspace) -> Any:
        return workspace.chain_settings()

    def write_settings(self, workspace: Workspace, raw: dict[str, Any]) -> Any:
        return workspace.save_chain_settings(raw)
