"""Review console at scale: the same pages at 1,000 and at 100,000 claims.

Seeds 1,000 claims (1,000 then 5,000 with --quick), measures, adds claims up
to 100,000 and measures again, in one run. The claims are stored as the app
stores them: one data key per claimant wrapped by the master key, every
personal field encrypted through the models' own ``Encrypted`` fields (the
associated data bound to table, column and row), blind indexes computed from
the normalised values; but rows are inserted in bulk (Core INSERT, batches of
5,000), not object by object. About 1% of claimants reuse an earlier email,
for the duplicate badges; there are no evidence files.

Each page is timed through the real views (a lawyer signed in with password
and TOTP), as the median server time of N requests after two warm-up calls:
the first queue page, the last page, a filtered page, an exact search (an
email), the dashboard (skipped, null, while its route answers 404), and a
claim file. Beside each request, in the same loop, the SQL the page runs is
run bare: every read statement one request of that page sent (captured from
the engine, parameters included), replayed through the DB-API cursor with
all rows fetched, no ORM and no app. The page's writes (the audit event of a
claim file view and its durable commit) stay in the page's time only. The
page's main query alone, through the ORM (the queue's statement built by
``claims.review.queue``; the claim file's: the claim by reference with its
claimant), is timed too and given as ``<page>_vs_main_sql`` among the
figures, without a target.

Ratios (targets):
  <page>_100k_vs_1k   median at the large size / median at the small size (<= 1.5)
  <page>_vs_sql       page median / median of its reads run bare, at the large size (<= 4)
for <page> in queue_first, queue_last, queue_filtered, search, claim_file.
The dashboard's totals grow with the claims by nature: its figures are given,
without a target. ``console_home`` (the console's home page: session and
access checks and a template, no claim) is timed in the same loop as the
floor under every console page.
"""

from __future__ import annotations

import random
import secrets
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import joinedload

from benchmarks._common import benchmark_app, parse_args, report
from claims.accounts.models import Role, User, UserState
from claims.accounts.passwords import hash_password
from claims.accounts.totp import new_secret, unused_code
from claims.claimants.models import Claim, Claimant, ClaimHarm, ClaimStatus
from claims.claimants.operations import new_reference
from claims.crypto import compute_blind_index
from claims.crypto.blind_index import (
    normalise_address,
    normalise_email,
    normalise_identity,
    normalise_name,
    normalise_nir,
    normalise_phone,
)
from claims.crypto.fields import Encrypted
from claims.crypto.models import DataKey
from claims.demo.operations import (
    BIRTH_DEPARTMENTS,
    COMMUNES,
    DUPLICATE_RATE,
    STATUS_WEIGHTS,
    TEST_PLACES,
    create_demo_case,
    synthetic_nir,
)
from claims.demo.texts import STATEMENT_SENTENCES
from claims.extensions import db
from claims.review.queue import PAGE_SIZE, QueueFilter, filtered, with_claimant
from claims.types import utcnow

BATCH = 5_000
WARMUP = 2
PASSWORD = secrets.token_urlsafe(18)  # a throwaway account on a throwaway database
FILTER_ARGS = "status=in_review&head=loss_of_control"
FILTER = QueueFilter(status=ClaimStatus.IN_REVIEW, head="loss_of_control")
PAGES = ("queue_first", "queue_last", "queue_filtered", "search", "claim_file")

