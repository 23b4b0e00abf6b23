"""Sicherheit: the chain options (password eye, time zone, ledger database URL)."""

from __future__ import annotations

from typing import Any

from engine.settings import CHAIN_FIELDS, SICHERHEIT, ChainSettings
from tui.screens.settings_base import SettingsScreen


class SecurityScreen(SettingsScreen):
    SPECS = CHAIN_FIELDS
    MODEL = ChainSettings
    SECRET_PREFIX = "chain."
    SUB_TITLE = SICHERHEIT
    HELP = (
        "Einstellungen für die ganze Filialkette: ob Administratoren gesetzte Passwörter "
        "einsehen dürfen, die Zeitzone der Ausführungszeiten und wo die Buchhaltung liegt."
    )

    def read_settings(self) -> Any:
        return self.service.chain_settings()

    def write_settings(self, raw: dict[str, Any]) -> Any:
        return self.service.save_chain_settings(raw)
