"""Deterministic demo books of a German retail chain of opticians and hearing-aid acousticians.

`generate()` writes a complete embedded ledger (SPEC §5): two clients (SKR03 and SKR04, one
with a fiscal year starting 1 July), five branches, document types, payment methods, partners
and bookings over `months` months ending at `end`.

Determinism: the content is a pure function of (seed, months, per_day / total, end). `end` is
a parameter rather than "today" for exactly that reason; the CLI passes today's date. Only
`random.Random(seed)` is used, master data and bookings are generated in a fixed order, and
journal numbers follow document dates.

Volume: `per_day` is the average number of bookings per *calendar* day, so the total is
`per_day × days in the period`; they fall on Monday to Saturday only (Saturday lighter, a few
public holidays closed). `total` overrides it with an exact number of bookings.

Accounting choices (DATEV):
- Revenue goes to the automatic accounts 8400/8300 (SKR03) resp. 4400/4300 (SKR04), 19 % and
  7 % (hearing systems are 7 %, glasses 19 %), without a tax key. A small share of service
  revenue goes to the non-automatic 8200/4200 with an explicit tax key 3 (19 % USt).
- Supplier invoices (ER) book the creditor 'H' against goods received 3200/5200 with tax key
  9 (19 % Vorsteuer) or 8 (7 %). Not 3400/5400: those are automatic accounts in DATEV and must
  not carry a tax key. Rent (4210/6310) carries none.
- Sales: the debtor 'S' against revenue; cash sales Kasse 1000/1600 (cash) or Geldtransit
  1360/1460 (cards); payments bank 1200/1800 'S' against the debtor; credit notes 'H' on the
  debtor; Kostenträgerrechnungen bill a health insurer (a debtor) with payment method KTR.

Writing: sqlite3 with executemany, journal and sync off, the index built after the load, into
a temp file in the target directory that is renamed into place only when complete, so a crash
never leaves a half-written ledger.

Document images ("Belegbilder", `documents_per_day`, off by default so the benchmarks' big
ledgers are unchanged): per business day up to N small PDFs, for the day's supplier invoices
(ER) first, then cash receipts (BV), stored as BLOBs in the `documents` table. Made with fpdf2
(the `demo` extra): a one-page invoice or receipt naming partner, branch, amount and journal
number, with the booking day as creation date and a fixed producer, so the bytes are a pure
function of the booking too (for one fpdf2 version). The booking stream is not touched: the
documents are chosen from the rows as they pass and drawn after the bookings are in.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import tempfile
import time
import unicodedata
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

from engine.errors import LedgerError
from engine.ledger import SCHEMA_INDEX_SQL, SCHEMA_TABLES_SQL, SCHEMA_VERSION, write_lock
from engine.paths import private_umask

DEFAULT_END: Final = date(2026, 3, 31)

BookingRow = tuple[
    int, int, int, str, str, str, int, str, str, str, str | None, str | None, str | None,
    str | None, str | None,
]  # fmt: skip


@dataclass(frozen=True)
class DemoSummary:
    path: Path
    bookings: int
    clients: int
    branches: int
    partners: int
    first_date: date | None
    last_date: date | None
    seconds: float
    documents: int = 0


# --------------------------------------------------------------------------- master data

CLIENTS: Final = (
    # id, name, consultant_no, client_no, fiscal_year_start, account_length, chart, lock_batches
    (1, "Optik & Hörakustik Müller GmbH", 29098, 55003, "01-01", 4, "SKR03", 0),
    (2, "Hörgeräte Weiß & Söhne KG", 31245, 10020, "07-01", 4, "SKR04", 0),
)

BRANCHES: Final = (
    # id, client_id, name, cost_center, share of the chain's bookings
    (1, 1, "Würzburg", "100", 0.27),
    (2, 1, "Fürth", "200", 0.19),
    (3, 1, "Bad Tölz", "300", 0.12),
    (4, 2, "Lüneburg", "400", 0.24),
    (5, 2, "Göttingen", "500", 0.18),
)

DOCUMENT_TYPES: Final = (
    ("KR", "Kundenrechnung", 0),
    ("KT", "Kostenträgerrechnung", 0),
    ("GS", "Gutschrift", 0),
    ("BV", "Barverkauf", 0),
    ("EA", "Ein-/Auszahlungsbeleg", 0),
    ("ZA", "Zahlung", 0),
    ("ER", "Eingangsrechnung", 1),
)

PAYMENT_METHODS: Final = (
    ("BAR", "Bar"),
    ("EC", "EC-Karte"),
    ("KK", "Kreditkarte"),
    ("UE", "Überweisung"),
    ("LS", "Lastschrift"),
    ("KTR", "Kostenträger"),
)

ACCOUNTS: Final = {
    "SKR03": {
        "cash": "1000",
        "bank": "1200",
        "transit": "1360",
        "rev19": "8400",
        "rev7": "8300",
        "rev_manual": "8200",
        "goods": "3200",
        "rent": "4210",
        "office": "4930",
        "postage": "4910",
    },
    "SKR04": {
        "cash": "1600",
        "bank": "1800",
        "transit": "1460",
        "rev19": "4400",
        "rev7": "4300",
        "rev_manual": "4200",
        "goods": "5200",
        "rent": "6310",
        "office": "6815",
        "postage": "6800",
    },
}

FIRST_NAMES: Final = (
    "Jürgen", "Jörg", "Bärbel", "Käthe", "Günther", "Dörte", "Björn", "Hans-Jürgen", "Ursula",
    "Sören", "Maximilian", "Anneliese", "Klaus", "Renate", "Wolfgang", "Monika", "Uwe", "Gisela",
    "Heinz", "Brigitte", "Lena", "Jonas", "Mia", "Lukas", "Sophie", "Felix", "Emma", "Özlem",
    "Mehmet", "Zoë", "Rüdiger", "Hannelore", "Friedrich-Wilhelm", "Marie-Luise", "Ludwig",
    "Gerd", "Karl-Heinz", "Elfriede", "Gülşen", "François",
)  # fmt: skip

LAST_NAMES: Final = (
    "Müller", "Schäfer", "Weiß", "Groß", "Krüger", "Köhler", "Jäger", "Böhm", "Schröder", "Fuß",
    "Strauß", "Meißner", "Schmidt", "Schneider", "Fischer", "Meyer", "Wagner", "Becker",
    "Hoffmann", "Schulz", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann",
    "Braun", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Huber", "Kaiser", "Fuchs",
    "Möller", "Großkopf", "Bößl", "Özdemir", "Yılmaz", "Müller-Lüdenscheidt",
    "von Hohenzollern-Sigmaringen",
)  # fmt: skip

# Customers with long names, so DATEV's 50-character name limit is exercised.
LONG_DEBTORS: Final = (
    "Freiherr von Müller-Lüdenscheidt zu Großbottwar, Friedrich-Wilhelm Maximilian",
    "Augenarztpraxis Dr. med. Schäfer & Kollegen Gemeinschaftspraxis Würzburg",
    "Seniorenresidenz Am Schloßpark gemeinnützige GmbH, Wohnbereich Süd",
    "Hörgeräteversorgung der Bewohner des Pflegeheims Sankt Jürgen e. V.",
)

STREETS: Final = (
    "Hauptstraße", "Bahnhofstraße", "Schloßallee", "Königsberger Straße", "Mühlenweg",
    "Am Gänsemarkt", "Lindenstraße", "Goethestraße", "Schillerstraße", "Kirchplatz",
    "Rathausgasse", "Jägerstraße", "Brückenstraße", "Röntgenring", "Sophie-Scholl-Straße",
    "Kurfürst-Friedrich-Wilhelm-Allee-Süd-West",
)  # fmt: skip

CITIES: Final = {
    1: (
        ("97070", "Würzburg"), ("97082", "Würzburg"), ("90762", "Fürth"), ("90763", "Fürth"),
        ("83646", "Bad Tölz"), ("91054", "Erlangen"), ("97199", "Ochsenfurt"),
        ("90402", "Nürnberg"), ("83714", "Miesbach"), ("82515", "Wolfratshausen"),
        ("97318", "Kitzingen"), ("91413", "Neustadt a. d. Aisch"),
        ("97631", "Bad Königshofen im Grabfeld OT Merkershausen"),
    ),
    2: (
        ("21335", "Lüneburg"), ("21339", "Lüneburg"), ("37073", "Göttingen"),
        ("37083", "Göttingen"), ("29525", "Uelzen"), ("21423", "Winsen (Luhe)"),
        ("37154", "Northeim"), ("37170", "Uslar"), ("29221", "Celle"), ("21379", "Scharnebeck"),
        ("38640", "Goslar"), ("37520", "Osterode am Harz"), ("21522", "Hohnstorf (Elbe)"),
    ),
}  # fmt: skip

AT_CITIES: Final = (
    ("5020", "Salzburg"),
    ("6020", "Innsbruck"),
    ("1010", "Wien"),
    ("4020", "Linz"),
    ("8010", "Graz"),
)

INSURERS: Final = (
    "Gesundheitskasse Mainfranken",
    "BKK Glaswerke Süd",
    "IKK Handwerk Nordost",
    "Ersatzkasse Hanse",
    "Krankenkasse der Bäcker und Konditoren Niedersachsen",
    "Landwirtschaftliche Krankenkasse Franken-Oberbayern",
    "Berufsgenossenschaft Holz & Metall, Bezirksverwaltung Süd",
)

# name, category, document number prefix, country (all German: a foreign supplier would
# need reverse-charge tax keys, which the demo does not model)
SUPPLIERS: Final = (
    ("Brillenglaswerk Süd GmbH", "goods19", "BGW", "DE"),
    ("Fassungsmanufaktur Öhringen GmbH", "goods19", "FMOE", "DE"),
    ("Kontaktlinsen-Vertrieb Nord GmbH", "goods19", "KLV", "DE"),
    ("Hörsystemtechnik Nordhafen GmbH & Co. KG", "goods7", "HSN", "DE"),
    ("Hörgeräte-Akustik Großhandel Weser-Ems GmbH", "goods7", "HAWE", "DE"),
    ("Otoplastik-Labor Köhler e. K.", "goods7", "OLK", "DE"),
    ("Augenoptik-Zubehör-Großhandel Süddeutschland GmbH & Co. KG", "goods19", "AZG", "DE"),
    ("Batterien & Akkus Großmann GmbH", "goods19", "BAG", "DE"),
    ("Immobilienverwaltung Schloßberg GbR", "rent", "ISB", "DE"),
    ("Bürobedarf Weißgerber OHG", "office", "BWG", "DE"),
)

SUPPLIER_ITEMS: Final = {
    "goods19": (
        "Brillengläser",
        "Fassungen Kollektion",
        "Kontaktlinsen",
        "Pflegemittel",
        "Zubehör lt. Lieferschein",
        "Hörgerätebatterien",
    ),
    "goods7": ("Hörsysteme", "Otoplastiken", "Hörsystem-Ersatzteile", "Ohrpassstücke"),
    "rent": ("Miete Geschäftsräume", "Miete und Nebenkosten"),
    "office": ("Büromaterial", "Druckerpapier und Toner", "Kassenrollen"),
}

SUPPLIER_AMOUNTS: Final = {"goods19": (80, 3500), "goods7": (300, 3500), "rent": (1500, 3500)}
SUPPLIER_AMOUNTS_OFFICE: Final = (12, 400)

# Products: name, lowest and highest price in EUR, VAT rate, weight.
OPTICS: Final = (
    ("Einstärkenbrille", 89, 690, 19, 10),
    ("Gleitsichtbrille", 390, 1800, 19, 8),
    ("Gleitsichtbrille Premium mit Entspiegelung, Hartschicht und Blaulichtfilter", 900, 3500,
     19, 3),
    ("Bildschirmarbeitsplatzbrille", 190, 890, 19, 4),
    ("Sonnenbrille mit Sehstärke", 149, 990, 19, 4),
    ("Brillenfassung", 59, 450, 19, 5),
    ("Kontaktlinsen Monatslinsen 6er-Pack", 35, 120, 19, 8),
    ("Sportbrille", 120, 560, 19, 2),
)  # fmt: skip

HEARING: Final = (
    ("Hörsystem HdO rechts", 390, 3500, 7, 6),
    ("Hörsysteme beidohrig IdO", 900, 3500, 7, 5),
    ("Im-Ohr-Hörsystem mit Akku-Ladestation, Bluetooth und Tinnitus-Noiser", 1200, 3500, 7, 2),
    ("Otoplastik", 45, 190, 7, 6),
    ("Hörsystem-Zubehör Fernbedienung", 60, 290, 7, 3),
)

COUNTER: Final = (
    ("Kontaktlinsen-Pflegemittel", 5, 29, 19, 12),
    ("Brillenetui", 5, 35, 19, 6),
    ("Mikrofasertuch und Reinigungsspray", 5, 19, 19, 8),
    ("Hörgerätebatterien Größe 312, 60 Stück", 12, 39, 19, 10),
    ("Reinigungsset Hörsystem", 9, 29, 19, 5),
    ("Lesebrille", 19, 79, 19, 6),
    ("Einstärkenbrille", 89, 490, 19, 2),
    ("Otoplastik Reparatur", 15, 80, 7, 3),
)

SERVICES: Final = (
    ("Reparatur Brillenbügel", 15, 90, 19, 4),
    ("Gehörschutz nach Maß", 79, 249, 19, 3),
    ("Brillenversicherung Jahresbeitrag", 29, 99, 19, 2),
)

CREDIT_REASONS: Final = (
    "Kulanz Fassungsbruch",
    "Rückgabe Kontaktlinsen",
    "Preisnachlass Zweitbrille",
    "Gutschrift Hörsystem Rückgabe innerhalb der Probezeit",
    "Korrektur Rechnungsbetrag",
)

# Booking mix per document type (weights).
KINDS: Final = ("BV", "KR", "KT", "ZA", "GS", "EA", "ER")
KIND_WEIGHTS: Final = (38, 20, 8, 16, 3, 5, 10)

# Closed on these fixed public holidays (MM-DD), besides Sundays.
HOLIDAYS: Final = frozenset({"01-01", "05-01", "10-03", "12-25", "12-26"})
DAY_WEIGHTS: Final = (1.0, 1.0, 1.0, 1.0, 1.05, 0.75, 0.0)  # Monday … Sunday

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i", "ş": "s"})


def _ascii_slug(text: str) -> str:
    text = text.lower().translate(_TRANSLIT)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text if ch.isalnum() or ch in ".-")


# --------------------------------------------------------------------------- generation


@dataclass
class _ClientBooks:
    """Per-client lookup tables prepared once, so the per-booking loop only indexes lists."""

    client_id: int
    accounts: dict[str, str]
    customers: list[tuple[str, str]] = field(default_factory=list)  # (account, name)
    insurers: list[tuple[str, str]] = field(default_factory=list)
    suppliers: list[tuple[str, str, str, str]] = field(default_factory=list)
    # (account, short name, category, number prefix)
    sales: list[tuple[str, int, int, int]] = field(default_factory=list)  # weight-expanded
    counter: list[tuple[str, int, int, int]] = field(default_factory=list)
    kt_products: list[tuple[str, int, int, int]] = field(default_factory=list)
    open_items: deque[tuple[str, str, str, int, str | None]] = field(default_factory=deque)
    # (account, name, document_no, amount_cents, payment_method) of unpaid invoices


def _expand(products: Sequence[tuple[str, int, int, int, int]]) -> list[tuple[str, int, int, int]]:
    """Repeat each product by its weight: a uniform index then is a weighted choice."""
    return [(name, lo, hi, rate) for name, lo, hi, rate, weight in products for _ in range(weight)]


def _partners(
    rng: random.Random, client_id: int, chart: str
) -> tuple[list[tuple[object, ...]], _ClientBooks]:
    books = _ClientBooks(client_id=client_id, accounts=ACCOUNTS[chart])
    rows: list[tuple[object, ...]] = []
    cities = CITIES[client_id]

    def address(private: bool) -> tuple[str, str, str, str]:
        street = f"{rng.choice(STREETS)} {rng.randint(1, 140)}{rng.choice(('', '', '', 'a', 'b'))}"
        # A few Austrian private customers (in-store sales carry German VAT all the same).
        if rng.random() < 0.03 and private:
            postcode, city = rng.choice(AT_CITIES)
            return street, postcode, city, "AT"
        postcode, city = rng.choice(cities)
        return street, postcode, city, "DE"

    # Debtors: customers from 10000 (account_length 4 -> five-digit personal accounts).
    account = 10000
    n_customers = 900
    for i in range(n_customers):
        account += rng.randint(1, 30)
        if i % 200 == 7 and i // 200 < len(LONG_DEBTORS):
            name = LONG_DEBTORS[i // 200]
            first = last = ""
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            name = f"{last}, {first}"
        street, postcode, city, country = address(private=bool(first))
        email = None
        if first and rng.random() < 0.4:
            email = f"{_ascii_slug(first)}.{_ascii_slug(last)}@example.org"
        vat_id = None
        if not first:  # businesses have VAT ids
            vat_id = f"DE{rng.randint(100_000_000, 999_999_999)}"
        rows.append(
            (
                client_id,
                str(account),
                "debtor",
                name,
                street,
                postcode,
                city,
                country,
                vat_id,
                email,
            )
        )
        books.customers.append((str(account), name))

    # Health insurers as debtors near the top of the debtor range.
    for i, name in enumerate(INSURERS):
        acct = str(69001 + i * 10)
        street, postcode, city, _ = address(private=False)
        email = f"abrechnung@{_ascii_slug(name.split()[0])}.example.org"
        rows.append((client_id, acct, "debtor", name, street, postcode, city, "DE", None, email))
        books.insurers.append((acct, name))

    # Creditors from 70000.
    for i, (name, category, prefix, country) in enumerate(SUPPLIERS):
        acct = str(70001 + i * 7)
        street = f"{rng.choice(STREETS)} {rng.randint(1, 99)}"
        postcode, city = rng.choice(cities)
        vat_id = f"{country}{rng.randint(100_000_000, 999_999_999)}"
        email = f"buchhaltung@{_ascii_slug(name.split()[0])}.example.com"
        rows.append(
            (client_id, acct, "creditor", name, street, postcode, city, country, vat_id, email)
        )
        short = name.split(" GmbH")[0].split(" e. K.")[0].split(" OHG")[0].split(" GbR")[0]
        books.suppliers.append((acct, short, category, prefix))

    if client_id == 1:  # optician and acoustician
        books.sales = _expand(OPTICS + HEARING)
        books.kt_products = _expand(
            (("Einstärkenbrille", 10, 120, 19, 2), *HEARING[:2], *HEARING[3:4])
        )
    else:  # hearing aids only
        books.sales = _expand(HEARING + OPTICS[6:7])
        books.kt_products = _expand(HEARING[:2] + HEARING[3:4])
    books.counter = _expand(COUNTER)
    return rows, books


def _period(end: date, months: int) -> tuple[date, date]:
    """`months` whole months ending at `end` (inclusive): the day after `end`, `months` months
    back, is the first day; e.g. 2025-04-01 … 2026-03-31 or 2025-05-10 … 2026-05-09."""
    after = end + timedelta(days=1)
    year, month = divmod(after.year * 12 + after.month - 1 - months, 12)
    day = after.day
    while True:  # clamp, e.g. 31 March minus one month to 28/29 February
        try:
            return date(year, month + 1, day), end
        except ValueError:
            day -= 1


def _day_counts(rng: random.Random, start: date, end: date, total: int) -> list[tuple[date, int]]:
    """Spread exactly `total` bookings over the open days, with a little day-to-day noise."""
    days: list[date] = []
    weights: list[float] = []
    day = start
    while day <= end:
        weight = DAY_WEIGHTS[day.weekday()]
        if weight and day.strftime("%m-%d") not in HOLIDAYS:
            days.append(day)
            weights.append(weight * (0.8 + 0.4 * rng.random()))
        day += timedelta(days=1)
    if not days:
        return []
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    counts = [int(x) for x in exact]
    # Largest remainder, ties by date: deterministic and exact.
    order = sorted(range(len(days)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return list(zip(days, counts, strict=True))


def _booking_rows(
    rng: random.Random,
    days: list[tuple[date, int]],
    books_by_client: dict[int, _ClientBooks],
) -> Iterator[BookingRow]:
    rand = rng.random
    choices = rng.choices
    branch_rows = [(bid, cid, cc) for bid, cid, _name, cc, _share in BRANCHES]
    branch_names = {bid: name for bid, _cid, name, _cc, _share in BRANCHES}
    branch_cw: list[float] = []
    acc = 0.0
    for *_, share in BRANCHES:
        acc += share
        branch_cw.append(acc)
    kind_cw: list[float] = []
    acc = 0.0
    for w in KIND_WEIGHTS:
        acc += w
        kind_cw.append(acc)
    suppliers_weighted: dict[int, list[tuple[str, str, str, str]]] = {}
    for cid, books in books_by_client.items():
        # Goods suppliers far more often than the landlord or the office supplier.
        weighted = []
        for s in books.suppliers:
            weighted.extend([s] * (1 if s[2] in ("rent", "office") else 6))
        suppliers_weighted[cid] = weighted

    seq: dict[tuple[int, str], int] = {}
    # Shelf prices end in ,00 ,50 ,90 ,95 or ,99: subtract this many cents from whole euros.
    price_off = (0, 0, 0, 0, 50, 10, 5, 1)
    journal = 0
    year = 0
    for day, n in days:
        if day.year != year:  # document numbers restart every year
            year = day.year
            seq.clear()
        iso = day.isoformat()
        yy = f"{year % 100:02d}"
        for (bid, cid, cc), kind in zip(
            choices(branch_rows, cum_weights=branch_cw, k=n),
            choices(KINDS, cum_weights=kind_cw, k=n),
            strict=True,
        ):
            books = books_by_client[cid]
            acc_ = books.accounts
            journal += 1
            key = (cid, kind)
            number = seq.get(key, 0) + 1
            seq[key] = number
            doc_no = f"{kind}-{year}-{number:06d}"
            tax_key: str | None = None
            pm: str | None
            r = rand()
            if kind == "BV":
                name, lo, hi, rate = books.counter[int(rand() * len(books.counter))]
                amount = (lo + int(rand() * (hi - lo + 1))) * 100 - price_off[int(rand() * 8)]
                if r < 0.55:
                    pm, account = "BAR", acc_["cash"]
                elif r < 0.9:
                    pm, account = "EC", acc_["transit"]
                else:
                    pm, account = "KK", acc_["transit"]
                yield (
                    journal, cid, bid, kind, doc_no, iso, amount, "S", account,
                    acc_["rev19"] if rate == 19 else acc_["rev7"], None,
                    f"Barverkauf {name}", pm, None, cc,
                )  # fmt: skip
            elif kind == "KR":
                debtor, dname = books.customers[int(rand() * len(books.customers))]
                if r < 0.05:  # services on the non-automatic revenue account, explicit key
                    name, lo, hi, rate = SERVICES[int(rand() * len(SERVICES))][:4]
                    contra, tax_key = acc_["rev_manual"], "3"
                else:
                    name, lo, hi, rate = books.sales[int(rand() * len(books.sales))]
                    contra = acc_["rev19"] if rate == 19 else acc_["rev7"]
                amount = (lo + int(rand() * (hi - lo + 1))) * 100 - price_off[int(rand() * 8)]
                r2 = rand()
                pm = "UE" if r2 < 0.5 else "LS" if r2 < 0.65 else "EC" if r2 < 0.8 else None
                doc_no = f"RE-{year}-{number:06d}"
                books.open_items.append((debtor, dname, doc_no, amount, pm))
                yield (
                    journal, cid, bid, kind, doc_no, iso, amount, "S", debtor, contra, tax_key,
                    f"{name} {dname}", pm, debtor, cc,
                )  # fmt: skip
            elif kind == "KT":
                debtor, dname = books.insurers[int(rand() * len(books.insurers))]
                patient = books.customers[int(rand() * len(books.customers))][1]
                name, lo, hi, rate = books.kt_products[int(rand() * len(books.kt_products))]
                amount = (lo + int(rand() * (hi - lo + 1))) * 100
                books.open_items.append((debtor, dname, doc_no, amount, "UE"))
                yield (
                    journal, cid, bid, kind, doc_no, iso, amount, "S", debtor,
                    acc_["rev19"] if rate == 19 else acc_["rev7"], None,
                    f"Kassenanteil {name} Vers. {patient}", "KTR", debtor, cc,
                )  # fmt: skip
            elif kind == "ZA":
                if len(books.open_items) > 40:  # paid a while after invoicing, oldest first
                    debtor, dname, ref, amount, pm = books.open_items.popleft()
                    text = f"Zahlungseingang {ref} {dname}"
                else:
                    debtor, dname = books.customers[int(rand() * len(books.customers))]
                    amount = (20 + int(rand() * 900)) * 100
                    pm, text = "UE", f"Zahlungseingang {dname}"
                if pm in (None, "EC", "KK"):
                    pm = "UE"
                yield (
                    journal, cid, bid, kind, doc_no, iso, amount, "S", acc_["bank"], debtor, None,
                    text, pm, debtor, cc,
                )  # fmt: skip
                if len(books.open_items) > 5000:  # the rest were settled in cash: forget them
                    books.open_items.popleft()
            elif kind == "GS":
                debtor, dname = books.customers[int(rand() * len(books.customers))]
                reason = CREDIT_REASONS[int(rand() * len(CREDIT_REASONS))]
                amount = (10 + int(rand() * 600)) * 100 - price_off[int(rand() * 8)]
                contra = acc_["rev7"] if "Hörsystem" in reason else acc_["rev19"]
                yield (
                    journal, cid, bid, kind, doc_no, iso, amount, "H", debtor, contra, None,
                    f"{reason} {dname}", "UE" if r < 0.6 else None, debtor, cc,
                )  # fmt: skip
            elif kind == "EA":
                branch = branch_names[bid]
                if r < 0.6:
                    amount = (300 + int(rand() * 3200)) * 100
                    row = ("H", acc_["cash"], acc_["transit"], f"Bankeinzahlung Filiale {branch}")
                elif r < 0.9:
                    amount = (3 + int(rand() * 60)) * 100 + int(rand() * 100)
                    row = ("H", acc_["cash"], acc_["postage"], "Porto Briefmarken")
                else:
                    amount = (100 + int(rand() * 200)) * 100
                    row = ("S", acc_["cash"], acc_["bank"], f"Wechselgeld Filiale {branch}")
                yield (
                    journal, cid, bid, kind, doc_no, iso, amount, row[0], row[1], row[2], None,
                    row[3], "BAR", None, cc,
                )  # fmt: skip
            else:  # ER: supplier invoice, incoming
                weighted = suppliers_weighted[cid]
                creditor, short, category, prefix = weighted[int(rand() * len(weighted))]
                items = SUPPLIER_ITEMS[category]
                item = items[int(rand() * len(items))]
                lo, hi = SUPPLIER_AMOUNTS.get(category, SUPPLIER_AMOUNTS_OFFICE)
                amount = (lo + int(rand() * (hi - lo + 1))) * 100 + int(rand() * 100)
                if category == "goods19":
                    contra, tax_key = acc_["goods"], "9"
                elif category == "goods7":
                    contra, tax_key = acc_["goods"], "8"
                elif category == "rent":
                    contra = acc_["rent"]
                else:
                    contra, tax_key = acc_["office"], "9"
                key = (cid, creditor)
                number = seq.get(key, 0) + 1
                seq[key] = number
                style = int(creditor) % 3
                if style == 0:
                    ref = f"{prefix}-{year}-{number:05d}"
                elif style == 1:
                    ref = f"R{yy}/{number:05d}"
                else:
                    ref = f"{year}{number:06d}"
                yield (
                    journal, cid, bid, kind, ref, iso, amount, "H", creditor, contra, tax_key,
                    f"{short} Rechnung {ref} {item}", None, creditor, cc,
                )  # fmt: skip


# --------------------------------------------------------------------------- document images

#: The kinds that get a document, in order of preference: supplier invoices, then receipts.
DOCUMENT_KINDS: Final = ("ER", "BV")
_VAT_BY_KEY: Final = {"9": 19, "8": 7, "3": 19}


def _with_documents(
    rows: Iterator[BookingRow], per_day: int, chosen: list[BookingRow]
) -> Iterator[BookingRow]:
    """`rows` unchanged; on the side, per document date, the first `per_day` ER bookings
    and then BV bookings are appended to `chosen`."""
    day = ""
    candidates: dict[str, list[BookingRow]] = {kind: [] for kind in DOCUMENT_KINDS}

    def close_day() -> None:
        picked = [row for kind in DOCUMENT_KINDS for row in candidates[kind]][:per_day]
        chosen.extend(sorted(picked))  # journal order
        for found in candidates.values():
            found.clear()

    for row in rows:
        if row[5] != day:
            close_day()
            day = row[5]
        found = candidates.get(row[3])
        if found is not None and len(found) < per_day:
            found.append(row)
        yield row
    close_day()


def _cp1252(text: str) -> str:
    """`text` in what the PDF core fonts can show (Windows-1252): other letters without
    their accents (Gülşen → Gulsen), the rest as '?'."""
    out = []
    for ch in text:
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", ch.translate(_TRANSLIT))
            out.append(plain.encode("ascii", "ignore").decode() or "?")
    return "".join(out)


def _euro(cents: int) -> str:
    euros, rest = divmod(cents, 100)
    return f"{euros:,}".replace(",", ".") + f",{rest:02d} €"


def _file_safe(text: str) -> str:
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "-" for ch in text)


def _document_pdf(row: BookingRow, partners: dict[tuple[int, str], tuple[object, ...]]) -> bytes:
    """A one-page PDF for a demo booking: a supplier's invoice (ER) or a till receipt (BV)."""
    try:
        from fpdf import FPDF
    except ImportError as exc:  # the `demo` extra
        raise LedgerError(
            "Für Demo-Belegbilder fehlt das Paket fpdf2: pip install 'buchex[demo]'"
        ) from exc
    journal, cid, bid, kind, doc_no, iso, amount, _dc, _acc, _contra, tax_key, text = row[:12]
    day = date.fromisoformat(iso)
    client = next(c[1] for c in CLIENTS if c[0] == cid)
    branch = next(b[2] for b in BRANCHES if b[0] == bid)
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_creation_date(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
    pdf.set_producer("buchex Demo")
    pdf.set_creator("buchex Demo")
    pdf.set_compression(True)
    pdf.add_page()

    def line(value: str, size: int = 10, style: str = "", height: float = 6) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.cell(0, height, _cp1252(value), new_x="LMARGIN", new_y="NEXT")

    if kind == "ER":
        partner = partners[(cid, str(row[13]))]
        name, street, postcode, city = (str(v or "") for v in partner[3:7])
        rate = _VAT_BY_KEY.get(str(tax_key), 0)
        title = f"Rechnung {doc_no}"
        line(name, 14, "B", 8)
        line(f"{street}, {postcode} {city}")
        pdf.ln(8)
        line(client)
        line(f"Filiale {branch}")
        pdf.ln(8)
        line(title, 13, "B", 8)
        line(f"Rechnungsdatum: {day:%d.%m.%Y}")
        pdf.ln(4)
        line(str(text))
    else:
        rate = 19 if str(row[9]) in ("8400", "4400") else 7
        title = f"Kassenbon {doc_no}"
        line(client, 14, "B", 8)
        line(f"Filiale {branch}")
        pdf.ln(8)
        line(title, 13, "B", 8)
        line(f"Datum: {day:%d.%m.%Y}, Zahlart: {row[12]}")
        pdf.ln(4)
        line(str(text).removeprefix("Barverkauf "))
    net = round(amount * 100 / (100 + rate))
    pdf.ln(4)
    line(f"Nettobetrag: {_euro(net)}")
    line(f"Umsatzsteuer {rate} %: {_euro(amount - net)}")
    line(f"Gesamtbetrag: {_euro(amount)}", 11, "B")
    pdf.ln(10)
    line(f"buchex-Demobeleg zu Journalnummer {journal}", 8)
    pdf.set_title(_cp1252(title))
    return bytes(pdf.output())


def _document_rows(
    chosen: list[BookingRow], partner_rows: list[tuple[object, ...]]
) -> Iterator[tuple[object, ...]]:
    """INSERT rows of `documents` for the chosen bookings (client, journal, name, type, PDF)."""
    partners = {(int(str(r[0])), str(r[1])): r for r in partner_rows}
    for row in chosen:
        prefix = "Rechnung" if row[3] == "ER" else "Kassenbon"
        partner = f"_{row[13]}" if row[3] == "ER" else ""
        name = f"{prefix}{partner}_{_file_safe(row[4])}.pdf"
        yield (row[1], row[0], name, "application/pdf", _document_pdf(row, partners))


def generate(
    path: Path,
    *,
    months: int = 12,
    per_day: int = 40,
    seed: int = 1,
    end: date | None = None,
    total: int | None = None,
    replace: bool = False,
    documents_per_day: int = 0,
) -> DemoSummary:
    """Write demo books to `path` (a new SQLite file, 0600); see the module docstring.

    `end` defaults to DEFAULT_END (fixed, so the default call is deterministic too).
    An existing file is replaced only with `replace=True`, otherwise LedgerError.
    `documents_per_day`: up to that many PDF document images per business day (needs
    fpdf2); 0, the default, writes none.
    """
    path = Path(path)
    if not 1 <= months <= 120:
        raise LedgerError("Monate: 1 bis 120")
    if per_day < 0 or (total is not None and total < 0) or documents_per_day < 0:
        raise LedgerError("Anzahl der Buchungen darf nicht negativ sein")
    if path.exists() and not replace:
        raise LedgerError(f"Buchhaltungsdatenbank existiert bereits und bleibt unverändert: {path}")
    started = time.perf_counter()
    start, last = _period(end or DEFAULT_END, months)
    if total is None:
        total = per_day * ((last - start).days + 1)

    rng = random.Random(seed)
    partner_rows: list[tuple[object, ...]] = []
    books_by_client: dict[int, _ClientBooks] = {}
    for client in CLIENTS:
        rows, books = _partners(rng, client[0], client[6])
        partner_rows.extend(rows)
        books_by_client[client[0]] = books
    days = _day_counts(rng, start, last, total)
    chosen: list[BookingRow] = []  # the bookings that get a document image

    path.parent.mkdir(parents=True, exist_ok=True)
    with private_umask():
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            # Bulk load: nobody else sees this file until the rename, so no journal, no syncs.
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            conn.execute("PRAGMA cache_size = -131072")  # 128 MiB
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.executescript(SCHEMA_TABLES_SQL)
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO clients VALUES (?, ?, ?, ?, ?, ?, ?, ?)", CLIENTS)
            conn.executemany("INSERT INTO branches VALUES (?, ?, ?, ?)", [b[:4] for b in BRANCHES])
            conn.executemany("INSERT INTO document_types VALUES (?, ?, ?)", DOCUMENT_TYPES)
            conn.executemany("INSERT INTO payment_methods VALUES (?, ?)", PAYMENT_METHODS)
            conn.executemany(
                "INSERT INTO partners VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", partner_rows
            )
            booking_rows = _booking_rows(rng, days, books_by_client)
            if documents_per_day:
                booking_rows = _with_documents(booking_rows, documents_per_day, chosen)
            conn.executemany(
                "INSERT INTO bookings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                booking_rows,
            )
            conn.executemany(
                "INSERT INTO documents (client_id, journal_no, file_name, media_type, content)"
                " VALUES (?, ?, ?, ?, ?)",
                _document_rows(chosen, partner_rows),
            )
            conn.execute(SCHEMA_INDEX_SQL)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
            conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            conn.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        with write_lock(path):
            # A rollback journal left by a crashed writer belongs to the old file; next to the
            # new one it would be replayed onto it. Writers hold the lock, so it is stale.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{path}-journal")
            if replace:
                os.replace(tmp, path)
            else:
                try:
                    os.link(tmp, path)  # fails if the file appeared meanwhile: never clobber
                except FileExistsError:
                    raise LedgerError(
                        f"Buchhaltungsdatenbank existiert bereits und bleibt unverändert: {path}"
                    ) from None
                os.unlink(tmp)
        with contextlib.suppress(OSError):
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return DemoSummary(
        path=path,
        bookings=sum(n for _, n in days),
        clients=len(CLIENTS),
        branches=len(BRANCHES),
        partners=len(partner_rows),
        first_date=next((d for d, n in days if n), None),
        last_date=next((d for d, n in reversed(days) if n), None),
        seconds=time.perf_counter() - started,
        documents=len(chosen),
    )