FIRST_NAMES = [
    "Élodie", "Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Nathalie", "Sophie",
    "Isabelle", "Fatima", "Aïcha", "Mélanie", "Hélène", "Claire", "Anne", "Marie", "Louise", "Zoé",
    "Thomas", "Nicolas", "Julien", "Maxime", "Antoine", "Mehdi", "Karim", "Lucas", "Hugo", "Paul",
    "Pierre", "Jean", "François", "Étienne", "Mathieu", "Olivier", "Rachid", "Youssef", "Louis", "Noé",
]  # fmt: skip
LAST_NAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand",
    "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin",
    "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Masson",
    "Benali", "Haddad", "Nguyen", "Traoré", "Diallo", "Kone", "Mendes", "Da Silva", "Ferreira", "Cohen",
]  # fmt: skip
STREETS = [
    "rue de la Paix", "avenue de la République", "boulevard Voltaire", "rue Oberkampf", "rue de Belleville",
    "rue du Faubourg Saint-Antoine", "avenue Jean-Jaurès", "rue Victor-Hugo", "rue de la Fontaine-au-Roi",
    "allée des Tilleuls", "place de la Mairie", "rue Gambetta", "rue Pasteur", "chemin des Vignes",
]  # fmt: skip
DOMAINS = ["example.fr", "exemple.com", "courriel.test", "mail.example", "boite.example"]
STATUSES = {s: w for s, w in STATUS_WEIGHTS.items() if s != ClaimStatus.DRAFT}


def e164(phone: str) -> str:
    return "+33" + phone.replace(" ", "")[1:]


# Seeding -----------------------------------------------------------------------------


class _Owner:
    """What an ``Encrypted`` field needs of the row it encrypts for: table, id, the owner's key."""

    def __init__(self, tablename: str, row_id: uuid.UUID, key: bytes) -> None:
        self.__tablename__ = tablename
        self.id = row_id
        self._key = key

    def field_key(self) -> bytes:
        return self._key


def _column_names(model: type) -> dict[str, str]:
    """Encrypted attribute -> (its ciphertext attribute, its table column's key)."""
    mapper = sa.inspect(model)
    return {
        name: mapper.get_property(field.column).columns[0].key
        for name, field in vars(model).items()
        if isinstance(field, Encrypted)
    }


