"""How many units a campaign needs: the sample-size planner behind ``campaigns plan``.

For a proportion (accuracy, or the error rate of the automatically coded part) estimated from
a stratified simple random sample, the variance of the stratified estimator is

    V = sum_h W_h^2 * p_h (1 - p_h) / n_h * (1 - n_h / N_h),   W_h = N_h / N

with the finite-population correction. The planner searches the smallest total ``n`` whose
allocation (the design's own, minimum per stratum included) gives ``z * sqrt(V)`` at most the
target margin. Simple random sampling is the one-stratum case, where this is the textbook
``n0 = z^2 p (1 - p) / e^2`` corrected for the population size.

The prior accuracy per stratum is typed by the user or found by ``campaigns.sampling.priors``
(the latest gold campaign on the same strata, else the window's calibrated scores); the plan
carries where it came from. Without any, 0.5, the worst case, so the plan is never too small.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING

from campaigns.errors import InvalidArgumentError
from campaigns.sampling.allocation import Allocation, allocate

if TYPE_CHECKING:
    from campaigns.sampling.priors import Priors

Z95 = 1.959963984540054


def stratified_margin(
    populations: Mapping[str, int],
    sizes: Mapping[str, int],
    priors: Mapping[str, float],
    *,
    domain: Set[str] | None = None,
    z: float = Z95,
) -> float:
    """Half-width of the confidence interval of the stratified estimate (over ``domain``)."""
    strata = [h for h in populations if domain is None or h in domain]
    total = sum(populations[h] for h in strata)
    variance = 0.0
    for h in strata:
        big, small = populations[h], sizes.get(h, 0)
        share = big / total
        p = priors[h]
        if small <= 0:
            if p * (1 - p) > 0:
                return math.inf  # a stratum with no unit cannot be estimated
            continue
        variance += share * share * p * (1 - p) / small * (1 - small / big)
    return z * math.sqrt(variance)


@dataclass(frozen=True)
class Plan:
    sample_size: int
    margin: float
    target_margin: float
    sizes: dict[str, int]
    populations: dict[str, int]
    priors: dict[str, float]
    prior_source: Priors | None = None
    """Where the priors came from (set by the service; None: as given to the planner)."""

    @property
    def reachable(self) -> bool:
        return self.margin <= self.target_margin


def plan_sample_size(
    populations: Mapping[str, int],
    priors: Mapping[str, float],
    target_margin: float,
    *,
    allocation: Allocation | str = Allocation.PROPORTIONAL,
    minimum: int = 2,
    domain: Set[str] | None = None,
    z: float = Z95,
) -> Plan:
    """Smallest total sample size whose design reaches ``target_margin`` (95% by default).

    ``domain`` restricts the estimate to some strata (e.g. those above the automatic-coding
    threshold); the other strata still get their allocation, which the total includes.
    """
    if not 0 < target_margin < 1:
        raise InvalidArgumentError(
            f"A margin of error of {target_margin} is not a proportion in (0, 1).",
            "Example: --margin 0.02 for +/- 2 points.",
        )
    populations = {h: int(v) for h, v in populations.items() if v > 0}
    if domain is not None and not (set(domain) & set(populations)):
        raise InvalidArgumentError("No traffic in the strata of the domain to estimate.")
    method = Allocation(allocation)
    sd = {h: math.sqrt(priors[h] * (1 - priors[h])) for h in populations}
    floor = sum(min(size, minimum) for size in populations.values())

    def sizes_for(n: int) -> dict[str, int]:
        return allocate(populations, n, method, minimum=minimum, sd=sd)

    def margin_for(n: int) -> float:
        return stratified_margin(populations, sizes_for(n), priors, domain=domain, z=z)

    low, high = max(1, floor), sum(populations.values())
    if margin_for(high) > target_margin:  # not even a census: only when the prior is unusual
        low = high
    while low < high:
        mid = (low + high) // 2
        if margin_for(mid) <= target_margin:
            high = mid
        else:
            low = mid + 1
    sizes = sizes_for(low)
    return Plan(
        sample_size=sum(sizes.values()),
        margin=margin_for(low),
        target_margin=target_margin,
        sizes=sizes,
        populations=populations,
        priors={h: priors[h] for h in populations},
    )
