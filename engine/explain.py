"""Failure reasons a non-programmer can act on (issue 14, defect 6).

A `TransportError` or `MailError` carries a short German reason ("Anmeldung abgelehnt")
and the server's own text as detail ("530 Authentication failed."). This module turns
them, together with the configuration they happened with, into one German sentence that
names host, port, user and folder as configured and says what to check:

    >>> explain_transport(err, cfg.target).text
    'Anmelden: Der Server ftp.kanzlei.example:21 hat die Anmeldung als „kanzlei“ abgelehnt.
     Benutzername und Passwort in der Schnittstelle prüfen (Abschnitt FTP) oder beim
     Betreiber des Servers nachfragen. – Server: 530 Authentication failed.'

The server's text stays in `Explanation.detail`, never in the sentence.

Data-driven: `TRANSPORT_RULES` (keyed by `(step, reason)`, `(None, reason)` for every
step) and `MAIL_RULES` (keyed by reason) hold templates; `_transport_context` and
`_mail_context` fill in the values. A reason without a rule still gets a sentence that
names the server and keeps the reason (`TRANSPORT_FALLBACK`, `MAIL_FALLBACK`).

Pure: no I/O, and an encrypted password is never decrypted here. Passwords that are held
in clear, and the password part of any URL, are masked in everything returned.
"""

from __future__ import annotations

import enum
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from engine.config import DEFAULT_PORTS, Target
from engine.config import FIELDS_BY_PATH as TARGET_FIELDS
from engine.errors import (
    ChangedHostKey,
    HostKeyNotConfirmed,
    MailError,
    Reason,
    Step,
    TransportError,
    UnknownHostKey,
)
from engine.fields import FieldSpec, Secret
from engine.settings import DEFAULT_SMTP_PORTS, SECURITY_CHOICES, SMTP_FIELDS, SmtpSettings

#: The step every mail failure is reported under.
MAIL_STEP: Final = "E-Mail-Versand"
MASK: Final = "********"
#: As `engine.transports.FOLDER_PREFIX` (not imported: this module stays above the transports).
FOLDER_PREFIX: Final = "Automatischer_Buchhaltungsexport_"

# Reasons the transports raise as literal strings, not (yet) as `Reason` constants.
CA_FILE_UNREADABLE: Final = "CA-Datei nicht lesbar"
KNOWN_HOSTS_UNREADABLE: Final = "known_hosts nicht lesbar"
KNOWN_HOSTS_UNWRITABLE: Final = "known_hosts nicht schreibbar"
NOT_A_DIRECTORY: Final = "ist kein Verzeichnis"


@dataclass(frozen=True)
class Explanation:
    """`step`: German step name; `sentence`: what happened and what to check, for anyone;
    `detail`: the server's own text or a technical detail, or ""."""

    step: str
    sentence: str
    detail: str = ""

    @property
    def text(self) -> str:
        """One line for a log or run record."""
        line = f"{self.step}: {self.sentence}"
        return f"{line} – Server: {self.detail}" if self.detail else line


class Detail(enum.Enum):
    """What becomes of the error's `detail`."""

    KEEP = "keep"  # the server's answer or a technical detail: shown as the detail line
    DROP = "drop"  # only repeats what the sentence says (host:port, fingerprints, a label)
    STRIP_WHERE = "strip"  # "host:port: rest" → "rest"


@dataclass(frozen=True)
class Rule:
    """`sentence`: a `str.format` template over the context's names."""

    sentence: str
    detail: Detail = Detail.KEEP


# -- transports -------------------------------------------------------------------------
#
# Context names (see `_transport_context`): step, reason, detail, host, port, where
# (host:port), user, protocol, section (the form section of the target fields), folder /
# folder_nom / in_folder (the remote folder with article: accusative, nominative, dative),
# directory (the configured Verzeichnis with article), credentials, key_file, ca_file,
# tls_check, cert_fp, fingerprint, expected, confirmed, trust_fp, config_id.

_LATER = "Meist vorübergehend – später erneut versuchen"
_OPERATOR = "beim Betreiber des Servers nachfragen"