class Seeder:
    """Adds claims in bulk, each with its own claimant and data key, as the app would store them."""

    def __init__(self, case_id: int, prefix: str, reviewers: list[uuid.UUID], seed: int = 1) -> None:
        self.case_id = case_id
        self.prefix = prefix
        self.reviewers = reviewers
        self.rng = random.Random(seed)
        self.now = utcnow()
        self.references: set[str] = set()
        self.recent_emails: list[str] = []
        self.columns = {Claimant: _column_names(Claimant), Claim: _column_names(Claim)}
        # (reference, email, status) of the first claims: the search and the claim file look them up.
        self.samples: list[tuple[str, str, ClaimStatus]] = []
        self.email_uses: Counter[str] = Counter()
        self.count = 0

    def encrypted(self, model: type, row_id: uuid.UUID, key: bytes, values: dict[str, Any]) -> dict:
        """The ciphertext columns, through the model's own descriptors (same codec and AAD)."""
        owner = _Owner(model.__tablename__, row_id, key)  # type: ignore[attr-defined]
        out = {}
        for name, column in self.columns[model].items():
            field = vars(model)[name]
            field.__set__(owner, values.get(name))
            out[column] = getattr(owner, field.column)
        return out

    def add(self, count: int) -> float:
        """Insert ``count`` more claims; returns the seconds it took.

        On a connection of its own, thrown away afterwards: on SQLite, its larger page cache
        and unsynced commits (seeding only) must not follow a pooled connection into the
        requests being measured.
        """
        started = time.perf_counter()
        engine = sa.create_engine(db.engine.url)
        try:
            with engine.connect() as connection:
                if engine.dialect.name == "sqlite":
                    connection.exec_driver_sql("PRAGMA cache_size = -262144")
                    connection.exec_driver_sql("PRAGMA synchronous = OFF")
                for start in range(0, count, BATCH):
                    keys: list[dict] = []
                    claimants: list[dict] = []
                    claims: list[dict] = []
                    harms: list[dict] = []
                    for _ in range(min(BATCH, count - start)):
                        self._one(keys, claimants, claims, harms)
                    connection.execute(sa.insert(DataKey.__table__), keys)
                    connection.execute(sa.insert(Claimant.__table__), claimants)
                    connection.execute(sa.insert(Claim.__table__), claims)
                    connection.execute(sa.insert(ClaimHarm.__table__), harms)
                    connection.commit()
                if engine.dialect.name == "postgresql":
                    # What autovacuum does after a bulk load, done now rather than whenever
                    # it wakes: without statistics the planner scans the blind indexes' tables.
                    connection.exec_driver_sql("ANALYZE")
                    connection.commit()
        finally:
            engine.dispose()
        return time.perf_counter() - started

    def _normalised(self, value: str, normalise: Callable[[str], str], known: Callable | None = None) -> str:
        """The normalised value; past the first claims, the form already checked equal to it.

        The generated emails are already normalised, the phones "0X XX XX XX XX" (E.164:
        +33X...); the real normalisation, checked against for the first 1,000 claimants,
        costs a third of a claimant's seeding otherwise.
        """
        fast = known(value) if known else value
        if self.count < 1_000 and normalise(value) != fast:
            raise SystemExit(f"normalisation differs for {value!r}: {normalise(value)!r} != {fast!r}")
        return fast

    def _reference(self) -> str:
        while True:
            reference = new_reference(self.prefix)
            if reference not in self.references:
                self.references.add(reference)
                return reference

    def _one(self, keys: list[dict], claimants: list[dict], claims: list[dict], harms: list[dict]) -> None:
        rng = self.rng
        data_key = DataKey.generate()  # the app's own wrapping; kept out of any session
        key = data_key.plaintext()
        keys.append(
            {
                "id": data_key.id,
                "master_key_id": data_key.master_key_id,
                "wrapped_key": data_key.wrapped_key,
                "created_at": self.now,
                "destroyed_at": None,
            }
        )
        female = rng.random() < 0.53
        first_name = rng.choice(FIRST_NAMES[:20] if female else FIRST_NAMES[20:])
        last_name = rng.choice(LAST_NAMES)
        if rng.random() < 0.5:
            last_name = f"{last_name}-{rng.choice(LAST_NAMES)}"
        birth_date = date(1938, 1, 1) + timedelta(days=rng.randrange(24_000))
        postal_code, city, department = rng.choice(COMMUNES)
        shared = bool(self.recent_emails) and rng.random() < DUPLICATE_RATE
        if shared:
            email = rng.choice(self.recent_emails)
        else:
            email = f"{normalise_name(first_name)}.{self.count}@{rng.choice(DOMAINS)}"
            self.recent_emails.append(email)
            if len(self.recent_emails) > 200:
                self.recent_emails.pop(0)
        phone = f"0{rng.choice('67')} " + " ".join(f"{rng.randrange(100):02d}" for _ in range(4))
        nir = synthetic_nir(rng, 2 if female else 1, birth_date, rng.choice(BIRTH_DEPARTMENTS))
        line = f"{rng.randint(1, 180)} {rng.choice(STREETS)}"
        claimant_id = uuid.uuid4()
        personal = {
            "civility": "Mme" if female else "M.",
            "first_name": first_name,
            "last_name": last_name,
            "birth_date": birth_date,
            "birth_place": f"{city} ({department})",
            "nir": nir,
            "address_line1": line,
            "address_line2": None,
            "postal_code": postal_code,
            "city": city,
            "country": "France",
            "email": email,
            "phone": phone,
        }
        claimants.append(
            {
                "id": claimant_id,
                "data_key_id": data_key.id,
                "language": "fr" if rng.random() < 0.93 else "en",
                "created_at": self.now,
                "erased_at": None,
                **self.encrypted(Claimant, claimant_id, key, personal),
                "email_bidx": compute_blind_index("email", self._normalised(email, normalise_email)),
                "phone_bidx": compute_blind_index("phone", self._normalised(phone, normalise_phone, e164)),
                "nir_bidx": compute_blind_index("nir", normalise_nir(nir)),
                "identity_bidx": compute_blind_index("identity", normalise_identity(last_name, birth_date)),
                "address_bidx": compute_blind_index("address", normalise_address(line, postal_code)),
            }
        )

        status = rng.choices(list(STATUSES), weights=list(STATUSES.values()))[0]
        created = self.now - timedelta(days=rng.randint(1, 90), minutes=rng.randint(0, 1440))
        submitted = created + timedelta(minutes=rng.randint(5, 60))
        ip = ".".join(str(rng.randint(1, 254)) for _ in range(4))
        claim_id = uuid.uuid4()
        reference = self._reference()
        details = {
            "eligibility_answers": {"tested_2020": True, "notified": True},
            "extra": {"covid_test": {"date": "2020-11-03", "place": rng.choice(TEST_PLACES)}},
            "statement": " ".join(rng.sample(STATEMENT_SENTENCES, k=rng.randint(2, 4))),
            "signature_name": f"{first_name} {last_name}",
            "consent_ip": ip,
        }
        claims.append(
            {
                "id": claim_id,
                "reference": reference,
                "case_id": self.case_id,
                "claimant_id": claimant_id,
                "status": status,
                "assignee_id": rng.choice(self.reviewers) if status != ClaimStatus.SUBMITTED else None,
                "duplicate_of_id": None,
                "idempotency_key": None,
                "draft_token_hash": None,
                "completed_steps": [],
                **self.encrypted(Claim, claim_id, key, details),
                "privacy_notice_version": 1,
                "mandate_version": 1,
                "fee_agreement_version": 1,
                "consented_at": submitted,
                "civil_party_will": True,
                "legal_aid": rng.random() < 0.12,
                "signed_at": submitted,
                "source_ip_day_bidx": compute_blind_index("ip_day", f"{ip}|{created.date().isoformat()}"),
                "honeypot_filled": rng.random() < 0.004,
                "form_seconds": rng.choice([rng.randint(8, 40)] + [rng.randint(240, 2400)] * 30),
                "created_at": created,
                "updated_at": submitted,
                "submitted_at": submitted,
                "version": 1,
            }
        )
        harms.append({"claim_id": claim_id, "head": "moral_harm", "amount": Decimal("1500.00")})
        if rng.random() < 0.8:
            harms.append({"claim_id": claim_id, "head": "loss_of_control", "amount": Decimal("1000.00")})
        self.email_uses[email] += 1
        if len(self.samples) < 100 and not shared:
            self.samples.append((reference, email, status))
        self.count += 1


