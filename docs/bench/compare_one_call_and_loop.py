"""Side by side: one call against the agent loop, on the same tasks (issue 14).

    python docs/bench/compare_one_call_and_loop.py ONE_CALL_OUT AGENTIC_OUT [--f1]

ONE_CALL_OUT and AGENTIC_OUT are the --out folders of `sale-tui bench run` and
`sale-tui bench run --agentic` with the same --limit and seed."""
import json
import statistics
import sys
from pathlib import Path

from sale_tui.benchmark.report import bootstrap

one_out, agentic_out = Path(sys.argv[1]), Path(sys.argv[2])
one = json.load(open(one_out / "outcomes.json"))
agentic_results = json.load(open(agentic_out / "results.json"))
ag = json.load(open(agentic_out / "outcomes.json"))
tasks = agentic_results["tasks"]
agents = agentic_results["agents"]

def ci(values):
    lo, hi = bootstrap(values)
    return f"{statistics.mean(values):.2f} ({lo:.2f}–{hi:.2f})"

print("| domain | agent | one call pass@1 | agent loop pass@1 | loop: own checks pass | one call tokens (median) | loop tokens (median) | loop s (median) | loop steps (median) | how loop runs stopped |")
print("|---|---|---|---|---|---|---|---|---|---|")
for domain in ("coding", "research", "all"):
    chosen = [t for t in tasks if domain == "all" or t["domain"] == domain]
    if not chosen:  # a run of one domain only
        continue
    for agent in agents:
        o = [one[f"{t['id'].removeprefix('agentic:')}|{agent}"] for t in chosen]
        a = [ag[f"{t['id']}|{agent}"] for t in chosen]
        stops = {}
        for x in a:
            stops[x["stop"]] = stops.get(x["stop"], 0) + 1
        print(f"| {domain} ({len(chosen)}) | {agent} | {ci([float(x['passed']) for x in o])} | {ci([float(x['passed']) for x in a])} | "
              f"{statistics.mean([bool(x['checks_passed']) for x in a]):.2f} | {int(statistics.median([x['tokens'] for x in o]))} | "
              f"{int(statistics.median([x['tokens'] for x in a]))} | {statistics.median([x['seconds'] for x in a]):.0f} | "
              f"{statistics.median([x['steps'] for x in a]):g} | {', '.join(f'{k} {v}' for k, v in sorted(stops.items(), key=lambda kv: -kv[1]))} |")
print()
if "--f1" in sys.argv:
    for agent in agents:
        for domain in ("research",):
            chosen = [t for t in tasks if t["domain"] == domain]
            o = [one[f"{t['id'].removeprefix('agentic:')}|{agent}"]["score"] for t in chosen]
            a = [ag[f"{t['id']}|{agent}"]["score"] for t in chosen]
            print(f"F1 {agent} one-call {statistics.mean(o):.2f} loop {statistics.mean(a):.2f}")
print("| group | strategy | pass@1 (95% CI) | $ | × largest $ | largest used |")
print("|---|---|---|---|---|---|")
for row in agentic_results["rows"]:
    if row["group"] in ("all", "coding", "research"):
        rel = "—" if row["cost_vs_largest"] is None else f"{row['cost_vs_largest']:.2f}"
        print(f"| {row['group']} | {row['strategy'].removeprefix('agent:')} | {row['pass_at_1']:.2f} ({row['ci_low']:.2f}–{row['ci_high']:.2f}) | {row['cost_usd']:.6f} | {rel} | {row['largest_share']:.0%} |")
