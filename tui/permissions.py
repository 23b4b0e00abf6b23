"""Who may reveal a stored password (the seed's "Auge"): pure rules, no Textual."""

from __future__ import annotations

from engine.settings import CHAIN_FIELDS
from engine.workspace import Workspace

_OPTION = next(f.label for f in CHAIN_FIELDS if f.path == "admins_may_reveal_passwords")
ONLY_ADMINS = "Nur Administratoren dürfen gesetzte Passwörter einsehen"


def reveal_refusal(workspace: Workspace, actor: str) -> str | None:
    """Why `actor` may not reveal stored passwords, or None if they may (after re-entering
    their own buchex password). Reads the store: call it from a worker."""
    if not workspace.chain_settings().admins_may_reveal_passwords:
        return f"Die Filialkettenoption „{_OPTION}“ ist ausgeschaltet (Einstellungen: Sicherheit)."
    user = workspace.get_user(actor)
    if user is None:
        return f"{ONLY_ADMINS}; für die Anmeldung „{actor}“ gibt es keinen buchex-Benutzer."
    if not user.admin:
        return f"{ONLY_ADMINS}; „{actor}“ ist kein Administrator."
    return None
