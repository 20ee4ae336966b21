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

from sale_tui.benchmark.strategies import STREAMED

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
    for any roster). One colour per strategy in every panel, named in one legend (labels next
    to the points overlap: strategies often land on the same spot)."""
    domains = [g for g in dict.fromkeys(r["group"] for r in report["rows"]) if "/" not in g]
    strategies = list(dict.fromkeys(r["strategy"] for r in report["rows"]))
    colours = plt.get_cmap("tab20")
    figure, axes = plt.subplots(1, len(domains), figsize=(4.6 * len(domains), 4.2), squeeze=False)
    for axis, domain in zip(axes[0], domains, strict=True):
        for row in (r for r in report["rows"] if r["group"] == domain):
            index = strategies.index(row["strategy"])
            x, y = row["cost_vs_largest"] or 0.0, row["pass_at_1"]
            axis.errorbar(
                x, y, yerr=[[y - row["ci_low"]], [row["ci_high"] - y]],
                fmt="*" if row["strategy"].startswith("sale") else "o", markersize=9,
                capsize=3, alpha=0.85, color=colours(index % colours.N),
                label=row["strategy"].removeprefix("agent:"),
            )  # fmt: skip
        tasks = next(r["tasks"] for r in report["rows"] if r["group"] == domain)
        axis.set(title=f"{domain} ({tasks} tasks)", xlabel="cost ÷ always-largest's cost",
                 ylabel="pass@1 (95% CI)", ylim=(-0.05, 1.05))  # fmt: skip
        axis.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    figure.tight_layout()
    return _save(figure, out, "pass_vs_cost")


def small_wins(report: dict[str, Any], out: Path) -> list[Path]:
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    for strategy, curves in report["small_agent_wins"].items():
        for order, curve in curves.items():
            label = f"{strategy} (order {order})" if strategy in STREAMED else strategy
            style = "-" if strategy in STREAMED else "--"
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
