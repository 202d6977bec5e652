"""How fast the demo seeds: 10,000 claimants must take minutes, not hours.

Seeds N claimants (10,000; 300 with --quick) through the real operations
(encrypted fields, blind indexes, evidence files in the vault), and in the
same run times the generation of the same synthetic values and files alone
(Faker, reportlab, no encryption, no database), the part no storage design
can avoid.

Ratios:
  seed_vs_generation_only   full seed time / generation-only time (the cost of storing safely)
  projected_10k_vs_budget   projected seconds for 10,000 claimants / 300 s budget (want < 1)
"""

from __future__ import annotations

import random
import time
from datetime import date

from faker import Faker

from benchmarks._common import benchmark_app, parse_args, report
from claims.demo import documents
from claims.demo.operations import seed_demo

BUDGET_SECONDS_FOR_10K = 300


def generation_only(count: int) -> float:
    rng = random.Random(1)
    fake = Faker("fr_FR")
    fake.seed_instance(1)
    started = time.perf_counter()
    for _ in range(count):
        name = f"{fake.first_name()} {fake.last_name()}"
        fake.street_address(), fake.city(), fake.free_email_domain(), fake.ipv4_public()
        fake.date_between(date(1938, 1, 1), date(2004, 12, 31))
        documents.notification_letter(
            civility="Mme",
            full_name=name,
            address_lines=["1 rue de Paris", "75001 Paris"],
            sent_on=date(2021, 10, 1),
        )
        rng.random()
    return time.perf_counter() - started


def main() -> None:
    args = parse_args(__doc__ or "")
    count = 300 if args.quick else 10_000
    with benchmark_app():
        started = time.perf_counter()
        result = seed_demo(count, seed=1)
        seed_seconds = time.perf_counter() - started
    generation_seconds = generation_only(count)
    projected = seed_seconds / count * 10_000
    report(
        "demo_seed",
        {
            "claimants": count,
            "evidence_files": result.evidence_files,
            "seed_seconds": round(seed_seconds, 2),
            "claimants_per_second": round(count / seed_seconds, 1),
            "generation_only_seconds": round(generation_seconds, 2),
            "projected_seconds_for_10k": round(projected, 1),
        },
        {
            "seed_vs_generation_only": round(seed_seconds / generation_seconds, 2),
            "projected_10k_vs_budget": round(projected / BUDGET_SECONDS_FOR_10K, 3),
        },
    )


if __name__ == "__main__":
    main()
