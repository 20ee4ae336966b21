"""Summarise a `sale-tui bench auction` run for docs/BENCHMARKS.md: per design and domain, the
median tokens (computed / cached / generated), seconds, how many auctions meet the issue's
targets, and each juror's AUC with a bootstrap 95% interval over tasks.

    python docs/bench/auction_cost_report.py OUT/auction-cost.json OUTCOMES.json [--skip N]

--skip N leaves the first N tasks out of the time figures only (tokens do not depend on load):
for runs whose first auctions shared the CPU with something else.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from pathlib import Path

from sale_tui.benchmark.auction_cost import AuctionCost, juror_auc, outcome_lookup


def load(path: Path) -> list[AuctionCost]:
    rows = []
    for row in json.loads(path.read_text()).values():
        row["jury"] = tuple(tuple(item) for item in row["jury"])
        row["dropped"] = tuple(tuple(item) for item in row.get("dropped", ()))
        rows.append(AuctionCost(**row))
    return rows


def bootstrap_auc(items: list[AuctionCost], passed, juror: str, rounds: int = 1000):  # type: ignore[no-untyped-def]
    tasks = sorted({r.task for r in items})
    rng = random.Random(0)
    values = []
    for _ in range(rounds):
        sample = [rng.choice(tasks) for _ in tasks]
        chosen = [r for t in sample for r in items if r.task == t]
        auc = juror_auc(chosen, passed).get(juror)
        if auc is not None:
            values.append(auc)
    values.sort()
    return values[int(0.025 * len(values))], values[int(0.975 * len(values)) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path)
    parser.add_argument("outcomes", type=Path)
    parser.add_argument("--skip", type=int, default=0)
    args = parser.parse_args()
    results = load(args.results)
    passed = outcome_lookup(args.outcomes)
    order = list(dict.fromkeys(r.task for r in results))
    timed = set(order[args.skip :])
    for design in dict.fromkeys(r.design for r in results):
        for domain in ("all", "coding", "research"):
            items = [r for r in results if r.design == design and domain in ("all", r.domain)]
            if not items:
                continue
            seconds = [r.seconds for r in items if r.task in timed]
            lone = sum(1 for r in items if r.bids == 1)
            print(
                f"{design:5} {domain:8} n={len(items):2} "
                f"computed {statistics.median(r.computed_tokens for r in items):6.0f} "
                f"(mean {statistics.fmean(r.computed_tokens for r in items):6.0f}) "
                f"cached {statistics.median(r.cached_tokens for r in items):6.0f} "
                f"generated {statistics.median(r.generated_tokens for r in items):4.0f} "
                f"$ {statistics.median(r.cost_usd for r in items):.7f} "
                f"s {statistics.median(seconds):5.1f} (n={len(seconds)}) "
                f"<=1300 {sum(r.computed_tokens <= 1300 for r in items)}/{len(items)} "
                f"<=12s {sum(s <= 12 for s in seconds)}/{len(seconds)} lone bids {lone}"
            )
            for juror, auc in juror_auc(items, passed).items():
                low, high = bootstrap_auc(items, passed, juror) if auc is not None else (0, 0)
                print(f"      juror {juror}: AUC {auc} ({low:.2f}-{high:.2f})")
    drops = [(r.design, r.task, a, why) for r in results for a, why in r.dropped]
    for drop in drops:
        print("dropped", *drop)


if __name__ == "__main__":
    main()
