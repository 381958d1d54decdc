"""Uncertainty-proportional batches: proposal with a floor, capped pi, systematic pi-ps."""

from __future__ import annotations

import numpy as np
import pytest

from campaigns.recoding.active_batches import (
    draw_batch,
    inclusion_probabilities,
    proposal,
    systematic_sample,
)


def test_the_floor_keeps_every_row_drawable():
    u = np.array([0.0, 0.0, 0.5, 1.0])
    q = proposal(u, floor=0.2)
    assert q.sum() == pytest.approx(1.0)
    assert q.min() == pytest.approx(0.2 / 4)
    assert q[3] == pytest.approx(0.8 * 1 / 1.5 + 0.05)
    assert proposal(np.zeros(3), 0.2) == pytest.approx(np.full(3, 1 / 3))
    with pytest.raises(ValueError):
        proposal(u, floor=0.0)


def test_inclusion_probabilities_sum_to_the_size_and_are_capped():
    q = proposal(np.array([50.0, 1, 1, 1, 1, 1, 1, 1, 1, 1]), 0.1)
    pi = inclusion_probabilities(q, 4)
    assert pi.sum() == pytest.approx(4.0)
    assert pi.max() == 1.0 and pi[0] == 1.0
    assert np.all(pi[1:] == pytest.approx(pi[1]))
    assert inclusion_probabilities(q, 20) == pytest.approx(np.ones(10))


def test_systematic_sampling_draws_exactly_n_rows_with_the_given_probabilities():
    rng = np.random.default_rng(5)
    u = rng.beta(0.5, 2.0, size=30)
    pi = inclusion_probabilities(proposal(u, 0.2), 6)
    counts = np.zeros(30)
    draws = 4000
    for seed in range(draws):
        chosen = systematic_sample(pi, np.random.default_rng(seed))
        assert chosen.size == 6 and np.unique(chosen).size == 6
        counts[chosen] += 1
    se = np.sqrt(pi * (1 - pi) / draws)
    z = np.abs(counts / draws - pi) / np.where(se > 0, se, 1)
    assert z.max() < 4.5


def test_draw_batch_is_reproducible():
    u = np.linspace(0, 1, 50)
    a, pi_a = draw_batch(u, 10, floor=0.3, seed=7)
    b, pi_b = draw_batch(u, 10, floor=0.3, seed=7)
    assert np.array_equal(a, b) and np.array_equal(pi_a, pi_b)
    assert pi_a.min() >= 10 * 0.3 / 50 - 1e-12