# Measuring ---------------------------------------------------------------------------


def make_lawyer() -> uuid.UUID:
    user = User(
        email="avocate.banc@cabinet.example",
        full_name="Maître Banc d’Essai",
        role=Role.LAWYER,
        state=UserState.ACTIVE,
        password_hash=hash_password(PASSWORD),
        totp_secret=new_secret(),
        totp_confirmed_at=utcnow(),
    )
    db.session.add(user)
    db.session.commit()
    return user.id


def sign_in(app: Flask, user_id: uuid.UUID) -> FlaskClient:
    """A client signed in through the real pages: password, then a TOTP code not used yet."""
    client = app.test_client()
    response = client.post(
        "/console/login", data={"email": "avocate.banc@cabinet.example", "password": PASSWORD}
    )
    if response.status_code != 302:
        raise SystemExit(f"sign-in refused: {response.status_code}")
    db.session.rollback()
    user = db.session.get_one(User, user_id)
    db.session.refresh(user)
    code = unused_code(user.totp_secret, user.totp_last_step)
    db.session.rollback()
    response = client.post("/console/2fa", data={"code": code})
    if response.status_code != 302 or not response.location.endswith("/console/"):
        raise SystemExit(f"second factor refused: {response.status_code} {response.location}")
    return client


def queue_sql(queue_filter: QueueFilter, *, last: bool = False) -> Callable[[], int]:
    """The main query of a queue page, as ``queue.page`` builds it, run alone."""
    key = (Claim.submitted_at, Claim.id)
    order = [k.asc() for k in key] if last else [k.desc() for k in key]
    statement = with_claimant(filtered(queue_filter)).order_by(*order).limit(PAGE_SIZE + 1)
    return lambda: len(list(db.session.execute(statement).scalars().unique()))