TRANSPORT_RULES: Final[Mapping[tuple[str | None, str], Rule]] = {
    # -- reaching the server
    (None, Reason.NAME_NOT_FOUND): Rule(
        "Der Servername „{host}“ ist unbekannt (Port {port}). Den Hostnamen in der "
        "Schnittstelle auf Tippfehler prüfen (Abschnitt {section}); ist er richtig, beim "
        "Betreiber des Servers den genauen Namen erfragen.",
        Detail.DROP,
    ),
    (None, Reason.NAME_LOOKUP_FAILED): Rule(
        "Der Name „{host}“ (Port {port}) konnte gerade nicht aufgelöst werden: der "
        "DNS-Server dieses Rechners antwortet nicht. Netzwerkverbindung und DNS dieses "
        f"Rechners prüfen. {_LATER}.",
        Detail.DROP,
    ),
    (None, Reason.REFUSED): Rule(
        "Der Server {host} hat die Verbindung auf Port {port} abgelehnt: dort läuft kein "
        "{protocol}-Dienst. Den Port in der Schnittstelle prüfen (Abschnitt {section}; "
        "üblich sind 21 für FTP/FTPS und 22 für SFTP) und beim Betreiber des Servers "
        "nachfragen, ob der Dienst läuft.",
        Detail.DROP,
    ),
    (None, Reason.UNREACHABLE): Rule(
        "Der Server {where} ist von diesem Rechner aus nicht erreichbar. Netzwerkverbindung, "
        "VPN und Firewall dieses Rechners prüfen und ob der Server eingeschaltet ist.",
        Detail.DROP,
    ),
    (Step.CONNECT, Reason.TIMEOUT): Rule(
        "Der Server {where} hat nicht rechtzeitig geantwortet. Prüfen, ob der Server läuft, "
        "ob eine Firewall die Verbindung zu Port {port} sperrt und ob der Port in der "
        "Schnittstelle stimmt (Abschnitt {section}).",
    ),
    (Step.UPLOAD, Reason.TIMEOUT): Rule(
        "Das Hochladen nach {where} dauerte zu lange und wurde abgebrochen; auf dem Server "
        f"blieb keine unvollständige Datei. {_LATER}; wiederholt es sich, die Leitung und die "
        f"Auslastung des Servers prüfen oder {_OPERATOR}.",
    ),
    (None, Reason.TIMEOUT): Rule(
        "Der Server {where} hat beim Schritt „{step}“ nicht rechtzeitig geantwortet. "
        f"{_LATER}; wiederholt es sich, Netzwerk und Firewall prüfen oder {_OPERATOR}.",
    ),
    (Step.CONNECT, Reason.CUT): Rule(
        "Der Server {where} hat die Verbindung gleich nach dem Aufbau getrennt. Prüfen, ob "
        "Port und Protokoll ({protocol}) in der Schnittstelle stimmen (Abschnitt {section}) "
        f"und ob der Server Verbindungen von diesem Rechner zulässt; sonst {_OPERATOR}.",
    ),
    (None, Reason.CUT): Rule(
        "Die Verbindung zu {where} brach beim Schritt „{step}“ ab; auf dem Server blieb keine "
        f"unvollständige Datei unter dem endgültigen Namen. {_LATER}; wiederholt es sich, "
        f"Netzwerk und Firewall prüfen oder {_OPERATOR}.",
    ),
    # -- logging in
    (None, Reason.LOGIN_REFUSED): Rule(
        "Der Server {where} hat die Anmeldung als „{user}“ abgelehnt. {credentials} in der "
        f"Schnittstelle prüfen (Abschnitt {{section}}) oder {_OPERATOR}.",
    ),
    (None, Reason.KEY_FILE): Rule(
        "Die Schlüsseldatei {key_file} für die Anmeldung als „{user}“ an {where} kann nicht "
        "gelesen werden. Pfad und Dateirechte auf diesem Rechner prüfen (buchex muss die "
        "Datei lesen dürfen) und ob es ein privater OpenSSH- oder PEM-Schlüssel ist "
        "(Abschnitt {section}, Schlüsseldatei).",
    ),
    (None, Reason.KEY_FILE_PASSWORD): Rule(
        "Die Schlüsseldatei {key_file} für die Anmeldung als „{user}“ an {where} ist mit "
        "einem Kennwort geschützt, und das Passwort in der Schnittstelle fehlt oder passt "
        "nicht. Im Abschnitt {section} unter Passwort das Kennwort der Schlüsseldatei "
        "eintragen.",
        Detail.DROP,
    ),
    (None, Reason.PASSWORD_UNREADABLE): Rule(
        "Das gespeicherte Passwort für „{user}“ an {where} kann nicht entschlüsselt werden: "
        "die Schlüsseldatei secret.key im Datenverzeichnis fehlt oder ist eine andere. "
        "secret.key aus der Sicherung zurückspielen oder das Passwort in der Schnittstelle "
        "neu eingeben (Abschnitt {section}).",
    ),
    (None, Reason.CONFIG): Rule(
        "In der Schnittstelle fehlt die Angabe „{detail}“ für den Zielserver {where}. Im "
        "Abschnitt {section} eintragen und speichern.",
        Detail.DROP,
    ),
    # -- folders and files
    (Step.DIRECTORY, Reason.NO_WRITE): Rule(
        "Der Benutzer „{user}“ darf auf {where} {folder} nicht anlegen oder öffnen. Beim "
        "Betreiber des Servers Schreibrechte für „{user}“ auf {directory} einrichten lassen "
        "oder in der Schnittstelle ein anderes Verzeichnis eintragen (Abschnitt {section}).",
    ),
    (Step.RENAME, Reason.NO_WRITE): Rule(
        "Der Benutzer „{user}“ darf auf {where} {in_folder} keine Dateien umbenennen oder "
        "überschreiben. Beim Betreiber des Servers volle Schreibrechte (anlegen, umbenennen, "
        "löschen) für „{user}“ auf {directory} einrichten lassen.",
    ),
    (Step.DELETE, Reason.NO_WRITE): Rule(
        "Der Benutzer „{user}“ darf auf {where} {in_folder} keine Dateien löschen. Beim "
        "Betreiber des Servers volle Schreibrechte (anlegen, umbenennen, löschen) für "
        "„{user}“ auf {directory} einrichten lassen.",
    ),
    (None, Reason.NO_WRITE): Rule(
        "Der Benutzer „{user}“ darf auf {where} {in_folder} keine Dateien schreiben. Beim "
        "Betreiber des Servers Schreibrechte für „{user}“ auf {directory} einrichten lassen "
        "oder in der Schnittstelle ein anderes Verzeichnis eintragen (Abschnitt {section}).",
    ),
    (Step.VERIFY, Reason.NOT_FOUND): Rule(
        "Die eben hochgeladene Datei ist auf {where} {in_folder} nicht mehr zu finden. "
        "Vermutlich holt ein anderes Programm Dateien sofort ab oder ein Virenscanner "
        f"entfernt sie; {_OPERATOR}.",
    ),
    (Step.DELETE, Reason.NOT_FOUND): Rule(
        "Die Testdatei ist auf {where} {in_folder} nicht mehr zu finden, bevor buchex sie "
        "löschen konnte. Vermutlich holt ein anderes Programm Dateien sofort ab; "
        f"{_OPERATOR}.",
    ),
    (None, Reason.NOT_FOUND): Rule(
        "Auf {where} fehlt {folder_nom} beim Schritt „{step}“ (angemeldet als „{user}“). Das "
        "Verzeichnis in der Schnittstelle prüfen (Abschnitt {section}) und ob „{user}“ es "
        f"sehen darf; sonst {_OPERATOR}.",
    ),
    (None, NOT_A_DIRECTORY): Rule(
        "Auf {where} liegt unter „{detail}“ eine Datei, wo buchex einen Ordner für "
        "{folder} braucht. Die Datei vom Betreiber des Servers entfernen lassen oder in der "
        "Schnittstelle ein anderes Verzeichnis eintragen (Abschnitt {section}).",
        Detail.DROP,
    ),
    (None, Reason.DISK_FULL): Rule(
        "Auf dem Server {where} ist kein Platz mehr (Datenträger voll oder das Kontingent "
        "des Benutzers „{user}“ erschöpft). Den Betreiber des Servers bitten, Platz zu "
        "schaffen oder das Kontingent zu erhöhen; alte Lieferungen {in_folder} können "
        "vielleicht gelöscht werden.",
    ),
    (None, Reason.SIZE_MISMATCH): Rule(
        "Die Datei kam auf {where} nicht vollständig an: ihre Größe auf dem Server weicht ab. "
        f"Sie wurde nicht unter dem endgültigen Namen abgelegt. {_LATER}; wiederholt es "
        f"sich, {_OPERATOR} (Kontingent, Virenscanner, Textmodus-Umwandlung).",
    ),
    (None, Reason.LOCAL_FILE): Rule(
        "Eine Exportdatei auf diesem Rechner konnte für die Übertragung nach {where} nicht "
        "gelesen werden. Platz und Rechte im Datenverzeichnis prüfen und den Lauf "
        "wiederholen.",
    ),
    # -- SFTP host keys
    (None, Reason.HOST_KEY_UNKNOWN): Rule(
        "Der SFTP-Server {where} ist buchex noch nicht bekannt; sein Hostschlüssel hat den "
        "Fingerabdruck {fingerprint}. Den Fingerabdruck beim Betreiber des Servers "
        "bestätigen lassen, dann in der Oberfläche Verbindungstest → Vertrauen wählen oder "
        "auf der Kommandozeile „buchex test {config_id} --trust {trust_fp}“ ausführen.",
        Detail.DROP,
    ),
    (None, Reason.HOST_KEY_NOT_CONFIRMED): Rule(
        "Der SFTP-Server {where} zeigt einen anderen Hostschlüssel ({fingerprint}) als den "
        "bestätigten ({confirmed}); nichts wurde gespeichert. Das kann ein Tippfehler sein "
        "oder ein Angriff: den Fingerabdruck erneut beim Betreiber des Servers bestätigen "
        "lassen, dann in der Oberfläche Verbindungstest → Vertrauen wählen oder auf der "
        "Kommandozeile „buchex test {config_id} --trust {trust_fp}“ ausführen.",
        Detail.DROP,
    ),
    (None, Reason.HOST_KEY_CHANGED): Rule(
        "Der SFTP-Server {where} zeigt einen anderen Hostschlüssel als den gespeicherten "
        "(gespeichert: {expected}; jetzt: {fingerprint}). Das kann ein Angriff sein – es "
        "wurde nichts übertragen. Beim Betreiber des Servers nachfragen, ob der Schlüssel "
        "gewechselt wurde; nur wenn er den neuen Fingerabdruck bestätigt, ihn als "
        "Administrator in der Oberfläche unter Verbindungstest → Schlüssel ersetzen "
        "übernehmen oder auf der Kommandozeile „buchex test {config_id} --replace-key "
        "{trust_fp}“ ausführen.",
        Detail.DROP,
    ),
    (None, Reason.HOST_KEY_REVOKED): Rule(
        "Der Hostschlüssel des SFTP-Servers {where} ({fingerprint}) ist in buchex gesperrt "
        "und wird nie angenommen. Beim Betreiber des Servers nachfragen; er muss einen neuen "
        "Schlüssel einrichten.",
        Detail.DROP,
    ),
    (None, KNOWN_HOSTS_UNREADABLE): Rule(
        "buchex kann seine Liste bekannter SFTP-Hostschlüssel (known_hosts im "
        "Datenverzeichnis) nicht lesen und darum {where} nicht prüfen. Datei und Rechte im "
        "Datenverzeichnis prüfen.",
    ),
    (None, KNOWN_HOSTS_UNWRITABLE): Rule(
        "buchex kann den bestätigten Hostschlüssel von {where} nicht in known_hosts im "
        "Datenverzeichnis speichern. Platz und Schreibrechte im Datenverzeichnis prüfen.",
    ),
    (None, Reason.NOT_SSH): Rule(
        "Auf {where} antwortet kein SSH/SFTP-Server. Den Port prüfen (SFTP meist 22) und ob "
        "„SFTP verwenden“ in der Schnittstelle richtig gewählt ist (Abschnitt {section}).",
    ),
    (None, Reason.NO_COMMON_ALGORITHM): Rule(
        "buchex und der SFTP-Server {where} haben keine gemeinsamen Verschlüsselungsverfahren. "
        "Den Betreiber des Servers bitten, aktuelle Verfahren freizugeben (z. B. Ed25519- "
        "oder ECDSA-Hostschlüssel, AES-GCM oder AES-CTR).",
    ),
    # -- FTPS
    (None, Reason.CERT_UNTRUSTED): Rule(
        "Das TLS-Zertifikat des FTPS-Servers {where} wurde nicht angenommen: es passt nicht "
        "zu {tls_check}. {cert_fp} beim Betreiber des Servers bestätigen lassen und in der "
        "Schnittstelle unter Zertifikat-Fingerabdruck (oder eine CA-Datei) hinterlegen "
        "(Abschnitt {section}).",
    ),
    (None, CA_FILE_UNREADABLE): Rule(
        "Die CA-Datei {ca_file} für den FTPS-Server {where} kann nicht gelesen werden. Pfad, "
        "Dateirechte und Format (PEM) prüfen oder das Feld CA-Datei leeren (Abschnitt "
        "{section}).",
        Detail.DROP,
    ),
    (None, Reason.TLS_FAILED): Rule(
        "Die verschlüsselte FTPS-Verbindung zu {where} kam nicht zustande. Prüfen, ob der "
        "Server FTPS mit explizitem TLS ab Version 1.2 anbietet und ob Port {port} dafür "
        f"richtig ist (Abschnitt {{section}}); sonst {_OPERATOR}.",
    ),
    (None, Reason.NO_TLS): Rule(
        "Der Server {where} bietet kein FTPS (AUTH TLS) an. Beim Betreiber des Servers "
        "nachfragen, ob FTPS eingeschaltet werden kann oder ob ein anderer Port oder SFTP zu "
        "verwenden ist, und das in der Schnittstelle einstellen (Abschnitt {section}).",
    ),
    # -- the server says no
    (None, Reason.SERVER_REFUSED): Rule(
        "Der Server {where} hat den Schritt „{step}“ für den Benutzer „{user}“ abgelehnt. "
        "Meist fehlen dem Benutzer Rechte: die Meldung des Servers dem Betreiber des Servers "
        "zeigen.",
    ),
    (None, Reason.SERVER_ERROR): Rule(
        "Der Server {where} meldete beim Schritt „{step}“ einen Fehler. "
        f"{_LATER}; wiederholt es sich, die Meldung dem Betreiber des Servers zeigen.",
    ),
    (Step.CONNECT, Reason.PROTOCOL): Rule(
        "Der Server {where} antwortet nicht wie ein {protocol}-Server. Port und Protokoll in "
        "der Schnittstelle prüfen (Abschnitt {section}).",
    ),
    (None, Reason.PROTOCOL): Rule(
        "Der Server {where} antwortete beim Schritt „{step}“ unerwartet. Port und Protokoll "
        "({protocol}) in der Schnittstelle prüfen; sonst die Meldung dem Betreiber des "
        "Servers zeigen.",
    ),
    (None, Reason.CLOSED): Rule(
        "Die Verbindung zu {where} war für den Schritt „{step}“ nicht geöffnet (ein Fehler im "
        "Ablauf von buchex). Erneut versuchen; wiederholt es sich, das Protokoll an den "
        "Support geben.",
    ),
}

