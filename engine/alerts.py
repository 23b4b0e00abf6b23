"""Failure mail policy (SPEC §3 "Failure mail") and the German mail texts.

"On the first failure, then at most one reminder a day while it keeps failing, and one
mail when it works again." Precisely, per configuration:

- failure:  a failing run while the config was not failing → one mail ("fehlgeschlagen").
- reminder: a failing run on a later *calendar day* than the last mail → one reminder.
  Days are local calendar days (the `tz` passed to `decide`, else the system zone), so
  a config that fails every 15 minutes yields one mail on the first day and one reminder
  each following day with its first failing run (normally 06:00, the start of the
  run window); a week of failures is 1 + 6 mails.
  Why not "24 hours since the last mail": a daily run at 06:30 finishes a few seconds
  earlier or later each day, so a strict 24 h rule would skip every other reminder;
  admins expect "one mail each morning", which the calendar-day rule gives.
- further failing runs on the same day → no mail (the count keeps rising).
- recovery: a successful run after failures → one mail ("läuft wieder") and the state
  is reset. A successful run without prior failure → no mail.
- "nichts zu exportieren" is a success (the run did its job; nothing was due).

`decide` is pure: it assumes the returned mail is attempted and records `last_mail_at`
even if delivery then fails (the caller records the error with the run). Retrying on
every run would flood the outbox of an hourly config as soon as the mail server is back.

Mails never contain passwords: `decide` scrubs subject and body with the secrets the
caller passes, and `deliver_alert` scrubs again with the SMTP password.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from engine.errors import CipherError, MailError
from engine.explain import explain_mail
from engine.fields import Secret
from engine.mailer import MASK, parse_recipients, send_mail
from engine.settings import SmtpSettings

MailKind = Literal["failure", "reminder", "recovery", "changes"]

NO_SMTP = "kein SMTP-Server eingerichtet"
NO_ADDRESS = "keine E-Mail-Adresse hinterlegt"


@dataclass(frozen=True)
class AlertState:
    """What the policy remembers per config between runs (persisted via to_json)."""

    failing_since: dt.datetime | None = None  # finished_at of the first failing run
    last_mail_at: dt.datetime | None = None  # finished_at of the run that caused the last mail
    failures: int = 0  # failing runs since failing_since

    def to_json(self) -> dict[str, Any]:
        return {
            "failing_since": _iso(self.failing_since),
            "last_mail_at": _iso(self.last_mail_at),
            "failures": self.failures,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> AlertState:
        """Inverse of to_json; None or {} is the initial state. Raises ValueError if garbled."""
        if not data:
            return cls()
        failures = data.get("failures", 0)
        if isinstance(failures, bool) or not isinstance(failures, int) or failures < 0:
            raise ValueError(f"ungültige Anzahl Fehlschläge: {failures!r}")
        return cls(
            failing_since=_parse_iso(data.get("failing_since"), "failing_since"),
            last_mail_at=_parse_iso(data.get("last_mail_at"), "last_mail_at"),
            failures=failures,
        )


@dataclass(frozen=True)
class RunOutcome:
    config_id: str
    config_name: str
    run_id: str
    ok: bool
    finished_at: dt.datetime
    step: str | None = None  # the failed step, e.g. "Anmeldung", "Hochladen"
    reason: str | None = None  # plain German reason of the failure (engine.explain)
    detail: str | None = None  # the server's own text, shown on a line of its own
    nothing_to_export: bool = False
    delivered: str | None = None  # control totals of what went out (engine.control.summary)


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str
    kind: MailKind


def decide(
    state: AlertState,
    outcome: RunOutcome,
    *,
    secrets: Iterable[str | Secret | None] = (),
    tz: dt.tzinfo | None = None,
) -> tuple[AlertState, Mail | None]:
    """The new state after `outcome` and the mail to send, if any (see module docstring).

    secrets: values that must not appear in the mail (the config's passwords).
    tz: the zone for calendar days and times in the text; None = system zone.
    """
    secret_list = list(secrets)
    if outcome.ok or outcome.nothing_to_export:
        if state.failing_since is None:
            return AlertState(), None
        return AlertState(), _scrubbed(_recovery_mail(state, outcome, tz), secret_list)

    if state.failing_since is None:
        new = AlertState(
            failing_since=outcome.finished_at, last_mail_at=outcome.finished_at, failures=1
        )
        return new, _scrubbed(_failure_mail(new, outcome, tz, "failure"), secret_list)

    counted = replace(state, failures=state.failures + 1)
    last = state.last_mail_at or state.failing_since
    if _local_day(outcome.finished_at, tz) > _local_day(last, tz):
        new = replace(counted, last_mail_at=outcome.finished_at)
        return new, _scrubbed(_failure_mail(new, outcome, tz, "reminder"), secret_list)
    return counted, None


def scrub(text: str, secrets: Iterable[str | Secret | None]) -> str:
    """`text` with every non-empty secret value replaced by ********.

    Longer secrets go first so a password containing another one is masked whole.
    """
    values: set[str | None] = set()
    for secret in secrets:
        if isinstance(secret, Secret):
            try:
                values.add(secret.reveal())
            except CipherError:
                continue  # never decrypted, so its clear text cannot be in any text
        else:
            values.add(secret)
    for value in sorted((v for v in values if v), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def deliver_alert(
    settings: SmtpSettings | None,
    to: str | None,
    mail: Mail,
    *,
    secrets: Iterable[str | Secret | None] = (),
    ssl_context: ssl.SSLContext | None = None,
) -> str | None:
    """Send `mail` to `to` ("a@x, b@y"); None when sent, else a German reason.

    Never raises: a mail that cannot be sent must not break the run that caused it.
    The reason is the German sentence of `engine.explain.explain_mail` (naming the SMTP
    server and what to check), the server's own text after " – Server: ".
    """
    if settings is None or not settings.host:
        return NO_SMTP
    if not to or not parse_recipients(to):
        return NO_ADDRESS
    all_secrets = [*secrets, settings.password]
    try:
        send_mail(
            settings,
            to,
            scrub(mail.subject, all_secrets),
            scrub(mail.body, all_secrets),
            ssl_context=ssl_context,
        )
    except MailError as exc:
        explained = explain_mail(exc, settings)
        text = explained.sentence
        if explained.detail:
            text += f" – Server: {explained.detail}"
        return scrub(text, all_secrets)
    except Exception as exc:  # by contract this function never raises
        return f"unerwarteter Fehler beim E-Mail-Versand ({type(exc).__name__})"
    return None


# --- texts -----------------------------------------------------------------------------------


def _failure_mail(
    state: AlertState, outcome: RunOutcome, tz: dt.tzinfo | None, kind: MailKind
) -> Mail:
    since = _fmt(state.failing_since or outcome.finished_at, tz)
    if kind == "failure":
        subject = f"buchex: Export „{outcome.config_name}“ fehlgeschlagen"
        intro = (
            f"der automatische Buchhaltungsexport „{outcome.config_name}“ ist "
            "fehlgeschlagen. Die Buchungen wurden nicht übertragen; der nächste "
            "erfolgreiche Lauf sendet sie nach (es geht nichts verloren)."
        )
    else:
        subject = (
            f"buchex: Export „{outcome.config_name}“ schlägt weiterhin fehl "
            f"(seit {_fmt_date(state.failing_since or outcome.finished_at, tz)})"
        )
        intro = (
            f"der automatische Buchhaltungsexport „{outcome.config_name}“ schlägt "
            f"weiterhin fehl. Seit {since} wurden keine Buchungen an das Steuerbüro "
            "übertragen; der nächste erfolgreiche Lauf sendet alle nach."
        )
    runs = (
        "1 fehlgeschlagener Lauf"
        if state.failures == 1
        else f"{state.failures} fehlgeschlagene Läufe"
    )
    body = (
        "Hallo,\n\n"
        f"{_wrap(intro)}\n\n"
        f"Schnittstelle:   {outcome.config_name} (ID {outcome.config_id})\n"
        f"Zeitpunkt:       {_fmt(outcome.finished_at, tz)}\n"
        f"Schritt:         {outcome.step or 'unbekannt'}\n"
        f"Grund:           {_indented(outcome.reason or 'unbekannt')}\n"
        + (f"Server:          {_indented(outcome.detail)}\n" if outcome.detail else "")
        + f"Lauf-ID:         {outcome.run_id}\n"
        f"Bisher:          {runs} seit {since}\n\n"
        f"{_hint(outcome)}\n\n"
        "Solange der Fehler besteht, erhalten Sie höchstens eine Erinnerung pro Tag\n"
        "und eine Nachricht, sobald der Export wieder funktioniert.\n\n"
        "-- \nbuchex – Automatischer Buchhaltungsexport\n"
    )
    return Mail(subject=subject, body=body, kind=kind)


def _recovery_mail(state: AlertState, outcome: RunOutcome, tz: dt.tzinfo | None) -> Mail:
    since = _fmt(state.failing_since or outcome.finished_at, tz)
    result = (
        "nichts zu exportieren (keine neuen Buchungen)"
        if outcome.nothing_to_export
        else "erfolgreich übertragen"
    )
    runs = (
        "1 fehlgeschlagenen Lauf"
        if state.failures == 1
        else f"{state.failures} fehlgeschlagenen Läufen"
    )
    body = (
        "Hallo,\n\n"
        + _wrap(
            f"der automatische Buchhaltungsexport „{outcome.config_name}“ funktioniert "
            f"wieder: nach {runs} seit {since} war der Lauf erfolgreich."
        )
        + "\n\n"
        f"Schnittstelle:   {outcome.config_name} (ID {outcome.config_id})\n"
        f"Zeitpunkt:       {_fmt(outcome.finished_at, tz)}\n"
        f"Ergebnis:        {result}\n"
        + (f"Geliefert:       {outcome.delivered}\n" if outcome.delivered else "")
        + f"Lauf-ID:         {outcome.run_id}\n"
        f"Ausfall:         {since} bis {_fmt(outcome.finished_at, tz)}\n\n"
        f"{_hint(outcome)}\n\n"
        "-- \nbuchex – Automatischer Buchhaltungsexport\n"
    )
    subject = f"buchex: Export „{outcome.config_name}“ läuft wieder"
    return Mail(subject=subject, body=body, kind="recovery")


def _hint(outcome: RunOutcome) -> str:
    return (
        "Details zu den Läufen:\n"
        f"  buchex runs --config {outcome.config_id} --failed\n"
        "oder in der Oberfläche (buchex tui) unter „Protokoll“."
    )


def _indented(text: str, column: int = 17) -> str:
    """`text` wrapped to 78 columns, continuation lines aligned under its first one."""
    return _wrap(text, 78 - column).replace("\n", "\n" + " " * column)


def _wrap(text: str, width: int = 78) -> str:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def _scrubbed(mail: Mail, secrets: list[str | Secret | None]) -> Mail:
    return Mail(
        subject=scrub(mail.subject, secrets), body=scrub(mail.body, secrets), kind=mail.kind
    )


# --- time helpers ----------------------------------------------------------------------------


def _local(when: dt.datetime, tz: dt.tzinfo | None) -> dt.datetime:
    # Naive datetimes are already local wall time; aware ones are shown in `tz` (or the
    # system zone) so a state reloaded from JSON with a fixed offset compares correctly.
    return when if when.tzinfo is None else when.astimezone(tz)


def _local_day(when: dt.datetime, tz: dt.tzinfo | None) -> dt.date:
    return _local(when, tz).date()


def _fmt(when: dt.datetime, tz: dt.tzinfo | None) -> str:
    return _local(when, tz).strftime("%d.%m.%Y %H:%M")


def _fmt_date(when: dt.datetime, tz: dt.tzinfo | None) -> str:
    return _local(when, tz).strftime("%d.%m.%Y")


def _iso(when: dt.datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def _parse_iso(raw: Any, name: str) -> dt.datetime | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError(f"{name}: kein Zeitpunkt: {raw!r}")
    try:
        return dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"{name}: kein gültiger ISO-Zeitpunkt: {raw!r}") from exc
