"""Refitting the auction's weights as outcomes arrive (issue 15, item 6).

After each job, once ``auction.refit_every`` new outcomes have been recorded since the last
fit, the weights are fitted again the way ``sale-tui calibrate`` fits them (the same split,
the same LP). The new weights are adopted only when they route the held-out jobs at least as
well as the weights in use: with few outcomes a fit can learn noise, and a user who never
asked for a change should not get a worse auction from one. Every try is kept, adopted or
not, so ``history`` and the Costs tab can say which weights the auction uses and why, and the
next try waits for another ``refit_every`` outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sale_tui.config import Settings
from sale_tui.errors import SaleError
from sale_tui.memory import AuctionMemory
from sale_tui.memory.fits import FitRecord
from sale_tui.runner import weights_from


@dataclass(frozen=True)
class Refit:
    """One automatic refit: what it learned from and whether the auction now uses it."""

    outcomes: int
    """New outcomes since the previous fit, the ones that set this refit off."""
    tasks: int
    heldout_tasks: int
    heldout_before: float
    heldout_after: float
    adopted: bool
    reason: str

    def line(self) -> str:
        verdict = "adopted" if self.adopted else "kept the weights in use"
        return (
            f"refit the auction weights after {self.outcomes} new outcomes: "
            f"{self.tasks} auctions, held-out routing {self.heldout_before:.0%} → "
            f"{self.heldout_after:.0%} on {self.heldout_tasks}; {verdict}"
            + (f" ({self.reason})" if self.reason else "")
        )


def refit_if_due(memory: AuctionMemory, settings: Settings) -> Refit | None:
    """Refit when enough outcomes have arrived; None when it was not due (or is off)."""
    every = settings.auction.refit_every
    if every == 0 or not settings.auction.use_fitted_weights:
        return None
    new = memory.outcomes_since_fit()
    if new < every:
        return None
    # the fit needs scipy: loaded only when a refit is due
    from sale_tui.calibrate import calibrate, save

    try:
        result = calibrate(memory, weights_from(settings, memory))
    except SaleError:
        return None  # too few auctions with two scored bids yet; the next job tries again
    adopted = result.heldout_after >= result.heldout_before
    reason = "" if adopted else "it routed the held-out jobs worse"
    save(memory, result, trigger="auto", adopted=adopted, reason=reason)
    return Refit(
        outcomes=new,
        tasks=result.tasks,
        heldout_tasks=result.heldout_tasks,
        heldout_before=result.heldout_before,
        heldout_after=result.heldout_after,
        adopted=adopted,
        reason=reason,
    )


def _describe(fit: FitRecord) -> str:
    how = {"auto": "refit automatically", "bench": "frozen by the bench"}.get(
        fit.trigger, "fitted by `sale-tui calibrate`"
    )
    held = f" on {fit.heldout_tasks}" if fit.heldout_tasks else ""
    return (
        f"{how} {fit.created_at[:16].replace('T', ' ')} from {fit.records} auctions "
        f"(held-out routing {fit.baseline_heldout_accuracy:.0%} → "
        f"{fit.heldout_accuracy:.0%}{held})"
    )


def weights_status(memory: AuctionMemory, settings: Settings) -> str:
    """One line for ``history`` and the Costs tab: which weights the auction uses, and when
    the next automatic refit comes."""
    config = settings.auction
    if not config.use_fitted_weights:
        return "auction weights: the configured ones (auction.use_fitted_weights is off)"
    adopted = memory.latest_fit(adopted_only=True)
    last = memory.latest_fit()
    if adopted is not None:
        used = _describe(adopted)
    else:
        used = f"the configured ones (no fit {'adopted ' if last else ''}yet)"
    line = f"auction weights: {used}"
    if last is not None and not last.adopted:
        line += f" · last refit not adopted: {last.reason or 'no better'}"
    if config.refit_every == 0:
        return line + " · automatic refit off (auction.refit_every = 0)"
    left = max(0, config.refit_every - memory.outcomes_since_fit())
    if left == 0:
        return line + " · refit due after the next job"
    return line + f" · next refit after {left} more outcomes"