TRANSPORT_FALLBACK: Final = Rule(
    "Der Schritt „{step}“ mit dem Server {where} ist fehlgeschlagen: {reason}. Die "
    "Einstellungen im Abschnitt {section} der Schnittstelle prüfen; sonst die Meldung dem "
    "Betreiber des Servers zeigen.",
)


# -- mail -----------------------------------------------------------------------------
#
# Context names (see `_mail_context`): reason, detail, host, port, where, user, sender,
# security (the chosen Verschlüsselung's label), timeout, section.

_SMTP_SETTINGS = "in den Einstellungen (Abschnitt {section})"
_PORT_AND_SECURITY = (
    "In den Einstellungen (Abschnitt {section}) prüfen, ob Port {port} zur Verschlüsselung "
    "„{security}“ passt (üblich: 587 mit STARTTLS, 465 mit SSL/TLS)"
)
_MAIL_PROVIDER = "die Meldung des Servers dem Betreiber des Mailservers zeigen"

MAIL_RULES: Final[Mapping[str, Rule]] = {
    "kein SMTP-Server eingerichtet": Rule(
        "Es ist kein SMTP Postausgangsserver eingerichtet, darum kann buchex keine E-Mail "
        f"senden. Den SMTP-Server {_SMTP_SETTINGS} eintragen.",
        Detail.DROP,
    ),
    "Kein SMTP Postausgangsserver eingerichtet.": Rule(
        "Es ist kein SMTP Postausgangsserver eingerichtet, darum kann buchex keine E-Mail "
        f"senden. Den SMTP-Server {_SMTP_SETTINGS} eintragen.",
        Detail.DROP,
    ),
    "kein Absender eingerichtet": Rule(
        "Für den SMTP-Server {where} ist kein Absender eingerichtet. Eine Absender-Adresse, "
        f"die der Benutzer „{{user}}“ verwenden darf, {_SMTP_SETTINGS} eintragen.",
        Detail.DROP,
    ),
    "keine E-Mail-Adresse angegeben": Rule(
        "Es ist keine Empfänger-Adresse angegeben. In der Schnittstelle im Abschnitt E-Mail "
        "(oder beim Test) eine Adresse eintragen.",
        Detail.DROP,
    ),
    "Name nicht gefunden": Rule(
        "Der SMTP-Server „{host}“ (Port {port}) ist unbekannt. Den Namen "
        f"{_SMTP_SETTINGS} auf Tippfehler prüfen.",
        Detail.DROP,
    ),
    "Verbindung abgelehnt": Rule(
        "Der SMTP-Server {host} hat die Verbindung auf Port {port} abgelehnt. Den Port "
        f"{_SMTP_SETTINGS} prüfen (üblich: 587 mit STARTTLS, 465 mit SSL/TLS) und ob eine "
        "Firewall ausgehende Mails sperrt.",
        Detail.DROP,
    ),
    "Zeitüberschreitung": Rule(
        "Der SMTP-Server {where} hat nicht innerhalb von {timeout} Sekunden geantwortet. "
        "Prüfen, ob der Server läuft, ob eine Firewall Port {port} sperrt und ob Port und "
        f"Verschlüsselung {_SMTP_SETTINGS} stimmen.",
        Detail.DROP,
    ),
    "Netzwerk nicht erreichbar": Rule(
        "Von diesem Rechner aus ist kein Netzwerk zum SMTP-Server {where} erreichbar. "
        "Netzwerkverbindung, VPN und Routing dieses Rechners prüfen.",
        Detail.DROP,
    ),
    "Server nicht erreichbar": Rule(
        "Der SMTP-Server {where} ist von diesem Rechner aus nicht erreichbar. Prüfen, ob der "
        "Server läuft und ob eine Firewall die Verbindung sperrt.",
        Detail.DROP,
    ),
    "Netzwerkfehler": Rule(
        "Beim Verbinden mit dem SMTP-Server {where} trat ein Netzwerkfehler auf. "
        "Netzwerkverbindung und Firewall prüfen, dann erneut versuchen.",
        Detail.STRIP_WHERE,
    ),
    "Verbindung unerwartet getrennt": Rule(
        f"Der SMTP-Server {{where}} hat die Verbindung unerwartet getrennt. {_PORT_AND_SECURITY}"
        "; sonst später erneut versuchen.",
        Detail.DROP,
    ),
    "Server verweigert die Verbindung": Rule(
        "Der SMTP-Server {where} verweigert die Verbindung. Prüfen, ob dieser Rechner dort "
        f"senden darf und ob Port und Verschlüsselung stimmen; sonst {_MAIL_PROVIDER}.",
    ),
    "TLS-Zertifikat nicht vertrauenswürdig": Rule(
        "Das TLS-Zertifikat des SMTP-Servers {where} ist nicht vertrauenswürdig. Den "
        f"Servernamen {_SMTP_SETTINGS} prüfen (er muss zum Zertifikat passen), sonst "
        "beim Betreiber des Mailservers nachfragen.",
        Detail.STRIP_WHERE,
    ),
    "TLS-Verbindung fehlgeschlagen": Rule(
        "Die verschlüsselte Verbindung zum SMTP-Server {where} kam nicht zustande. "
        f"{_PORT_AND_SECURITY}.",
        Detail.DROP,
    ),
    "Server unterstützt kein STARTTLS": Rule(
        "Der SMTP-Server {where} bietet kein STARTTLS an. Verschlüsselung und Port "
        f"{_SMTP_SETTINGS} prüfen (SSL/TLS meist Port 465) oder beim Betreiber des "
        "Mailservers nachfragen.",
        Detail.DROP,
    ),
    "Anmeldung abgelehnt": Rule(
        "Der SMTP-Server {where} hat die Anmeldung als „{user}“ abgelehnt. Benutzer und "
        f"Passwort {_SMTP_SETTINGS} prüfen; manche Anbieter verlangen ein eigenes "
        "App-Passwort.",
    ),
    "Server bietet keine Anmeldung an": Rule(
        "Der SMTP-Server {where} bietet keine Anmeldung an (eingestellt ist Benutzer "
        "„{user}“). STARTTLS oder SSL/TLS wählen – viele Server erlauben die Anmeldung erst "
        "verschlüsselt – oder den Benutzer leeren, wenn der Server ohne Anmeldung sendet; "
        "beides in den Einstellungen im Abschnitt {section}.",
        Detail.DROP,
    ),
    "Absender abgelehnt": Rule(
        "Der SMTP-Server {where} hat den Absender „{sender}“ abgelehnt. Eine Absender-Adresse "
        f"{_SMTP_SETTINGS} eintragen, die der Benutzer „{{user}}“ verwenden darf (meist seine "
        "eigene).",
    ),
    "Empfänger abgelehnt": Rule(
        "Der SMTP-Server {where} hat Empfänger-Adressen abgelehnt. Die Adressen (siehe Meldung "
        "des Servers) auf Tippfehler prüfen; manche Server senden nur an fremde Adressen, "
        "wenn man angemeldet ist.",
    ),
    "Nachricht abgelehnt": Rule(
        "Der SMTP-Server {where} hat die Nachricht abgelehnt (zum Beispiel als Spam oder "
        f"wegen ihrer Größe); {_MAIL_PROVIDER}.",
    ),
    "Server unterstützt die Anfrage nicht": Rule(
        f"Der SMTP-Server {{where}} unterstützt eine nötige Funktion nicht; {_MAIL_PROVIDER}.",
    ),
    "Server meldet einen Fehler": Rule(
        f"Der SMTP-Server {{where}} meldet einen Fehler. {_LATER}; wiederholt es sich, "
        f"{_MAIL_PROVIDER}.",
    ),
    "SMTP-Fehler": Rule(
        f"Beim Senden über den SMTP-Server {{where}} trat ein Fehler auf. {_LATER}; "
        f"wiederholt es sich, {_MAIL_PROVIDER}.",
    ),
    "unerwarteter Fehler beim E-Mail-Versand": Rule(
        "Beim Senden über den SMTP-Server {where} trat ein unerwarteter Fehler auf. Erneut "
        "versuchen; wiederholt es sich, das Protokoll an den Support geben.",
    ),
}

