"""The next annotation batch: rows drawn with probability proportional to the model's doubt.

Why. Experts' time is best spent where the model is unsure: rows it already gets right teach
it little and measure it poorly. Drawing rows with probability proportional to the expected
loss ``1 - P(top candidate right)`` is the proposal that minimises the variance of the
importance-weighted accuracy estimate (Kossen et al., "Active Testing", ICML 2021), and it
feeds the model the rows it needs. Unlike plain uncertainty sampling it keeps the design a
probability sample: every row has a known, positive inclusion probability, so the estimates
of ``estimation`` stay unbiased.

Method.

1. Proposal: ``q_i = (1 - floor) * u_i / sum(u) + floor / N`` over the ``N`` rows not drawn
   yet, ``u_i`` = 1 - calibrated confidence. The defensive mixture (Hesterberg 1995) keeps
   ``q_i >= floor / N``: a row the model is wrongly sure about can still be drawn, and its
   weight stays bounded by ``N / (n floor)`` (no exploding importance weights).
2. Inclusion probabilities ``pi_i = n q_i``, capped at 1: rows above 1 are taken for sure
   and the rest rescaled to the remaining size, until none exceeds 1 (the usual pi-ps
   capping).
3. Draw: systematic pi-ps sampling on a seeded random order (Madow 1949; Hartley & Rao
   1962): cumulate the ``pi_i`` along a random permutation, take a uniform start ``u`` and
   select the rows whose cumulated interval contains ``u, u+1, ..., u+n-1``. Exactly ``n``
   rows, exactly the inclusion probabilities ``pi_i``, one vectorised pass.
"""

from __future__ import annotations

import numpy as np

from campaigns.recoding.options import DEFAULT_FLOOR


def proposal(uncertainty: np.ndarray, floor: float = DEFAULT_FLOOR) -> np.ndarray:
    """Defensive mixture ``(1 - floor) * u / sum(u) + floor / N`` (sums to 1)."""
    u = np.clip(np.asarray(uncertainty, dtype=np.float64), 0.0, None)
    n = u.size
    if n == 0:
        return u
    if not 0.0 < floor <= 1.0:
        raise ValueError("the floor is a share in (0, 1]")
    total = u.sum()
    if total <= 0:
        return np.full(n, 1.0 / n)
    return (1.0 - floor) * u / total + floor / n


def inclusion_probabilities(q: np.ndarray, size: int) -> np.ndarray:
    """``pi = size * q`` capped at 1, the excess spread over the rows below 1.

    Sums to ``min(size, len(q))``; rows at 1 are certain.
    """
    q = np.asarray(q, dtype=np.float64)
    n = q.size
    if size >= n:
        return np.ones(n)
    pi = np.zeros(n)
    certain = np.zeros(n, dtype=bool)
    while True:
        rest = size - certain.sum()
        mass = q[~certain].sum()
        pi[~certain] = rest * q[~certain] / mass
        over = (~certain) & (pi >= 1.0)
        if not over.any():
            break
        certain |= over
        pi[certain] = 1.0
    return np.clip(pi, 0.0, 1.0)


def systematic_sample(pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices drawn by randomised systematic pi-ps sampling (inclusion probabilities ``pi``).

    ``sum(pi)`` must be (close to) an integer ``n``: exactly ``n`` indices come back, sorted.
    """
    pi = np.asarray(pi, dtype=np.float64)
    if pi.size == 0:
        return np.array([], dtype=np.int64)
    n = round(pi.sum())
    order = rng.permutation(pi.size)
    cumulated = np.cumsum(pi[order])
    cumulated *= n / cumulated[-1]  # absorb rounding: the last boundary is exactly n
    points = rng.random() + np.arange(n)
    chosen = np.searchsorted(cumulated, points, side="right")
    return np.sort(order[np.minimum(chosen, pi.size - 1)])


def draw_batch(
    uncertainty: np.ndarray, size: int, *, floor: float = DEFAULT_FLOOR, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(indices drawn, inclusion probability of every row)`` for a batch of ``size``."""
    pi = inclusion_probabilities(proposal(uncertainty, floor), size)
    chosen = systematic_sample(pi, np.random.default_rng(seed))
    return chosen, pi
