"""How many units each stratum gets: proportional, equal, fixed or Neyman allocation.

Pure arithmetic on stratum sizes. Every method honours two bounds per stratum: at least
``minimum`` units (two are needed to estimate a stratum's variance) and at most the stratum's
population. Between the bounds the sample follows the method's shares by "water-filling": the
shares are scaled by one factor chosen so the clipped sizes add up to ``n``, then rounded by
largest remainder, so the total is exactly ``n`` whenever the bounds allow it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum

from campaigns.errors import InvalidArgumentError


class Allocation(StrEnum):
    PROPORTIONAL = "proportional"
    EQUAL = "equal"
    FIXED = "fixed"
    NEYMAN = "neyman"


def _shares(
    populations: Mapping[str, int], method: Allocation, sd: Mapping[str, float] | None
) -> dict[str, float]:
    if method is Allocation.PROPORTIONAL:
        return {h: float(size) for h, size in populations.items()}
    if method is Allocation.EQUAL:
        return {h: 1.0 for h in populations}
    if method is Allocation.NEYMAN:
        if sd is None:
            raise InvalidArgumentError(
                "Neyman allocation needs a prior standard deviation per stratum.",
                "Plan or sample through 'campaigns plan' / 'campaigns sample', which find "
                "priors (latest gold campaign, else the traffic's scores), or give "
                "--prior-accuracy (one value, or one per confidence bin).",
            )
        return {h: size * float(sd[h]) for h, size in populations.items()}
    raise ValueError(f"no shares for {method}")


def _water_fill(
    shares: Mapping[str, float], low: Mapping[str, int], high: Mapping[str, int], n: int
) -> dict[str, int]:
    """Integer sizes within [low, high], following ``shares``, adding up to ``n``."""

    def sizes(factor: float) -> dict[str, float]:
        return {h: min(high[h], max(low[h], factor * shares[h])) for h in shares}

    lo, hi = 0.0, 1.0
    while sum(sizes(hi).values()) < n and hi < 1e18:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if sum(sizes(mid).values()) < n:
            lo = mid
        else:
            hi = mid
    exact = sizes(hi)
    whole = {h: math.floor(x) for h, x in exact.items()}
    left = n - sum(whole.values())
    # Largest remainder first; ties broken by stratum name so the result is reproducible.
    order = sorted(exact, key=lambda h: (-(exact[h] - whole[h]), h))
    for h in order:
        if left <= 0:
            break
        if whole[h] < high[h]:
            whole[h] += 1
            left -= 1
    return whole


def allocate(
    populations: Mapping[str, int],
    n: int,
    method: Allocation | str = Allocation.PROPORTIONAL,
    *,
    minimum: int = 2,
    fixed: Mapping[str, int] | None = None,
    sd: Mapping[str, float] | None = None,
) -> dict[str, int]:
    """Sample size per stratum.

    ``populations`` maps each stratum to its number of units. ``fixed`` gives the sizes for the
    fixed method (strata it omits get ``minimum``); ``sd`` gives the prior standard deviation of
    the studied variable per stratum for Neyman (``sqrt(p(1-p))`` for an error rate ``p``).
    If ``n`` is at least the whole population, every unit is taken.
    """
    method = Allocation(method)
    populations = {h: int(size) for h, size in populations.items() if size > 0}
    if not populations:
        return {}
    low = {h: min(size, max(0, minimum)) for h, size in populations.items()}
    if method is Allocation.FIXED:
        if fixed is None:
            raise InvalidArgumentError(
                "Fixed allocation needs a size per stratum.",
                "Give --fixed 'stratum=size,...' (see 'campaigns plan' for the strata).",
            )
        unknown = sorted(set(fixed) - set(populations))
        if unknown:
            raise InvalidArgumentError(
                f"Fixed sizes name strata that have no traffic: {', '.join(unknown)}.",
                f"Known strata: {', '.join(sorted(populations))}.",
            )
        return {h: min(size, max(low[h], int(fixed.get(h, 0)))) for h, size in populations.items()}
    total = sum(populations.values())
    if n >= total:
        return dict(populations)
    if sum(low.values()) > n:
        raise InvalidArgumentError(
            f"A sample of {n} cannot give {minimum} units to each of {len(populations)} strata.",
            f"Ask for at least {sum(low.values())} units, lower the minimum per stratum, "
            "or use fewer strata (coarser confidence bins, no section crossing).",
        )
    shares = _shares(populations, method, sd)
    if sum(shares.values()) <= 0:  # e.g. Neyman with a prior of no error anywhere
        shares = _shares(populations, Allocation.PROPORTIONAL, None)
    return _water_fill(shares, low, populations, n)