MAIL_FALLBACK: Final = Rule(
    "Die E-Mail über den SMTP-Server {where} konnte nicht gesendet werden: {reason}. Die "
    f"Einstellungen im Abschnitt {{section}} prüfen; sonst {_MAIL_PROVIDER}.",
)


# -- the functions ---------------------------------------------------------------------


def explain_transport(
    err: TransportError,
    target: Target,
    *,
    folder: str | None = None,
    config_id: str | None = None,
) -> Explanation:
    """`err` as a sentence about `target`. `folder`: the remote folder the run or test used
    (as `remote_folder` or `ensure_directory` gave it), if known; else the configured
    Verzeichnis is named. `config_id`: for the `buchex test ID --trust …` hint."""
    rule = (
        TRANSPORT_RULES.get((err.step, err.reason))
        or TRANSPORT_RULES.get((None, err.reason))
        or TRANSPORT_FALLBACK
    )
    context = _transport_context(err, target, folder, config_id)
    secrets = _plain_secrets([target.password])
    sentence = _scrub(rule.sentence.format_map(context), secrets)
    detail = _scrub(_detail(rule.detail, err.detail or "", context["where"]), secrets)
    return Explanation(err.step or "Übertragung", sentence, detail)


def explain_mail(err: MailError, smtp: SmtpSettings) -> Explanation:
    """`err` (from `engine.mailer.send_mail` or the service) as a sentence about `smtp`."""
    rule = MAIL_RULES.get(err.reason) or MAIL_FALLBACK
    context = _mail_context(err, smtp)
    secrets = _plain_secrets([smtp.password])
    sentence = _scrub(rule.sentence.format_map(context), secrets)
    detail = _scrub(_detail(rule.detail, err.detail or "", context["where"]), secrets)
    return Explanation(MAIL_STEP, sentence, detail)


