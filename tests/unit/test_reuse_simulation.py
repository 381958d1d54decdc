"""Reuse of earlier gold on traffic whose texts are ambiguous at a known rate, over many seeds.

The population: 3,000 texts with Zipf-like frequencies (about 9,000 requests), each request in
one of three contexts (two JSON objects, written with their keys in either order, and no
context, null or ``{}``). 20% of the texts are ambiguous: their true code depends on the
context, as "DE" or "FABRICATION" do. The model sees the context and is right 85% of the
time. Each run draws an earlier campaign of 1,500 requests, coded by experts, then a sample
of 400 whose units reuse the earlier gold through :func:`mark_reused`; the experts are taken
as the truth, so the difference between the accuracy read with reuse and with every unit
annotated is reuse's own error.

Bias tolerance: a tenth of the 95% interval's mean half-width (about 0.0035 here). A bias
that small moves the interval by a twentieth of a standard error, which leaves its coverage
within 0.1 point of 95%. Keyed by text alone, latest campaign first (the rule before the
context and unanimity), the same runs are biased by about -0.09, nearly three half-widths.

Where a text's code is not determined even by its context, no key can tell: with the same
rates, reuse then leans the accuracy by about -0.027 (three quarters of a half-width; -0.07
with the rule before). The second test shows the check units measure how often reuse is then
wrong, on the units that reused.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyarrow as pa

from campaigns.duck import connect, fetch_arrow
from campaigns.sampling.reuse import mark_reused

RUNS = 150
EARLIER, SAMPLE, TEXTS, CODES = 1500, 400, 3000, 700
CONTEXTS = (
    ('{"cj":"5499","activ_nat_et":"14"}', '{"activ_nat_et":"14","cj":"5499"}'),
    ('{"cj":"1000","activ_nat_et":"10"}', '{"activ_nat_et":"10","cj":"1000"}'),
    (None, "{}"),
)


@cache
def population(undetermined: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Text, context, true code and predicted code of every request.

    ``undetermined``: the ambiguous texts' code is drawn per request between two codes,
    whatever the context; otherwise it is the context's.
    """
    rng = np.random.default_rng(24)
    text = np.repeat(np.arange(TEXTS), np.minimum(rng.zipf(1.6, TEXTS), 200))
    n = text.size
    context_id = rng.integers(0, 3, n)
    spelling = rng.integers(0, 2, n)
    ambiguous = rng.random(TEXTS) < 0.2
    codes = rng.integers(0, CODES, (TEXTS, 3))
    which = rng.integers(0, 2, n) if undetermined else context_id
    true = codes[text, np.where(ambiguous[text], which, 0)]
    predicted = np.where(rng.random(n) < 0.85, true, (true + 1) % CODES)
    context = np.array([CONTEXTS[c][s] for c, s in zip(context_id, spelling, strict=True)])
    return text.astype(str), context, true.astype(str), predicted.astype(str)


def _tables(seed: int, undetermined: bool) -> tuple[pa.Table, pa.Table, np.ndarray, np.ndarray]:
    text, context, true, predicted = population(undetermined)
    rng = np.random.default_rng([seed, 24])
    first = rng.choice(text.size, EARLIER, replace=False)
    second = rng.choice(text.size, SAMPLE, replace=False)
    earlier = pa.table(
        {
            "text_norm": text[first],
            "context": pa.array(context[first].tolist(), pa.string()),
            "reused_gold_code": true[first],
            "reused_status": ["coded"] * EARLIER,
            "reused_from_campaign": rng.integers(1, 4, EARLIER),
        }
    )
    sample = pa.table(
        {
            "request_id": second.astype(str),
            "text_norm": text[second],
            "context": pa.array(context[second].tolist(), pa.string()),
        }
    )
    return sample, earlier, true[second], predicted[second]


def _text_only_latest(sample: pa.Table, earlier: pa.Table) -> pa.Table:
    """The rule before: keyed by text alone, the latest campaign's label, ties by code."""
    with connect() as con:
        con.register("s", sample)
        con.register("e", earlier)
        return fetch_arrow(
            con,
            """WITH l AS (SELECT * FROM e QUALIFY row_number() OVER (PARTITION BY text_norm
                              ORDER BY reused_from_campaign DESC, reused_gold_code) = 1),
                    u AS (SELECT *, row_number() OVER () AS r FROM s)
               SELECT CASE WHEN l.text_norm IS NULL THEN 'new' ELSE 'reused' END
                          AS gold_provenance, l.reused_gold_code
               FROM u LEFT JOIN l USING (text_norm) ORDER BY u.r""",
        )


def _accuracy_with(marked: pa.Table, true: np.ndarray, predicted: np.ndarray) -> float:
    reused = np.asarray(marked["gold_provenance"].to_pylist()) == "reused"
    gold = np.where(reused, np.asarray(marked["reused_gold_code"].to_pylist(), object), true)
    return float(np.mean(predicted == gold))


def test_reuse_keyed_by_text_and_context_stays_within_the_bias_tolerance():
    differences, before, half_widths = [], [], []
    for seed in range(RUNS):
        sample, earlier, true, predicted = _tables(seed, undetermined=False)
        full = float(np.mean(predicted == true))
        marked = mark_reused(sample, earlier, seed=seed)
        differences.append(_accuracy_with(marked, true, predicted) - full)
        before.append(_accuracy_with(_text_only_latest(sample, earlier), true, predicted) - full)
        half_widths.append(1.96 * np.sqrt(full * (1 - full) / SAMPLE))
        if seed == 0:  # the runs do reuse, and the ambiguous texts were drawn
            provenance = marked["gold_provenance"].to_pylist()
            assert provenance.count("reused") > 50 and provenance.count("check") >= 5
    tolerance = 0.1 * float(np.mean(half_widths))
    bias, bias_before = float(np.mean(differences)), float(np.mean(before))
    print(f"\nbias {bias:+.4f}, before {bias_before:+.4f}, tolerance {tolerance:.4f}")
    assert abs(bias) <= tolerance
    assert abs(bias_before) > 2 * tolerance


def test_where_the_context_does_not_decide_the_check_units_measure_reuse():
    checked_agree, reused_agree = [], []
    for seed in range(RUNS // 2):
        sample, earlier, true, _ = _tables(seed, undetermined=True)
        marked = mark_reused(sample, earlier, seed=seed)
        provenance = np.asarray(marked["gold_provenance"].to_pylist())
        label = np.asarray(marked["reused_gold_code"].to_pylist(), object)
        agrees = label == true  # the experts' fresh code is the truth here
        checked_agree.extend(agrees[provenance == "check"])
        reused_agree.extend(agrees[provenance == "reused"])
    checked, reused = float(np.mean(checked_agree)), float(np.mean(reused_agree))
    se = np.sqrt(checked * (1 - checked) / len(checked_agree))
    print(f"\nagreement: checked {checked:.3f} on {len(checked_agree)}, reused {reused:.3f}")
    assert reused < 0.99  # reuse is wrong at times, and the check sees it:
    assert abs(checked - reused) <= 3 * se
