"""The application layer: every use case of buchex as a method of one object per data directory.

`Service` is what the front ends call (the CLI commands in engine/cli, the TUI in tui/):
configs, settings, users, the run log and its changes, run now, redeliver, the connection
and mail tests, the password eye. Each method does its own permission check and writes its
own audit record, so the CLI and the TUI cannot disagree on policy. `Workspace`, the stores,
the journal, the runner, the transports and the mailer are its private details: an
import-linter contract (pyproject.toml) keeps the front ends from reaching past it.

Every method may block (disk, ledger, network): the TUI calls them from thread workers.
Heavy parts (SQLAlchemy, paramiko, the export writers) are imported by the methods that use
them, so opening a Service costs little.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Hashable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from engine.audit import current_actor
from engine.clock import Clock, SystemClock, inside_window
from engine.config import ExportConfig
from engine.paths import DataDir
from engine.runs import CancelToken, RunRecord, RunSummary
from engine.settings import CHAIN_FIELDS, ChainSettings, SmtpSettings
from engine.users import User
from engine.workspace import Workspace

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from engine.export import ExportFile, ExportResult, ExportWarning
    from engine.journal import Change
    from engine.ledger import Catalog as Catalog  # re-exported: the front ends' forms name it
    from engine.ledger import ClientStats
    from engine.ledger_demo import DemoSummary
    from engine.ledger_import import DocumentImportResult, ImportProblem, ImportResult
    from engine.transports import StepResult

__all__ = ["RevealRefused", "Service", "Stamps", "run_summary"]

_OPTION = next(f.label for f in CHAIN_FIELDS if f.path == "admins_may_reveal_passwords")
ONLY_ADMINS = "Nur Administratoren dürfen gesetzte Passwörter einsehen"
ONLY_ADMINS_HOST_KEY = "Nur Administratoren dürfen einen geänderten Hostschlüssel ersetzen"
# Secrets the password eye may show, by the field path the front ends use.
_SECRET_FIELDS = ("target.password", "smtp.password", "chain.ledger_url")


class RevealRefused(PermissionError):
    """The password eye refused: not allowed, or the admin's own password was wrong
    (`wrong_password`). German message; the refusal is audited."""

    def __init__(self, message: str, *, wrong_password: bool = False) -> None:
        super().__init__(message)
        self.wrong_password = wrong_password


class Stamps(NamedTuple):
    """Cheap change signals for pollers: compare with the previous value, reload on change.
    `configs` covers configs, settings and users (one store); `runs` the run log."""

    configs: Hashable
    runs: Hashable


def run_summary(record: RunRecord) -> str:
    """A German one-liner for a finished run (manual, redelivery)."""
    name = f"„{record.config_name}“"
    if record.status == "ok":
        rows = sum(int(f.get("rows", 0)) for f in record.files if f.get("kind") != "documents")
        images = sum(int(f.get("rows", 0)) for f in record.files if f.get("kind") == "documents")
        also = f", {images} Belegbilder" if images else ""
        return (
            f"{name}: erfolgreich – {len(record.files)} Datei(en), {rows} Zeilen{also} übertragen."
        )
    if record.status == "failed":
        return f"{name}: fehlgeschlagen – {record.step}: {record.reason}"
    if record.status == "skipped":
        return f"{name}: übersprungen: {record.reason}"
    return f"{name}: {record.label}."


class Service:
    """buchex for one data directory, as seen by a person (`actor`, the OS login) at a
    moment given by `clock` (tests inject a fixed one)."""

    def __init__(
        self, workspace: Workspace, *, clock: Clock | None = None, actor: str | None = None
    ) -> None:
        self._ws = workspace
        self.clock: Clock = clock or SystemClock()
        self.actor = actor or current_actor()
        self._last_runs = _LastRunCache(workspace)
        self._due_times = _NextDueCache()

    @classmethod
    def open(
        cls, home: str | Path | None = None, *, clock: Clock | None = None, actor: str | None = None
    ) -> Service:
        """The data directory `home` (else $BUCHEX_HOME, else the user's data directory)."""
        return cls(Workspace.open(None if home is None else str(home)), clock=clock, actor=actor)

    # --- where and when ------------------------------------------------------------------

    @property
    def paths(self) -> DataDir:
        """The data directory's files (for messages naming them)."""
        return self._ws.data_dir

    def time_zone(self) -> ZoneInfo:
        return self._ws.time_zone()

    def now(self) -> dt.datetime:
        """Now, in the configured time zone."""
        return self.clock.now().astimezone(self.time_zone())

    def inside_window(self, moment: dt.datetime | None = None) -> bool:
        """Inside 06:00–22:00 of the configured zone (manual runs outside need a "yes")."""
        return inside_window((moment or self.clock.now()).astimezone(self.time_zone()))

    def stamps(self) -> Stamps:
        return Stamps(self._ws.store.stamp(), self._ws.runs.stamp())

    # --- configs ---------------------------------------------------------------------------

    def list_configs(self) -> list[ExportConfig]:
        return self._ws.list_configs()

    def get_config(self, cfg_id: str) -> ExportConfig:
        """Raises NotFound (German message) for an unknown id."""
        return self._ws.get_config(cfg_id)

    def validate_configs(self, raws: Sequence[Mapping[str, Any]]) -> list[ExportConfig]:
        """Check configs as `import_configs` would, saving nothing (ValidationError)."""
        return self._ws.validate_configs(raws)

    def import_configs(self, raws: Sequence[Mapping[str, Any]]) -> list[ExportConfig]:
        """Create or replace configs from a file's JSON; all or nothing; audited."""
        return self._ws.save_configs(raws, action="config.import")

    def save_config(
        self, raw: Mapping[str, Any], *, catalog: Catalog | None = None
    ) -> ExportConfig:
        """Save one config from a form (ValidationError names the fields); audited."""
        return self._ws.save_config(raw, catalog=catalog)

    def delete_config(self, cfg_id: str) -> None:
        self._ws.delete_config(cfg_id)

    def catalog(self) -> Catalog:
        """Clients and branches of the ledger (the form's choice lists)."""
        return self._ws.catalog()

    # --- settings and users ----------------------------------------------------------------

    def smtp_settings(self) -> SmtpSettings | None:
        return self._ws.smtp_settings()

    def save_smtp_settings(self, raw: Mapping[str, Any]) -> SmtpSettings:
        return self._ws.save_smtp_settings(raw)

    def chain_settings(self) -> ChainSettings:
        return self._ws.chain_settings()

    def save_chain_settings(self, raw: Mapping[str, Any]) -> ChainSettings:
        return self._ws.save_chain_settings(raw)

    def reset_key(self) -> tuple[int, str | None]:
        """A lost `secret.key`: forget the stored passwords, start a new key (audited)."""
        return self._ws.reset_key()

    def list_users(self) -> list[User]:
        return self._ws.list_users()

    def add_user(self, name: str, password: str, *, admin: bool = False) -> User:
        return self._ws.add_user(name, password, admin=admin)

    def set_password(self, name: str, password: str) -> None:
        self._ws.set_password(name, password)

    # --- the password eye ------------------------------------------------------------------

    def reveal_refusal(self) -> str | None:
        """Why the actor may not reveal stored passwords, or None if they may (after
        re-entering their own buchex password: `reveal_secret`)."""
        if not self._ws.chain_settings().admins_may_reveal_passwords:
            return (
                f"Die Filialkettenoption „{_OPTION}“ ist ausgeschaltet (Einstellungen: Sicherheit)."
            )
        user = self._ws.get_user(self.actor)
        if user is None:
            return (
                f"{ONLY_ADMINS}; für die Anmeldung „{self.actor}“ gibt es keinen buchex-Benutzer."
            )
        if not user.admin:
            return f"{ONLY_ADMINS}; „{self.actor}“ ist kein Administrator."
        return None

    def reveal_secret(
        self, field: str, password: str, *, config_id: str | None = None
    ) -> str | None:
        """The stored secret `field` ("target.password" of `config_id`, "smtp.password",
        "chain.ledger_url") in clear, for an admin who re-entered their own password.
        None: nothing is stored. Raises RevealRefused (not allowed, wrong password); every
        answer is audited (secret.reveal / secret.reveal_denied)."""
        if field not in _SECRET_FIELDS:
            raise ValueError(f"unknown secret field {field!r}")
        refusal = self.reveal_refusal()
        if refusal is not None:
            self._ws.audit.record(
                "secret.reveal_denied",
                config_id=config_id,
                fields=[field],
                detail="nicht berechtigt",
                actor=self.actor,
            )
            raise RevealRefused(refusal)
        if not self._ws.check_user_password(self.actor, password):
            self._ws.audit.record(
                "secret.reveal_denied",
                config_id=config_id,
                fields=[field],
                detail="Passwort falsch",
                actor=self.actor,
            )
            raise RevealRefused("Passwort falsch.", wrong_password=True)
        clear = self._stored_secret(field, config_id)
        if clear:
            self._ws.audit.record(
                "secret.reveal", config_id=config_id, fields=[field], actor=self.actor
            )
        return clear or None

    def _stored_secret(self, field: str, config_id: str | None) -> str | None:
        if field == "target.password":
            if not config_id:
                return None
            secret = self._ws.get_config(config_id).target.password
        elif field == "smtp.password":
            smtp = self._ws.smtp_settings()
            secret = smtp.password if smtp else None
        else:
            secret = self._ws.chain_settings().ledger_url
        return secret.reveal() if secret else None

    # --- schedule --------------------------------------------------------------------------

    def next_due(self, cfg: ExportConfig) -> dt.datetime | None:
        """The next scheduled run ("Nächste Ausführung"), None: none planned."""
        return self._due_times.get(cfg, self.clock.now(), self._ws.time_zone())

    def due_times(self, cfg: ExportConfig, start: dt.datetime, count: int) -> list[dt.datetime]:
        """The next `count` due times from `start` on, inclusive."""
        from engine.due import due_times

        after = start - dt.timedelta(microseconds=1)
        return due_times(cfg, after, tz=self._ws.time_zone(), count=count)

    # --- the run log -----------------------------------------------------------------------

    def last_run(self, cfg_id: str) -> RunSummary | None:
        """The newest run of a config ("Letzter Lauf"); cheap to ask for every config."""
        return self._last_runs.get(cfg_id)

    def runs(
        self, config_id: str | None = None, *, failed: bool = False, limit: int | None = None
    ) -> list[RunRecord]:
        """Newest first; a run whose process died shows as failed."""
        return self._ws.runs.runs(config_id, failed=failed, limit=limit)

    def run(self, run_id: str) -> RunRecord | None:
        return self._ws.runs.run(run_id)

    def changes(self, config_id: str | None = None, *, open_only: bool = True) -> list[Change]:
        """Bookings changed in the ledger after they were delivered (SPEC §3)."""
        return self._ws.runs.changes(config_id, open_only=open_only)

    def acknowledge_changes(self, cfg_id: str, journal_nos: Sequence[int] | None) -> int:
        """Mark open changes as seen (all, or those journal numbers); audited."""
        self._ws.get_config(cfg_id)  # NotFound for an unknown id
        now = self.now().isoformat(timespec="seconds")
        count = self._ws.runs.acknowledge(cfg_id, journal_nos, user=self.actor, now=now)
        what = "alle offenen" if journal_nos is None else ", ".join(str(n) for n in journal_nos)
        self._ws.audit.record(
            "changes.acknowledge", config_id=cfg_id, detail=f"{count} ({what})", actor=self.actor
        )
        return count

    # --- running -----------------------------------------------------------------------------

    def run_now(
        self,
        cfg_id: str,
        *,
        force: bool = False,
        trigger: str = "manual",
        cancel: CancelToken | None = None,
        wait_busy: float = 0.0,
    ) -> RunRecord:
        """Run a config now and return its finished record (ok / nothing / failed / skipped).
        Raises OutsideWindow outside 06:00–22:00 unless `force` (the person said yes).
        `cancel`: `cancel.cancel()` from any thread stops the run between steps, files and
        upload blocks (a call hanging in a silent server is cut `hard_abort_after` seconds
        later); it ends failed, "abgebrochen", with its step, no partial final file on the
        server and no watermark moved. `wait_busy`: wait up to that many seconds for a run
        of this config that is still ending (a run the TUI cancelled to hand it over to a
        background process) instead of recording this one as skipped."""
        import time

        from engine.runner import RunOptions, run_config

        cfg = self._ws.get_config(cfg_id)
        end = time.monotonic() + wait_busy
        while wait_busy and self.running(cfg_id) and time.monotonic() < end:
            time.sleep(0.2)
        options = RunOptions(trigger=trigger, force=force, cancel=cancel)
        return run_config(self._ws, cfg, options, clock=self.clock.now)

    def running(self, cfg_id: str) -> list[RunRecord]:
        """The config's runs in progress now, by any process (their owner alive); the
        front ends offer no second run while there is one (it would only be skipped). A
        record without an owner pid (written by a tool) cannot be judged and does not count:
        the next run settles it."""
        from engine.liveness import owner_alive

        return [
            r
            for r in self._ws.runs.running(cfg_id)
            if r.host_pid > 0 and owner_alive(r.host_pid, r.host_started, r.host_name)
        ]

    def run_in_background(self, cfg_id: str, *, force: bool = False) -> int:
        """Start `python -m engine run ID` as a process of its own (a new session: it
        survives the terminal, SSH and the TUI) and return its pid. The TUI hands a run over
        to it when it quits while the run goes on ("im Hintergrund zu Ende führen"): the run
        in the TUI is cancelled, and this one waits for it to end before it starts."""
        import subprocess
        import sys

        self._ws.get_config(cfg_id)  # NotFound for an unknown id
        command = [sys.executable, "-m", "engine", "--home", str(self.paths.root)]
        command += ["run", cfg_id, "--trigger", "manual", "--wait-busy", "60"]
        if force:
            command.append("--force")
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        self._ws.audit.record(
            "run.background", config_id=cfg_id, detail=f"PID {process.pid}", actor=self.actor
        )
        return process.pid

    def export_local(
        self, cfg_id: str, out: Path, *, commit: bool, warnings_file: Path | None = None
    ) -> ExportResult:
        """`buchex export`: the files a run would send, written to `out`. `commit` books
        them as delivered and moves the watermark (audited). Raises RunBusy, Unfinished,
        ExportError, LedgerError."""
        from engine.runner import export_local

        cfg = self._ws.get_config(cfg_id)
        result = export_local(
            self._ws, cfg, out, commit=commit, warnings_file=warnings_file, clock=self.clock.now
        )
        if commit:
            self._ws.audit.record(
                "watermark.commit",
                config_id=cfg.id,
                detail=str(result.watermarks),
                actor=self.actor,
            )
        return result

    def redeliver(
        self,
        run_id: str,
        *,
        force: bool = False,
        current: bool = False,
        cancel: CancelToken | None = None,
    ) -> RunRecord:
        """Send a past run's bookings again (Nachlieferung). Raises OutsideWindow (ask, then
        force=True), RedeliveryRefused (journal_nos changed since: ask, then current=True),
        RunBusy. `cancel` as for `run_now`."""
        from engine.redelivery import redeliver
        from engine.runner import RunOptions

        return redeliver(
            self._ws,
            run_id,
            RunOptions(trigger="redeliver", force=force, cancel=cancel),
            current=current,
            user=self.actor,
            clock=self.clock.now,
        )

    def serve(
        self,
        *,
        workstation: str | None,
        workers: int,
        once: bool,
        stop_grace_s: float | None = None,
    ) -> bool:
        """The headless daemon (`buchex daemon`): runs configs when due until SIGTERM;
        `once`: the due runs once (cron). True if every run succeeded. Raises DaemonLocked
        when another daemon serves this data directory. The daemon runs on this service's
        clock (tests inject one: tests/daemon_clock.py); `stop_grace_s`: how long SIGTERM
        lets running uploads finish (None: the default)."""
        from engine import logs
        from engine.daemon import Daemon, DaemonOptions, install_signal_handlers

        logs.configure()
        options = DaemonOptions(workstation=workstation, workers=workers)
        if stop_grace_s is not None:
            options.stop_grace_s = stop_grace_s
        daemon = Daemon(self._ws, options, clock=self.clock)
        daemon.acquire()
        try:
            if once:
                return not daemon.run_once()
            install_signal_handlers(daemon)
            daemon.serve()
            return True
        finally:
            daemon.release()

    # --- tests of connection and mail --------------------------------------------------------

    def test_connection(
        self, cfg: ExportConfig, *, trust: str | None = None
    ) -> Iterator[StepResult]:
        """The connection test (SPEC §2) of `cfg` (saved or not), one result per step as it
        happens. `trust`: the SHA256 fingerprint of an unknown SFTP host key that the person
        compared with the server's operator; only exactly that key is stored, and the
        decision is audited (hostkey.trust) before the test runs."""
        from engine.transports import test_connection

        if trust:
            self._ws.audit.record(
                "hostkey.trust", config_id=cfg.id or None, detail=trust, actor=self.actor
            )
        return test_connection(
            cfg.target,
            known_hosts=self._ws.data_dir.known_hosts_path,
            trust_new_key=trust or None,
            run_date=self.now().date(),
            config_id=cfg.id or None,
        )

    def host_key_refusal(self) -> str | None:
        """Why the actor may not replace a changed SFTP host key, or None: only buchex
        administrators may (`replace_host_key`)."""
        user = self._ws.get_user(self.actor)
        if user is None:
            return (
                f"{ONLY_ADMINS_HOST_KEY}; für die Anmeldung „{self.actor}“ gibt es keinen "
                "buchex-Benutzer."
            )
        if not user.admin:
            return f"{ONLY_ADMINS_HOST_KEY}; „{self.actor}“ ist kein Administrator."
        return None

    def replace_host_key(
        self, cfg: ExportConfig, old: str | None, new: str
    ) -> Iterator[StepResult]:
        """The connection test of `cfg`, replacing the changed SFTP host key: `old` the
        stored fingerprint(s) the admin saw (None: whatever is stored), `new` the one the
        server's operator confirmed. The key is replaced only if the stored keys are still
        `old` and the server shows exactly `new`; else the test fails on the changed key
        and nothing is stored. Raises HostKeyReplaceRefused (not an admin; audited as
        hostkey.replace_denied); the decision is audited (hostkey.replace, both
        fingerprints) before the test runs."""
        from engine.errors import HostKeyReplaceRefused
        from engine.transports import test_connection

        shown = f"gespeichert {old or '(beliebig)'} → neu {new}"
        refusal = self.host_key_refusal()
        if refusal is not None:
            self._ws.audit.record(
                "hostkey.replace_denied",
                config_id=cfg.id or None,
                detail=f"{shown}: nicht berechtigt",
                actor=self.actor,
            )
            raise HostKeyReplaceRefused(refusal)
        self._ws.audit.record(
            "hostkey.replace", config_id=cfg.id or None, detail=shown, actor=self.actor
        )
        return test_connection(
            cfg.target,
            known_hosts=self._ws.data_dir.known_hosts_path,
            replace_key=(old, new),
            run_date=self.now().date(),
            config_id=cfg.id or None,
        )

    def send_test_mail(self, address: str, smtp: SmtpSettings | None = None) -> str:
        """Send a test mail with `smtp` (unsaved values from a form) or the stored
        settings; returns a German summary. Raises MailError whose `reason` is the German
        sentence of `engine.explain.explain_mail` (naming server, port, user and what to
        check) and whose `detail` is the server's own text."""
        from engine.errors import MailError
        from engine.explain import explain_mail
        from engine.mailer import send_test_mail

        smtp = smtp if smtp is not None else self._ws.smtp_settings()
        if smtp is None or not smtp.host:
            raise MailError("Kein SMTP Postausgangsserver eingerichtet.")
        try:
            send_test_mail(smtp, address)
        except MailError as exc:
            explained = explain_mail(exc, smtp)
            raise MailError(explained.sentence, explained.detail) from exc
        return f"Test-E-Mail an {address} gesendet (über {smtp.host}:{smtp.effective_port})"

    # --- the ledger ---------------------------------------------------------------------------

    def ledger_stats(self) -> list[ClientStats]:
        with self._ws.ledger() as ledger:
            return ledger.stats()

    def import_bookings(self, path: Path, *, again: bool = False) -> ImportResult:
        """`buchex ledger import`: bookings from a CSV file, all or nothing. Raises
        AlreadyImported unless `again`."""
        from engine.ledger_import import import_bookings

        return import_bookings(self._ws.data_dir.ledger_path, path, again=again)

    def import_documents(self, path: Path) -> DocumentImportResult:
        """`buchex ledger import-documents`: document images ("Belegbilder") listed in a
        CSV file, copied into the embedded ledger, all or nothing."""
        from engine.ledger_import import import_documents

        return import_documents(self._ws.data_dir.ledger_path, path)

    def demo_ledger(self, **options: Any) -> DemoSummary:
        """`buchex ledger demo`: generated bookings in the embedded ledger."""
        from engine.ledger_demo import generate
        from engine.paths import private_umask

        with private_umask():
            return generate(self._ws.data_dir.ledger_path, **options)

    # --- added for the TUI ---------------------------------------------------------------------

    def run_revisions(self) -> dict[str, int]:
        """Every config's run-log revision, by config id: changes with each write about that
        config's runs, so a reader (the Protokoll) re-reads only the configs that changed."""
        return self._ws.runs.revisions()

    # --- texts for the command line --------------------------------------------------------
    # The German tables and lines `buchex` prints for the results above: pure functions of
    # those results, kept next to the code that defines them (the CLI may not import it).

    @staticmethod
    def file_table(files: Sequence[ExportFile]) -> str:
        """A run's files: Datei, Zeilen, Summe Soll, Summe Haben (EUR), and the total."""
        from engine.export import format_file_table

        return format_file_table(files)

    @staticmethod
    def warning_line(warning: ExportWarning) -> str:
        """One export warning, as the run record keeps it."""
        from engine.runner import format_warning

        return format_warning(warning)

    @staticmethod
    def stats_table(stats: Sequence[ClientStats]) -> str:
        """`ledger_stats` as a table, one line per client plus a total."""
        from engine.ledger import format_stats

        return format_stats(list(stats))

    @staticmethod
    def import_problems(problems: Sequence[ImportProblem]) -> str:
        """`import_bookings`' problems, one a line (the first 50, then a count)."""
        from engine.ledger_import import format_problems

        return format_problems(list(problems))

    @staticmethod
    def number(value: int) -> str:
        """German thousands separator: 1234567 → "1.234.567"."""
        from engine.ledger import format_int

        return format_int(value)


class _LastRunCache:
    """The newest run per config, re-read only when that config's runs changed: the list
    asks for every config on each reload, and the journal changes with every progress step
    of a daemon run. (The read itself is cheap: one indexed query.)"""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[int | None, RunSummary | None]] = {}
        self._primed = False

    def get(self, cfg_id: str) -> RunSummary | None:
        if not self._primed:
            self._prime()
        stamp = self._ws.runs.file_stamp(cfg_id)
        with self._lock:
            cached = self._cache.get(cfg_id)
        # A running run is asked again: its process may have died without a write.
        running = cached is not None and cached[1] is not None and cached[1].status == "running"
        if cached is not None and cached[0] == stamp and stamp is not None and not running:
            return cached[1]
        record = self._ws.runs.last_run(cfg_id)
        with self._lock:
            self._cache[cfg_id] = (stamp, record)
        return record

    def _prime(self) -> None:
        """The first ask fills the cache for every config in one query (the list's first
        load asks for all of them, a query each took twice as long)."""
        table = self._ws.runs.last_run_table()
        with self._lock:
            for cfg_id, (stamp, record) in table.items():
                self._cache.setdefault(cfg_id, (stamp, record))
            self._primed = True


class _NextDueCache:
    """The next due time per config, worked out again only when it has passed (or the
    config or the time zone changed): the list asks for all of them on every reload."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # id -> (config, zone, computed at, due)
        self._cache: dict[str, tuple[ExportConfig, ZoneInfo, dt.datetime, dt.datetime]] = {}

    def get(self, cfg: ExportConfig, now: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
        from engine.due import next_due

        with self._lock:
            cached = self._cache.get(cfg.id)
        # next_due gives the first due time strictly after `now`: for any moment from the
        # one it was worked out at up to that due time, the answer is the same.
        if cached is not None and cached[:2] == (cfg, tz) and cached[2] <= now < cached[3]:
            return cached[3]
        due = next_due(cfg, now, tz=tz)
        with self._lock:
            if due is None:
                self._cache.pop(cfg.id, None)
            else:
                self._cache[cfg.id] = (cfg, tz, now, due)
        return due