# -- context ----------------------------------------------------------------------------

_PROTOCOL_NAMES: Final = {"ftp": "FTP", "ftps": "FTPS", "sftp": "SFTP"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_VALUE_MAX = 300


def _show(value: str) -> str:
    """A configured value as it was entered, on one line (control characters escaped)."""
    text = _CONTROL.sub(lambda m: ascii(m.group())[1:-1], value)
    return text if len(text) <= _VALUE_MAX else text[: _VALUE_MAX - 1] + "…"


def _where(host: str | None, port: int, missing: str) -> str:
    if not host:
        return f"{missing}:{port}"
    shown = _show(host)
    return f"[{shown}]:{port}" if ":" in shown else f"{shown}:{port}"


def _section(fields: Iterable[FieldSpec], path: str, default: str) -> str:
    return next((spec.section for spec in fields if spec.path == path), default)


def _transport_context(
    err: TransportError, target: Target, folder: str | None, config_id: str | None
) -> dict[str, str]:
    protocol = target.protocol if target.protocol in _PROTOCOL_NAMES else "ftp"
    port = target.port or DEFAULT_PORTS[protocol]
    host = _show(target.host) if target.host else "(ohne Hostname)"
    user = _show(target.user) if target.user else "(ohne Benutzer)"
    directory = (target.directory or "").strip()
    if folder is None:
        folder = _configured_folder(directory, target.data_interface)
    if folder in ("", "."):
        folder_acc = folder_nom = "das Anmeldeverzeichnis"
        in_folder = "im Anmeldeverzeichnis"
    else:
        shown = f"Ordner „{_show(folder)}“"
        folder_acc, folder_nom, in_folder = f"den {shown}", f"der {shown}", f"im {shown}"
    key_file = target.key_file if protocol == "sftp" else None
    if key_file:
        credentials = f"Benutzername und Schlüsseldatei „{_show(key_file)}“"
    else:
        credentials = "Benutzername und Passwort"
    fingerprint, expected, confirmed, trust_fp = _host_key(err)
    return {
        "step": err.step or "Übertragung",
        "reason": err.reason,
        "detail": _show(err.detail or ""),
        "host": host,
        "port": str(port),
        "where": _where(target.host, port, host),
        "user": user,
        "protocol": _PROTOCOL_NAMES[protocol],
        "section": _section(TARGET_FIELDS.values(), "target.host", "FTP"),
        "folder": folder_acc,
        "folder_nom": folder_nom,
        "in_folder": in_folder,
        "directory": f"„{_show(directory)}“" if directory else "das Anmeldeverzeichnis",
        "credentials": credentials,
        "key_file": f"„{_show(key_file)}“" if key_file else "(keine eingetragen)",
        "ca_file": f"„{_show(target.tls_ca_file)}“" if target.tls_ca_file else "(Systemvorgabe)",
        "tls_check": _tls_check(target),
        "cert_fp": _certificate_fingerprint(err.detail or ""),
        "fingerprint": fingerprint,
        "expected": expected,
        "confirmed": confirmed,
        "trust_fp": trust_fp,
        "config_id": _show(config_id) if config_id else "ID",
    }


def _configured_folder(directory: str, data_interface: bool) -> str:
    """The folder a run writes into (SPEC §2), the date left open."""
    dated = f"{FOLDER_PREFIX}JJJJ-MM-TT"
    if directory not in ("", "/"):
        directory = directory.rstrip("/")
    if not directory:
        return "." if data_interface else dated
    if data_interface:
        return directory
    return posixpath.join(directory, dated)


def _tls_check(target: Target) -> str:
    if target.tls_fingerprint:
        return "dem hinterlegten Zertifikat-Fingerabdruck"
    if target.tls_ca_file:
        return f"der CA-Datei „{_show(target.tls_ca_file)}“"
    return "den Zertifizierungsstellen dieses Rechners"


_CERT_FP = re.compile(r"Fingerabdruck SHA-256 ([0-9A-F]{2}(?::[0-9A-F]{2})+)")


def _certificate_fingerprint(detail: str) -> str:
    """The phrase naming the certificate's fingerprint, if the transport reported it."""
    match = _CERT_FP.search(detail)
    return f"Den Fingerabdruck {match.group(1)}" if match else "Den Fingerabdruck des Zertifikats"


_TWO_KEYS = re.compile(r"(?P<kind>gespeichert|bestätigt) (?P<first>.+), vom Server (?P<shown>.+)")


def _host_key(err: TransportError) -> tuple[str, str, str, str]:
    """(fingerprint shown now, stored one(s), confirmed one, fingerprint for --trust)."""
    unknown = "(unbekannt)"
    if isinstance(err, HostKeyNotConfirmed):
        shown = f"{err.key_type} {err.fingerprint}".strip()
        return shown, unknown, err.confirmed, err.fingerprint
    if isinstance(err, UnknownHostKey):
        shown = f"{err.key_type} {err.fingerprint}".strip()
        return shown, unknown, unknown, err.fingerprint
    if isinstance(err, ChangedHostKey):
        trust = err.actual.split()[-1] if err.actual.split() else "SHA256:…"
        return err.actual, err.expected, unknown, trust
    # A plain TransportError (e.g. rebuilt from a run record): the detail as the errors
    # above write it, "gespeichert A, vom Server B" / "bestätigt A, vom Server B" / "B".
    detail = " ".join((err.detail or "").split())
    match = _TWO_KEYS.fullmatch(detail)
    if match:
        first, shown = match.group("first"), match.group("shown")
        is_stored = match.group("kind") == "gespeichert"
        stored, confirmed = (first, unknown) if is_stored else (unknown, first)
    else:
        shown, stored, confirmed = detail or unknown, unknown, unknown
    trust = next((w for w in reversed(shown.split()) if w.startswith("SHA256:")), "SHA256:…")
    return shown, stored, confirmed, trust


def _mail_context(err: MailError, smtp: SmtpSettings) -> dict[str, str]:
    security = dict(SECURITY_CHOICES).get(smtp.security, smtp.security)
    port = smtp.port or DEFAULT_SMTP_PORTS.get(smtp.security, DEFAULT_SMTP_PORTS["starttls"])
    host = _show(smtp.host) if smtp.host else "(ohne SMTP-Server)"
    return {
        "reason": err.reason,
        "detail": _show(err.detail or ""),
        "host": host,
        "port": str(port),
        "where": _where(smtp.host, port, host),
        "user": _show(smtp.user) if smtp.user else "(ohne Benutzer)",
        "sender": _show(smtp.sender) if smtp.sender else "(kein Absender)",
        "security": security,
        "timeout": str(smtp.timeout),
        "section": _section(SMTP_FIELDS, "host", "SMTP Postausgangsserver"),
    }


# -- detail and secrets -----------------------------------------------------------------


def _detail(use: Detail, detail: str, where: str) -> str:
    detail = " ".join(detail.split())
    if use is Detail.DROP:
        return ""
    if use is Detail.STRIP_WHERE:
        bare = where.rsplit(":", 1)[0].strip("[]")
        for prefix in (where, bare):
            if detail.startswith(prefix):
                detail = detail[len(prefix) :].lstrip(" :,;–-")
                break
    return detail


_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*):(?P<pw>[^\s@/]+)@")
_FTP_PASS = re.compile(r"\b(PASS|AUTH PLAIN|AUTH LOGIN)\s+\S+", re.IGNORECASE)


def _plain_secrets(secrets: Iterable[Secret | None]) -> list[str]:
    """Passwords held in clear (typed in, or already decrypted by a transport); an
    encrypted one is not decrypted here (no I/O, no key needed)."""
    found: list[str] = []
    for secret in secrets:
        if secret is not None and secret.token is None and secret:
            value = secret.reveal()
            if len(value) >= 3:  # masking "a" or "12" would garble the text, not protect it
                found.append(value)
    return found


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}:{MASK}@", text)
    return _FTP_PASS.sub(lambda m: f"{m.group(1)} {MASK}", text)
