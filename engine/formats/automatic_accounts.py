"""DATEV Automatikkonten: accounts whose tax the advisor's program books by itself.

DATEV marks them "AM" (automatic Umsatzsteuer) and "AV" (automatic Vorsteuer) in the
Standardkontenrahmen; DATEV does not accept a BU-Schlüssel on them (SPEC §4). The table
below lists them per chart with their 4-digit standard number and the tax key their
automatic function implies (None: tax-free, no key implied). Sources and what is left out:
docs/datev.md, "Automatikkonten".

The account as the client's books write it: a client with Sachkontenlänge n > 4 has the
standard accounts extended by zeros on the right, as DATEV extends them (SKR04 4400 is
44000000 at length 8); a shorter number is a different account (4400 at length 8 is
00004400). `automatic_accounts` gives the table at the client's length, plus the client's
own accounts from the ledger (`engine.ledger_automatic`), as the writers and the validator
look them up: by the account number without leading zeros.

Rule when Konto or Gegenkonto is automatic and the booking carries a BU-Schlüssel
(`tax_key_verdict`): the key the account implies anyway is redundant and left out with a
warning; any other key (another rate, a Generalumkehr, "Aufhebung der Automatik") is
refused, because the tax cannot be derived and guessing would change the VAT return.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

#: chart → (4-digit account, implied tax key or None, meaning)
# fmt: off
STANDARD: Final[dict[str, tuple[tuple[str, int | None, str], ...]]] = {
    "SKR03": (
        # Erlöse (AM)
        ("8120", None, "Steuerfreie Umsätze § 4 Nr. 1a UStG"),
        ("8125", None, "Steuerfreie innergemeinschaftliche Lieferungen § 4 Nr. 1b UStG"),
        ("8300", 2, "Erlöse 7 % USt"),
        ("8310", 2, "Erlöse aus im Inland steuerpflichtigen EU-Lieferungen 7 % USt"),
        ("8315", 3, "Erlöse aus im Inland steuerpflichtigen EU-Lieferungen 19 % USt"),
        ("8336", None, "Erlöse aus im anderen EU-Land steuerpflichtigen sonstigen "
                       "Leistungen (Steuerschuld des Leistungsempfängers)"),
        ("8338", None, "Erlöse aus im Drittland steuerbaren Leistungen"),
        ("8400", 3, "Erlöse 19 % USt"),
        # Erlösschmälerungen (AM)
        ("8710", 2, "Erlösschmälerungen 7 % USt"),
        ("8720", 3, "Erlösschmälerungen 19 % USt"),
        ("8731", 2, "Gewährte Skonti 7 % USt"),
        ("8736", 3, "Gewährte Skonti 19 % USt"),
        ("8750", 2, "Gewährte Boni 7 % USt"),
        ("8760", 3, "Gewährte Boni 19 % USt"),
        ("8780", 2, "Gewährte Rabatte 7 % USt"),
        ("8790", 3, "Gewährte Rabatte 19 % USt"),
        # Wareneingang (AV)
        ("3300", 8, "Wareneingang 7 % Vorsteuer"),
        ("3400", 9, "Wareneingang 19 % Vorsteuer"),
        ("3420", 18, "Innergemeinschaftlicher Erwerb 7 % Vorsteuer und 7 % Umsatzsteuer"),
        ("3425", 19, "Innergemeinschaftlicher Erwerb 19 % Vorsteuer und 19 % Umsatzsteuer"),
        ("3731", 8, "Erhaltene Skonti 7 % Vorsteuer"),
        ("3736", 9, "Erhaltene Skonti 19 % Vorsteuer"),
        ("3750", 8, "Erhaltene Boni 7 % Vorsteuer"),
        ("3760", 9, "Erhaltene Boni 19 % Vorsteuer"),
        ("3780", 8, "Erhaltene Rabatte 7 % Vorsteuer"),
        ("3790", 9, "Erhaltene Rabatte 19 % Vorsteuer"),
    ),
    "SKR04": (
        ("4120", None, "Steuerfreie Umsätze § 4 Nr. 1a UStG"),
        ("4125", None, "Steuerfreie innergemeinschaftliche Lieferungen § 4 Nr. 1b UStG"),
        ("4300", 2, "Erlöse 7 % USt"),
        ("4310", 2, "Erlöse aus im Inland steuerpflichtigen EU-Lieferungen 7 % USt"),
        ("4315", 3, "Erlöse aus im Inland steuerpflichtigen EU-Lieferungen 19 % USt"),
        ("4336", None, "Erlöse aus im anderen EU-Land steuerpflichtigen sonstigen "
                       "Leistungen (Steuerschuld des Leistungsempfängers)"),
        ("4338", None, "Erlöse aus im Drittland steuerbaren Leistungen"),
        ("4400", 3, "Erlöse 19 % USt"),
        ("4710", 2, "Erlösschmälerungen 7 % USt"),
        ("4720", 3, "Erlösschmälerungen 19 % USt"),
        ("4731", 2, "Gewährte Skonti 7 % USt"),
        ("4736", 3, "Gewährte Skonti 19 % USt"),
        ("4750", 2, "Gewährte Boni 7 % USt"),
        ("4760", 3, "Gewährte Boni 19 % USt"),
        ("4780", 2, "Gewährte Rabatte 7 % USt"),
        ("4790", 3, "Gewährte Rabatte 19 % USt"),
        ("5300", 8, "Wareneingang 7 % Vorsteuer"),
        ("5400", 9, "Wareneingang 19 % Vorsteuer"),
        ("5420", 18, "Innergemeinschaftlicher Erwerb 7 % Vorsteuer und 7 % Umsatzsteuer"),
        ("5425", 19, "Innergemeinschaftlicher Erwerb 19 % Vorsteuer und 19 % Umsatzsteuer"),
        ("5731", 8, "Erhaltene Skonti 7 % Vorsteuer"),
        ("5736", 9, "Erhaltene Skonti 19 % Vorsteuer"),
        ("5750", 8, "Erhaltene Boni 7 % Vorsteuer"),
        ("5760", 9, "Erhaltene Boni 19 % Vorsteuer"),
        ("5780", 8, "Erhaltene Rabatte 7 % Vorsteuer"),
        ("5790", 9, "Erhaltene Rabatte 19 % Vorsteuer"),
    ),
}
# fmt: on

#: Key → implied key of the standard table (4-digit numbers), per chart.
STANDARD_KEYS: Final[dict[str, dict[str, int | None]]] = {
    chart: {account: key for account, key, _ in rows} for chart, rows in STANDARD.items()
}


def at_length(account: str, account_length: int) -> str:
    """A 4-digit standard account as a client with `account_length` writes it."""
    return account + "0" * (account_length - 4)


def automatic_accounts(
    chart: str, account_length: int, own: Mapping[str, int | None] | None = None
) -> dict[str, int | None]:
    """Every Automatikkonto of a client, as its books write the account (no leading zeros),
    with the key it implies: the standard table at the client's length, then the client's
    own (`own`, already at its length) on top."""
    table = {
        at_length(account, account_length): key
        for account, key in STANDARD_KEYS.get(chart, {}).items()
    }
    for account, key in (own or {}).items():
        table[account.lstrip("0")] = key
    return table


Verdict = tuple[str | None, str | None, str | None]  # (value to write, warning, error)


def tax_key_verdict(
    tax: str, accounts: tuple[str, ...], automatic: Mapping[str, int | None], chart: str
) -> Verdict:
    """What becomes of BU-Schlüssel `tax` on a booking with these accounts (Konto,
    Gegenkonto): (tax, None, None) when neither is automatic; ("", warning, None) when the
    key is the one an automatic account implies anyway; (None, None, error) otherwise."""
    for account in accounts:
        acct = account.lstrip("0")
        if acct not in automatic:
            continue
        implied = automatic[acct]
        if implied is not None and int(tax) == implied:
            return (
                "",
                f"BU-Schlüssel {tax} weggelassen: Automatikkonto {account} ({chart}) "
                "bucht diese Steuer selbst",
                None,
            )
        meaning = (
            f"dessen Automatik Schlüssel {implied} bedeutet"
            if implied is not None
            else "das steuerfrei automatisch gebucht wird"
        )
        return (
            None,
            None,
            f"BU-Schlüssel {tax} auf Automatikkonto {account} ({chart}), {meaning}: "
            "DATEV nimmt auf Automatikkonten keinen BU-Schlüssel an, und die abweichende "
            "Steuer lässt sich nicht ableiten",
        )
    return tax, None, None
