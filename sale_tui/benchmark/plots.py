"""The two pictures of a benchmark run, drawn from its results.json (SVG and PNG):

- ``pass_vs_cost``: pass@1 (with its 95% interval) against $ (relative to always-largest) per
  strategy, one panel per domain; up and to the left is better.
- ``small_wins``: the share of tasks a cheaper agent won as the memory grew, one line per stream
  order of ``sale+memory`` (and ``sale``, which never reads the memory, for reference).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server or in CI

import matplotlib.pyplot as plt  # after use(): the backend must be chosen first
from matplotlib.ticker import MaxNLocator

FORMATS = ("svg", "png")


def _save(figure: Any, out: Path, name: str) -> list[Path]:
    paths = []
    for suffix in FORMATS:
        path = out / f"{name}.{suffix}"
        with plt.rc_context({"svg.fonttype": "none"}):  # SVG text stays text: searchable
            figure.savefig(path, dpi=120, bbox_inches="tight")
        paths.append(path)
    plt.close(figure)
    return paths


def pass_vs_cost(report: dict[str, Any], out: Path) -> list[Path]:
    """x: $ relative to always-largest (nominal local prices are tiny; a ratio reads the same
    for any roster); strategies that land on the same point share one label."""
    domains = [g for g in dict.fromkeys(r["group"] for r in report["rows"]) if "/" not in g]
    figure, axes = plt.subplots(1, len(domains), figsize=(5.2 * len(domains), 4.4), squeeze=False)
    for axis, domain in zip(axes[0], domains, strict=True):
        points: dict[tuple[float, float], list[str]] = {}
        for row in (r for r in report["rows"] if r["group"] == domain):
            name = row["strategy"].removeprefix("agent:")
            x, y = row["cost_vs_largest"] or 0.0, row["pass_at_1"]
            error = [[y - row["ci_low"]], [row["ci_high"] - y]]
            marker = "*" if name.startswith("sale") else "o"
            axis.errorbar(x, y, yerr=error, fmt=marker, capsize=3, markersize=8, alpha=0.8)
            points.setdefault((round(x, 3), round(y, 3)), []).append(name)
        for (x, y), names in points.items():
            axis.annotate(", ".join(names), (x, y), textcoords="offset points", xytext=(5, 4),
                          fontsize=7)  # fmt: skip
        tasks = next(r["tasks"] for r in report["rows"] if r["group"] == domain)
        axis.set(title=f"{domain} ({tasks} tasks)", xlabel="cost ÷ always-largest's cost",
                 ylabel="pass@1 (95% CI)", ylim=(-0.05, 1.05))  # fmt: skip
        axis.grid(alpha=0.3)
    return _save(figure, out, "pass_vs_cost")


def small_wins(report: dict[str, Any], out: Path) -> list[Path]:
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    for strategy, curves in report["small_agent_wins"].items():
        for order, curve in curves.items():
            label = f"{strategy} (order {order})" if strategy == "sale+memory" else strategy
            style = "-" if strategy == "sale+memory" else "--"
            axis.plot(range(1, len(curve) + 1), curve, style, label=label)
    axis.set(xlabel="tasks auctioned so far (memory size)",
             ylabel=f"share won by an agent cheaper than {report['largest']}",
             ylim=(-0.05, 1.05))  # fmt: skip
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.grid(alpha=0.3)
    if report["small_agent_wins"]:
        axis.legend(fontsize=8)
    return _save(figure, out, "small_wins")


def plot(report: dict[str, Any], out: Path) -> list[Path]:
    """Both pictures; their paths."""
    paths = pass_vs_cost(report, out)
    if report["small_agent_wins"]:
        paths += small_wins(report, out)
    return paths
