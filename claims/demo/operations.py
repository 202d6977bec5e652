"""The demo: the Paris hospitals 2021 case, one staff account per role, and
synthetic claimants (French names and addresses from Faker, NIRs with a valid
check key from python-stdnum, statements, heads of damage, evidence files).

Everything is fictitious; every personal value goes through the same
encrypted fields and vault as real data would.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from argon2 import PasswordHasher
from faker import Faker
from stdnum.fr import nir as stdnum_nir

from ..accounts.models import Role, User, UserState
from ..audit.operations import record_event
from ..cases.models import Case, CaseStatus, CaseText, Procedure, TextKind
from ..claimants.models import Claim, Claimant, ClaimHarm, ClaimStatus
from ..claimants.operations import new_reference
from ..crypto import compute_blind_index
from ..evidence.models import EvidenceKind
from ..evidence.operations import store_evidence
from ..extensions import db
from . import documents
from .texts import CASE_DESCRIPTION, CASE_ENGLISH, CASE_SUMMARY, CASE_TEXTS, STATEMENT_SENTENCES

DEMO_CASE_SLUG = "aphp-2021"
DEMO_STAFF = [
    ("admin@demo.recours.test", "Camille Admin", Role.ADMIN),
    ("avocate@demo.recours.test", "Maître Hélène Garnier", Role.LAWYER),
    ("juriste@demo.recours.test", "Thomas Petit", Role.PARALEGAL),
]
HEADS_OF_DAMAGE = [
    {
        "code": "moral_harm",
        "label_fr": "Préjudice moral (anxiété, crainte d’un usage frauduleux)",
        "label_en": "Moral harm (anxiety, fear of misuse)",
        "suggested_amount": "1500.00",
    },
    {
        "code": "loss_of_control",
        "label_fr": "Perte de maîtrise de ses données personnelles",
        "label_en": "Loss of control over one's data",
        "suggested_amount": "1000.00",
    },
    {
        "code": "time_lost",
        "label_fr": "Temps perdu (démarches, vigilance)",
        "label_en": "Time lost (steps taken, vigilance)",
        "suggested_amount": "300.00",
    },
    {
        "code": "financial_loss",
        "label_fr": "Préjudice financier (justifié)",
        "label_en": "Financial loss (documented)",
        "suggested_amount": "0.00",
    },
    {
        "code": "identity_theft",
        "label_fr": "Usurpation d’identité",
        "label_en": "Identity theft",
        "suggested_amount": "3000.00",
    },
]
# Île-de-France communes where the tested people mostly live: (postal code, city, INSEE department).
COMMUNES = [
    *((f"750{n:02d}", "Paris", "75") for n in range(1, 21)),
    ("93100", "Montreuil", "93"),
    ("93200", "Saint-Denis", "93"),
    ("94000", "Créteil", "94"),
    ("92100", "Boulogne-Billancourt", "92"),
    ("78000", "Versailles", "78"),
    ("92000", "Nanterre", "92"),
    ("95100", "Argenteuil", "95"),
    ("91000", "Évry-Courcouronnes", "91"),
    ("77100", "Meaux", "77"),
    ("94200", "Ivry-sur-Seine", "94"),
    ("93300", "Aubervilliers", "93"),
    ("92130", "Issy-les-Moulineaux", "92"),
]
BIRTH_DEPARTMENTS = ["75", "92", "93", "94", "91", "77", "78", "95", "13", "69", "59", "33", "31", "44", "67"]
STATUS_WEIGHTS = {
    ClaimStatus.DRAFT: 6,
    ClaimStatus.SUBMITTED: 38,
    ClaimStatus.IN_REVIEW: 25,
    ClaimStatus.NEEDS_INFO: 8,
    ClaimStatus.ACCEPTED: 17,
    ClaimStatus.REJECTED: 6,
}
TEST_PLACES = [
    "Hôpital Bichat – Claude-Bernard",
    "Hôpital Lariboisière",
    "Hôpital Necker-Enfants malades",
    "Hôpital européen Georges-Pompidou",
    "Hôpital de la Pitié-Salpêtrière",
    "Hôpital Avicenne",
]
# A demo claimant's share of claims that repeat an earlier person (same email,
# phone or identity): what the console's duplicate detection must catch.
DUPLICATE_RATE = 0.01


@dataclass
class SeedResult:
    case: Case
    created_case: bool
    staff_credentials: list[tuple[str, Role, str]] = field(default_factory=list)
    claimants: int = 0
    evidence_files: int = 0


def get_demo_case() -> Case | None:
    return db.session.execute(sa.select(Case).where(Case.slug == DEMO_CASE_SLUG)).scalar_one_or_none()


def create_demo_case() -> Case:
    case = Case(
        slug=DEMO_CASE_SLUG,
        reference_prefix="APHP",
        title="Fuite des données de dépistage Covid-19 de l’AP-HP (2021)",
        summary=CASE_SUMMARY,
        description=CASE_DESCRIPTION,
        data_controller="Assistance Publique – Hôpitaux de Paris (AP-HP)",
        breach_started_on=date(2021, 6, 1),
        breach_discovered_on=date(2021, 9, 15),
        eligibility_start=date(2020, 3, 1),
        eligibility_end=date(2020, 12, 31),
        eligibility_questions=[
            {
                "code": "tested_2020",
                "expected": True,
                "text_fr": "Avez-vous effectué un test de dépistage du Covid-19 en Île-de-France en 2020 ?",
                "text_en": "Were you tested for Covid-19 in the Île-de-France region in 2020?",
            },
            {
                "code": "notified",
                "expected": True,
                "text_fr": "Avez-vous été informé(e) par l’AP-HP que vos données faisaient partie de la fuite ?",
                "text_en": "Did AP-HP inform you that your data was part of the leak?",
            },
        ],
        heads_of_damage=HEADS_OF_DAMAGE,
        optional_fields=["nir", "covid_test"],
        join_deadline=date(2027, 6, 30),
        court="Tribunal judiciaire de Paris",
        jurisdiction="Doyen des juges d’instruction",
        procedure=Procedure.COMPLAINT_CIVIL_PARTY,
        fee_summary="Forfait de 40 € TTC, puis 15 % des sommes obtenues. Aide juridictionnelle acceptée.",
        status=CaseStatus.OPEN,
        translations={"en": CASE_ENGLISH},
    )
    db.session.add(case)
    for kind, language, title, body in CASE_TEXTS:
        db.session.add(
            CaseText(case=case, kind=TextKind(kind), language=language, version=1, title=title, body=body)
        )
    db.session.flush()
    record_event("case.created", object_type="case", object_id=case.id, details={"demo": True})
    return case


def create_demo_staff() -> list[tuple[str, Role, str]]:
    """One account per role, with a random password returned once (never stored in clear)."""
    hasher = PasswordHasher()
    credentials = []
    for email, name, role in DEMO_STAFF:
        exists = db.session.execute(sa.select(User.id).where(User.email == email)).first()
        if exists:
            continue
        password = secrets.token_urlsafe(12)
        user = User(
            email=email,
            full_name=name,
            role=role,
            state=UserState.ACTIVE,
            password_hash=hasher.hash(password),
        )
        db.session.add(user)
        db.session.flush()
        record_event("user.created", object_type="user", object_id=user.id, details={"role": role.value})
        credentials.append((email, role, password))
    return credentials


def synthetic_nir(rng: random.Random, sex: int, birth_date: date, department: str) -> str:
    """A NIR of the right shape with a valid check key (fictitious commune and order numbers)."""
    body = (
        f"{sex}{birth_date.year % 100:02d}{birth_date.month:02d}{department}"
        f"{rng.randint(1, 990):03d}{rng.randint(1, 999):03d}"
    )
    number = body + stdnum_nir.calc_check_digits(body)
    return stdnum_nir.validate(number)


def seed_demo(
    claimants: int,
    seed: int | None = None,
    *,
    batch_size: int = 250,
    progress: Callable[[int], None] | None = None,
) -> SeedResult:
    """Create (if missing) the demo case and staff, then add synthetic claimants.

    Commits per batch, so a large seed shows progress and never holds one
    enormous transaction.
    """
    rng = random.Random(seed)
    fake = Faker("fr_FR")
    fake.seed_instance(rng.randrange(2**32))
    case = get_demo_case()
    result = SeedResult(case=case, created_case=case is None)
    if case is None:
        result.case = case = create_demo_case()
    result.staff_credentials = create_demo_staff()
    case_id = case.id
    db.session.commit()
    staff = db.session.execute(sa.select(User).where(User.role != Role.ADMIN)).scalars().all()

    pool = _ImagePool(rng)
    people: list[Claimant] = []
    for index in range(claimants):
        claimant = _synthetic_claimant(rng, fake, people)
        people.append(claimant)
        if len(people) > 200:
            people.pop(0)
        result.evidence_files += _synthetic_claim(rng, fake, case, claimant, staff, pool)
        result.claimants += 1
        if (index + 1) % batch_size == 0:
            db.session.commit()
            db.session.expunge_all()
            case = db.session.get_one(Case, case_id)
            staff = db.session.execute(sa.select(User).where(User.role != Role.ADMIN)).scalars().all()
            people.clear()
            if progress:
                progress(index + 1)
    record_event(
        "demo.seeded",
        object_type="case",
        object_id=case_id,
        details={"claimants": result.claimants, "evidence_files": result.evidence_files},
    )
    db.session.commit()
    result.case = case
    return result


def _synthetic_claimant(rng: random.Random, fake: Faker, recent: list[Claimant]) -> Claimant:
    female = rng.random() < 0.53
    first_name = fake.first_name_female() if female else fake.first_name_male()
    last_name = fake.last_name()
    birth_date = fake.date_between(date(1938, 1, 1), date(2004, 12, 31))
    postal_code, city, _department = rng.choice(COMMUNES)
    email_name = documents._ascii(f"{first_name}.{last_name}").lower().replace(" ", "-").replace("'", "")
    email = f"{email_name}{rng.randint(1, 9999)}@{fake.free_email_domain()}"
    phone = (
        f"0{rng.choice('67')} {rng.randint(0, 99):02d} {rng.randint(0, 99):02d} "
        f"{rng.randint(0, 99):02d} {rng.randint(0, 99):02d}"
    )
    if recent and rng.random() < DUPLICATE_RATE:
        # The same person signing up twice, or one address reused by a bot wave.
        original = rng.choice(recent)
        if rng.random() < 0.5:
            email = original.email
        else:
            first_name, last_name, birth_date = original.first_name, original.last_name, original.birth_date
            phone = original.phone
    claimant = Claimant(
        language="fr" if rng.random() < 0.93 else "en",
        civility="Mme" if female else "M.",
        first_name=first_name,
        last_name=last_name,
        birth_date=birth_date,
        birth_place=f"{fake.city()} ({rng.choice(BIRTH_DEPARTMENTS)})",
        nir=synthetic_nir(rng, 2 if female else 1, birth_date, rng.choice(BIRTH_DEPARTMENTS)),
        address_line1=fake.street_address(),
        address_line2=f"Bâtiment {rng.choice('ABCD')}, {rng.randint(1, 9)}e étage"
        if rng.random() < 0.2
        else None,
        postal_code=postal_code,
        city=city,
        country="France",
        email=email,
        phone=phone,
    )
    db.session.add(claimant)
    return claimant


class _ImagePool:
    """A few dozen images made once: encoding a PNG per claimant would dominate the seed."""

    SIZE = 24

    def __init__(self, rng: random.Random) -> None:
        fake = Faker("fr_FR")
        fake.seed_instance(rng.randrange(2**32))
        self.screenshots = [
            documents.phishing_screenshot(rng, fake.date_between(date(2021, 9, 20), date(2022, 6, 30)))
            for _ in range(self.SIZE)
        ]
        self.identity_photos = [
            documents.identity_photo(rng, fake.last_name(), fake.first_name()) for _ in range(self.SIZE)
        ]


def _synthetic_claim(
    rng: random.Random, fake: Faker, case: Case, claimant: Claimant, staff: list[User], pool: _ImagePool
) -> int:
    status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
    now = datetime.now(UTC)
    created = now - timedelta(days=rng.randint(1, 90), minutes=rng.randint(0, 1440))
    submitted = status != ClaimStatus.DRAFT
    ip = fake.ipv4_public()
    test_date = fake.date_between(date(2020, 3, 1), date(2020, 12, 31))
    claim = Claim(
        reference=new_reference(case.reference_prefix),
        case=case,
        claimant=claimant,
        status=status,
        assignee=rng.choice(staff)
        if staff and status not in (ClaimStatus.DRAFT, ClaimStatus.SUBMITTED)
        else None,
        created_at=created,
        submitted_at=created + timedelta(minutes=rng.randint(5, 60)) if submitted else None,
        eligibility_answers={"tested_2020": True, "notified": True},
        extra={
            "covid_test": {
                "date": test_date.isoformat(),
                "place": rng.choice(TEST_PLACES),
                "result": rng.choice(["négatif", "négatif", "positif"]),
            }
        },
        statement=_statement(rng, fake, test_date),
        legal_aid=rng.random() < 0.12,
        honeypot_filled=rng.random() < 0.004,
        form_seconds=rng.choice([rng.randint(8, 40)] + [rng.randint(240, 2400)] * 30),
        source_ip_day_bidx=compute_blind_index("ip_day", f"{ip}|{created.date().isoformat()}"),
    )
    if submitted:
        claim.privacy_notice_version = claim.mandate_version = claim.fee_agreement_version = 1
        claim.consented_at = claim.signed_at = claim.submitted_at
        claim.civil_party_will = True
        claim.consent_ip = ip
        claim.signature_name = claimant.full_name
    for head in HEADS_OF_DAMAGE:
        amount = _harm_amount(rng, head["code"], Decimal(head["suggested_amount"]))
        if amount is not None:
            claim.harms.append(ClaimHarm(head=head["code"], amount=amount))
    db.session.add(claim)
    if not submitted:
        return 0
    files = 1
    store_evidence(
        claim,
        [
            documents.notification_letter(
                civility=claimant.civility,
                full_name=claimant.full_name,
                address_lines=[claimant.address_line1, f"{claimant.postal_code} {claimant.city}"],
                sent_on=date(2021, 10, 1) + timedelta(days=rng.randint(0, 60)),
            )
        ],
        kind=EvidenceKind.BREACH_NOTIFICATION,
        original_filename="courrier_APHP.pdf",
        detected_type="application/pdf",
    )
    if rng.random() < 0.5:
        files += 1
        store_evidence(
            claim,
            [rng.choice(pool.screenshots)],
            kind=EvidenceKind.PHISHING_MESSAGE,
            original_filename=f"Screenshot_{rng.randint(20211001, 20220630)}.png",
            detected_type="image/png",
        )
    if rng.random() < 0.6:
        files += 1
        store_evidence(
            claim,
            [rng.choice(pool.identity_photos)],
            kind=EvidenceKind.PROOF_OF_IDENTITY,
            original_filename=f"IMG_{rng.randint(1000, 9999)}.jpg",
            detected_type="image/jpeg",
        )
    return files


def _harm_amount(rng: random.Random, code: str, suggested: Decimal) -> Decimal | None:
    if code == "moral_harm":
        return suggested
    if code == "loss_of_control":
        return suggested if rng.random() < 0.8 else None
    if code == "time_lost":
        return suggested if rng.random() < 0.5 else None
    if code == "identity_theft":
        return suggested if rng.random() < 0.05 else None
    if code == "financial_loss" and rng.random() < 0.1:
        return Decimal(rng.randint(2000, 200000)) / 100
    return None


def _statement(rng: random.Random, fake: Faker, test_date: date) -> str:
    sentences = [
        f"J’ai effectué un test de dépistage le {test_date.strftime('%d/%m/%Y')}.",
        *rng.sample(STATEMENT_SENTENCES, k=rng.randint(2, 4)),
        f"Depuis, je reçois environ {rng.randint(2, 15)} messages suspects par mois"
        f" ; le dernier venait du {fake.phone_number()}.",
    ]
    return " ".join(sentences)