def claim_sql(reference: str) -> Callable[[], int]:
    statement = (
        sa.select(Claim)
        .where(Claim.reference == reference)
        .options(joinedload(Claim.claimant).joinedload(Claimant.data_key))
    )
    return lambda: 1 if db.session.execute(statement).scalar_one() else 0


def time_sql(query: Callable[[], int]) -> tuple[float, int]:
    db.session.rollback()
    db.session.expunge_all()
    started = time.perf_counter()
    rows = query()
    elapsed = time.perf_counter() - started
    db.session.rollback()
    return elapsed, rows


def time_page(client: FlaskClient, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    return elapsed, response.status_code


def page_reads(client: FlaskClient, url: str) -> list[tuple[str, Any]]:
    """Every read statement one request of the page sends to the database, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            sent.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        if client.get(url).status_code != 200:
            raise SystemExit(f"GET {url} failed")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return sent


def replay(statements: list[tuple[str, Any]]) -> Callable[[], int]:
    """The page's reads run bare: the DB-API cursor, every row fetched, no ORM, no app."""

    def run() -> int:
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            rows = 0
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                rows += len(cursor.fetchall())
            connection.rollback()
            return rows
        finally:
            connection.close()

    return run


def measure(app: Flask, user_id: uuid.UUID, reference: str, email: str, repeats: int) -> dict[str, Any]:
    """Median ms of each page, of its reads run bare and of its main query; interleaved.

    The dashboard is None if absent.
    """
    client = sign_in(app, user_id)
    pages = {
        "queue_first": ("/console/claims", queue_sql(QueueFilter())),
        "queue_last": ("/console/claims?last=1", queue_sql(QueueFilter(), last=True)),
        "queue_filtered": (f"/console/claims?{FILTER_ARGS}", queue_sql(FILTER)),
        "search": (f"/console/claims?q={quote(email)}", queue_sql(QueueFilter(search=email))),
        "claim_file": (f"/console/claims/{reference}", claim_sql(reference)),
    }
    for name, (_, query) in pages.items():
        rows = time_sql(query)[1]
        want = 1 if name in ("search", "claim_file") else PAGE_SIZE + 1
        if rows < want:
            raise SystemExit(f"{name}: the query finds {rows} rows, fewer than {want}")
    reads = {name: replay(page_reads(client, url)) for name, (url, _) in pages.items()}
    counts = {name: len(page_reads(client, url)) for name, (url, _) in pages.items()}
    dashboard = client.get("/console/dashboard").status_code != 404
    page_times: dict[str, list[float]] = {name: [] for name in [*pages, "dashboard", "console_home"]}
    sql_times: dict[str, list[float]] = {name: [] for name in pages}
    main_times: dict[str, list[float]] = {name: [] for name in pages}
    for round_ in range(WARMUP + repeats):
        for name, (url, query) in pages.items():
            elapsed, status = time_page(client, url)
            if status != 200:
                raise SystemExit(f"{name}: GET {url} answered {status}")
            sql_elapsed = time_sql(reads[name])[0]
            main_elapsed = time_sql(query)[0]
            if round_ >= WARMUP:
                page_times[name].append(elapsed)
                sql_times[name].append(sql_elapsed)
                main_times[name].append(main_elapsed)
        # The floor of any console page: session check, access check, a template, no claim.
        elapsed, status = time_page(client, "/console/")
        if round_ >= WARMUP:
            page_times["console_home"].append(elapsed)
        if dashboard:
            elapsed, status = time_page(client, "/console/dashboard")
            if status != 200:
                raise SystemExit(f"dashboard: GET /console/dashboard answered {status}")
            if round_ >= WARMUP:
                page_times["dashboard"].append(elapsed)
    result: dict[str, Any] = {
        name: statistics.median(times) * 1000 if times else None for name, times in page_times.items()
    }
    result.update({f"{name}_sql": statistics.median(times) * 1000 for name, times in sql_times.items()})
    result.update({f"{name}_main_sql": statistics.median(t) * 1000 for name, t in main_times.items()})
    result.update({f"{name}_reads": count for name, count in counts.items()})
    return result


def drop_quickly() -> None:
    """Drop the tables before ``benchmark_app`` does, foreign keys unchecked on SQLite.

    SQLite's DROP TABLE deletes row by row first, checking each foreign key that
    points at the table (100,000 claims, each checked against several tables):
    minutes, for nothing. PostgreSQL drops a table whole.
    """
    db.session.remove()
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        db.metadata.drop_all(connection)
        connection.commit()
        connection.exec_driver_sql("PRAGMA foreign_keys = ON")


def ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def main() -> None:
    args = parse_args(__doc__ or "")
    small, large = (1_000, 5_000) if args.quick else (1_000, 100_000)
    repeats = 5 if args.quick else 15
    with benchmark_app(RATELIMIT_ENABLED=False, JOBS_RUNNER="inline") as app:
        case = create_demo_case()
        db.session.commit()
        user_id = make_lawyer()
        seeder = Seeder(case.id, case.reference_prefix, [user_id])

        seed_small = seeder.add(small)
        print(f"seeded {small} claims in {seed_small:.1f} s", flush=True)
        # Two claims of the first thousand, neither in review nor a shared email: one file per size
        # (viewing a claim file adds to its history).
        picks = [s for s in seeder.samples if s[2] == ClaimStatus.SUBMITTED and seeder.email_uses[s[1]] == 1][
            :2
        ]
        search_email = picks[0][1]
        at_small = measure(app, user_id, picks[0][0], search_email, repeats)

        seed_large = seeder.add(large - small)
        print(f"seeded {large - small} more claims in {seed_large:.1f} s", flush=True)
        at_large = measure(app, user_id, picks[1][0], search_email, repeats)
        database = db.engine.dialect.name
        drop_quickly()

    figures: dict[str, Any] = {
        "database": database,
        "claims_small": small,
        "claims_large": large,
        "repeats": repeats,
        "seed_seconds_small": round(seed_small, 1),
        "seed_seconds_large": round(seed_small + seed_large, 1),
        "claims_per_second_seeded": round(large / (seed_small + seed_large)),
    }
    for name in [*PAGES, "dashboard", "console_home"]:
        figures[f"{name}_ms_at_{small}"] = ms(at_small[name])
        figures[f"{name}_ms_at_{large}"] = ms(at_large[name])
        if name in PAGES:
            figures[f"{name}_reads_per_request"] = at_large[f"{name}_reads"]
            for size, at in ((small, at_small), (large, at_large)):
                figures[f"{name}_sql_ms_at_{size}"] = ms(at[f"{name}_sql"])
                figures[f"{name}_main_sql_ms_at_{size}"] = ms(at[f"{name}_main_sql"])
            figures[f"{name}_vs_main_sql"] = round(at_large[name] / at_large[f"{name}_main_sql"], 2)
    ratios = {}
    for name in PAGES:
        ratios[f"{name}_100k_vs_1k"] = round(at_large[name] / at_small[name], 2)
        ratios[f"{name}_vs_sql"] = round(at_large[name] / at_large[f"{name}_sql"], 2)
    report("console", figures, ratios)


if __name__ == "__main__":
    main()
