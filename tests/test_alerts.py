"""engine.alerts: the failure-mail policy (pure, hand-written datetimes) and its texts."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from engine.alerts import AlertState, Mail, RunOutcome, decide, scrub
from engine.fields import Secret

BERLIN = ZoneInfo("Europe/Berlin")
FTP_PASSWORD = "Ftp-Geheim-77"


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, 7, tzinfo=BERLIN)


def fail(when: dt.datetime, run: str = "r1", reason: str = "Verbindung abgelehnt") -> RunOutcome:
    return RunOutcome(
        config_id="kiel-taeglich",
        config_name="Steuerbüro Schröder – Filiale Kiel",
        run_id=run,
        ok=False,
        finished_at=when,
        step="Anmeldung",
        reason=reason,
    )


def ok(when: dt.datetime, *, nothing: bool = False) -> RunOutcome:
    return RunOutcome(
        config_id="kiel-taeglich",
        config_name="Steuerbüro Schröder – Filiale Kiel",
        run_id="ok1",
        ok=not nothing,
        finished_at=when,
        nothing_to_export=nothing,
    )


def run(
    state: AlertState, outcome: RunOutcome
) -> tuple[AlertState, Mail | None]:  # the tests' zone is fixed, not the machine's
    return decide(state, outcome, tz=BERLIN, secrets=[Secret(FTP_PASSWORD)])


# --- policy ----------------------------------------------------------------------------------


def test_first_failure_sends_a_failure_mail() -> None:
    state, mail = run(AlertState(), fail(at(3, 6, 30)))
    assert mail is not None and mail.kind == "failure"
    assert state == AlertState(at(3, 6, 30), at(3, 6, 30), 1)


def test_second_failure_the_same_day_sends_nothing() -> None:
    state, _ = run(AlertState(), fail(at(3, 6)))
    state, mail = run(state, fail(at(3, 21, 45)))
    assert mail is None
    assert state.failures == 2 and state.last_mail_at == at(3, 6)


def test_failure_next_day_sends_one_reminder_then_nothing_that_day() -> None:
    state, _ = run(AlertState(), fail(at(3, 21, 45)))
    # Only 8¼ hours later, but a new calendar day: the morning reminder.
    state, mail = run(state, fail(at(4, 6)))
    assert mail is not None and mail.kind == "reminder"
    assert state.last_mail_at == at(4, 6) and state.failures == 2
    state, mail = run(state, fail(at(4, 7)))
    assert mail is None
    assert state.failures == 3


def test_daily_run_gets_a_reminder_every_day_even_if_slightly_earlier() -> None:
    # A strict 24-hour rule would skip this one (23 h 59 min after the last mail).
    state, _ = run(AlertState(), fail(at(3, 6, 31)))
    state, mail = run(state, fail(at(4, 6, 30)))
    assert mail is not None and mail.kind == "reminder"


def test_success_after_failures_sends_recovery_and_resets() -> None:
    state, _ = run(AlertState(), fail(at(3, 6)))
    state, _ = run(state, fail(at(3, 7)))
    state, mail = run(state, ok(at(3, 8)))
    assert mail is not None and mail.kind == "recovery"
    assert state == AlertState()
    # A new failure afterwards is a "first failure" again.
    _, mail = run(state, fail(at(3, 9)))
    assert mail is not None and mail.kind == "failure"


def test_success_without_failure_sends_nothing() -> None:
    state, mail = run(AlertState(), ok(at(3, 8)))
    assert mail is None and state == AlertState()


def test_nothing_to_export_counts_as_success() -> None:
    state, mail = run(AlertState(), ok(at(3, 8), nothing=True))
    assert mail is None and state == AlertState()
    state, _ = run(AlertState(), fail(at(3, 6)))
    state, mail = run(state, ok(at(3, 8), nothing=True))
    assert mail is not None and mail.kind == "recovery"
    assert "nichts zu exportieren" in mail.body
    assert state == AlertState()


def test_a_week_of_hourly_failures_sends_one_mail_and_six_reminders() -> None:
    state, mails = AlertState(), []
    start = dt.datetime(2026, 11, 2, 6, 0, tzinfo=BERLIN)
    for day in range(7):
        for hour in range(6, 23):  # the run window 06:00..22:00
            when = start.replace(day=start.day + day, hour=hour)
            state, mail = run(state, fail(when, run=f"r{day}-{hour}"))
            if mail is not None:
                mails.append((when, mail.kind))
    assert [k for _, k in mails] == ["failure"] + ["reminder"] * 6
    assert [w.hour for w, _ in mails] == [6] * 7  # each the first run of its day
    assert state.failures == 7 * 17
    assert state.failing_since == start


def test_calendar_day_is_local_across_dst_and_json_round_trip() -> None:
    # 25 Oct 2026: clocks go back in Berlin. State reloaded from JSON has fixed offsets.
    state, _ = run(AlertState(), fail(dt.datetime(2026, 10, 24, 22, 0, tzinfo=BERLIN)))
    state = AlertState.from_json(json.loads(json.dumps(state.to_json())))
    # 23:30 Berlin is the same day even though it is 21:30 UTC.
    utc_same_day = dt.datetime(2026, 10, 24, 21, 30, tzinfo=dt.UTC)
    state, mail = run(state, fail(utc_same_day))
    assert mail is None
    state, mail = run(state, fail(dt.datetime(2026, 10, 25, 6, 0, tzinfo=BERLIN)))
    assert mail is not None and mail.kind == "reminder"


def test_naive_datetimes_are_taken_as_local_wall_time() -> None:
    state, _ = decide(AlertState(), fail(dt.datetime(2026, 11, 3, 6, 0)))
    _, mail = decide(state, fail(dt.datetime(2026, 11, 3, 22, 0)))
    assert mail is None
    _, mail = decide(state, fail(dt.datetime(2026, 11, 4, 6, 0)))
    assert mail is not None and mail.kind == "reminder"


# --- texts -----------------------------------------------------------------------------------


def test_failure_mail_text() -> None:
    _, mail = run(AlertState(), fail(at(3, 6, 30), run="run-0815", reason="Zeitüberschreitung"))
    assert mail is not None
    assert mail.subject == "buchex: Export „Steuerbüro Schröder – Filiale Kiel“ fehlgeschlagen"
    body = mail.body
    for expected in (
        "Steuerbüro Schröder – Filiale Kiel (ID kiel-taeglich)",
        "03.11.2026 06:30",
        "Schritt:         Anmeldung",
        "Grund:           Zeitüberschreitung",
        "Lauf-ID:         run-0815",
        "1 fehlgeschlagener Lauf seit 03.11.2026 06:30",
        "buchex runs --config kiel-taeglich --failed",
        "„Protokoll“",
    ):
        assert expected in body, expected


def test_reminder_mail_text_counts_runs_since_the_start() -> None:
    state, _ = run(AlertState(), fail(at(3, 6)))
    state, _ = run(state, fail(at(3, 7)))
    state, mail = run(state, fail(at(4, 6, 15), run="run-3"))
    assert mail is not None
    assert mail.subject.endswith("schlägt weiterhin fehl (seit 03.11.2026)")
    assert "3 fehlgeschlagene Läufe seit 03.11.2026 06:00" in mail.body
    assert "04.11.2026 06:15" in mail.body and "run-3" in mail.body


def test_recovery_mail_text() -> None:
    state, _ = run(AlertState(), fail(at(3, 6)))
    state, _ = run(state, fail(at(3, 7)))
    _, mail = run(state, ok(at(4, 8, 5)))
    assert mail is not None
    assert mail.subject == "buchex: Export „Steuerbüro Schröder – Filiale Kiel“ läuft wieder"
    assert "nach 2 fehlgeschlagenen Läufen seit 03.11.2026 06:00" in mail.body
    assert "03.11.2026 06:00 bis 04.11.2026 08:05" in mail.body
    assert "erfolgreich übertragen" in mail.body


def test_passwords_are_scrubbed_from_subject_and_body() -> None:
    outcome = RunOutcome(
        config_id="k",
        config_name=f"Kiel {FTP_PASSWORD}",
        run_id="r",
        ok=False,
        finished_at=at(3, 6),
        step="Anmeldung",
        reason=f"530 Login incorrect for kanzlei:{FTP_PASSWORD}@ftp.example",
    )
    _, mail = run(AlertState(), outcome)
    assert mail is not None
    assert FTP_PASSWORD not in mail.subject and FTP_PASSWORD not in mail.body
    assert "kanzlei:********@ftp.example" in mail.body


# --- scrub -----------------------------------------------------------------------------------


def test_scrub_replaces_every_secret() -> None:
    text = "pw=abc123 und nochmal abc123, key=XYZ"
    assert (
        scrub(text, ["abc123", Secret("XYZ")]) == "pw=******** und nochmal ********, key=********"
    )


def test_scrub_masks_the_longer_secret_whole() -> None:
    # "geheim" inside "supergeheim": replacing the short one first would leave "super".
    assert scrub("x supergeheim y", ["geheim", "supergeheim"]) == "x ******** y"


def test_scrub_ignores_empty_and_missing_secrets() -> None:
    assert scrub("unverändert", ["", None, Secret("")]) == "unverändert"
    assert scrub("", ["a"]) == ""


# --- persistence -----------------------------------------------------------------------------


def test_state_json_round_trip() -> None:
    state = AlertState(at(3, 6), at(4, 6, 15), 42)
    data = state.to_json()
    assert data == {
        "failing_since": "2026-11-03T06:00:07+01:00",
        "last_mail_at": "2026-11-04T06:15:07+01:00",
        "failures": 42,
    }
    assert AlertState.from_json(json.loads(json.dumps(data))) == state
    assert AlertState.from_json(AlertState().to_json()) == AlertState()
    assert AlertState.from_json(None) == AlertState()
    assert AlertState.from_json({}) == AlertState()


@pytest.mark.parametrize(
    "data",
    [{"failures": -1}, {"failures": "3"}, {"failing_since": "gestern"}, {"last_mail_at": 5}],
)
def test_state_from_garbled_json_raises_value_error(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        AlertState.from_json(data)
