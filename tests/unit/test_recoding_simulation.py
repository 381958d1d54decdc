"""Simulated transition campaigns with an oracle expert (seeded, under a minute).

Done when: across 200 simulated campaigns (a random batch, then two batches drawn by
uncertainty), the design-weighted split and accuracy estimates are unbiased (the naive
unweighted ones are not); and uncertainty-drawn batches reach the accuracy uniform batches
reach with fewer annotations.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from campaigns.recoding.simulation import (
    bias_study,
    learning_curves,
    simulated_transition,
    study_codes,
)
from nace_mapping import Correspondence, Nomenclature


@pytest.fixture(scope="module")
def sim():
    correspondence = Correspondence.builtin()
    new = Nomenclature.builtin("naf2025")
    titles = {c: new.title(c) or c for c in set(correspondence.pairs["new_code"])}
    codes = study_codes(correspondence, multivocal=10, univocal=40, seed=0)
    return simulated_transition(
        correspondence, titles, rows=12_000, seed=3, old_codes=codes, multivocal_share=0.3
    )


def test_estimates_stay_unbiased_over_200_simulated_campaigns(sim):
    start = time.perf_counter()
    study = bias_study(sim, rounds=200, batch_sizes=(120, 100, 100), seed=0)
    elapsed = time.perf_counter() - start
    print("", *study.lines(), f"({elapsed:.1f} s)", sep="\n")
    # Split: every (old code, new code) share's mean estimate within 3.5 Monte Carlo standard
    # errors of the truth (24 shares: a 3.5 s.e. excursion has probability ~1% overall).
    assert np.abs(study.z("ht")).max() < 3.5
    # ... while ignoring the design is visibly biased (uncertain rows over-represented).
    assert (np.abs(study.z("naive")) > 3.5).sum() >= 5
    # The fixed model's accuracy: unbiased, intervals cover ~95%; naive is far off.
    assert abs(study.accuracy_z(study.accuracy)) < 3.5
    assert abs(study.accuracy_z(study.accuracy_naive)) > 10
    assert 0.9 <= study.covered.mean() <= 0.99


def test_uncertainty_batches_need_fewer_annotations_than_uniform_ones(sim):
    start = time.perf_counter()
    curves = learning_curves(sim, batch=60, batches=5, seeds=(0, 1))
    elapsed = time.perf_counter() - start
    print("", *curves.lines(), f"({elapsed:.1f} s)", sep="\n")
    _target, uniform, active = curves.savings()
    assert uniform == pytest.approx(300)  # the uniform design reaches its own final accuracy
    assert active < uniform
    assert curves.active.mean(axis=0)[-1] >= curves.uniform.mean(axis=0)[-1]
