"""Champion / challenger on the same gold standard: each model's figures and their paired
difference, with an interval and a verdict.

Figures, for each model (design-weighted ratio estimators over the gold sample, the same
definitions as ``campaigns metrics``): accuracy at every nomenclature level, top-k accuracy,
the automatic-coding rate at the threshold (each model's own confidence index), the accuracy
of what it would code automatically, and system accuracy.

Method. Both models are scored on the same units, so their figures are paired: the
difference ``d = R_challenger - R_champion`` of two ratio estimators is far more precise than
two separate intervals suggest (most units are right, or wrong, for both). Its interval is a
paired stratified bootstrap: one Rao-Wu resampling of the gold units
(``campaigns.metrics.bootstrap.stratified_bootstrap``) feeds both models' statistics in one
call, so each replicate of ``d`` compares the two models on the same resampled units. When the
two ratios share their denominator (every figure but the accuracy of what each model codes
automatically), ``d = sum w (y_ch - y_cp) / sum w den`` is bootstrapped as one ratio, exactly
the difference replicate by replicate, at the cost of one column instead of two.
Percentile 95% interval; the challenger is called better (worse) when the whole interval is
above (below) 0. Chosen over McNemar's test because it keeps the design (strata, unequal
weights, finite population correction) and gives an interval in accuracy points, not only a
p-value; the discordant pairs McNemar reads are reported beside it (for subclass accuracy,
``d`` is exactly the weighted share of units only the challenger gets right minus the share
only the champion gets right). Each model's own figures take the interval every headline
proportion takes (``proportion_intervals``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from campaigns.metrics.bootstrap import stratified_bootstrap
from campaigns.metrics.intervals import proportion_intervals

CHAMPION, CHALLENGER = "champion", "challenger"
MODELS = (CHAMPION, CHALLENGER)
LEVELS = ("section", "division", "group", "class", "subclass")
FIGURES = (
    *(f"accuracy_{level}" for level in LEVELS),
    *(f"top_{k}_accuracy" for k in range(2, 6)),
    "auto_coding_rate",
    "accuracy_auto_coded",
    "system_accuracy",
)
"""Per model; ``accuracy_subclass`` is the accuracy, ``top_1`` would repeat it."""
_PREFIX = {"division": 2, "group": 4, "class": 5}


@dataclass
class Comparison:
    """Both models' figures, their paired differences and the discordant units."""

    summary: dict[str, Any]
    figures: pa.Table
    """figure, model (champion/challenger/difference), estimate, ci_low, ci_high, n, method."""
    discordant: pa.Table
    """Coded units exactly one model gets right (subclass): who, the codes, the weight."""


def _column(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).combine_chunks()


def _equal(a: pa.Array, b: pa.Array) -> np.ndarray:
    """Element-wise equality as booleans, null (a missing code) never equal."""
    return pc.fill_null(pc.equal(a, b), False).to_numpy(zero_copy_only=False)


def _offsets(codes: pa.ListArray) -> np.ndarray:
    """Start of each row's list in ``list_flatten(codes)``."""
    offsets = np.asarray(codes.offsets, dtype=np.int64)
    return offsets[:-1] - offsets[0] if len(offsets) else np.zeros(0, np.int64)


def _first(codes: pa.ListArray) -> pa.Array:
    """Each row's first code (null for an empty or missing list)."""
    lengths = pc.fill_null(pc.list_value_length(codes), 0).to_numpy(zero_copy_only=False)
    index = pa.array(_offsets(codes), mask=lengths == 0)
    return pc.list_flatten(codes).take(index)


def _rank_of(codes: pa.ListArray, gold: pa.Array) -> np.ndarray:
    """Per row, the 0-based rank of the gold code in the row's list of codes (99: absent)."""
    flat = pc.list_flatten(codes)
    parent = pc.list_parent_indices(codes).to_numpy(zero_copy_only=False)
    position = np.arange(len(flat)) - _offsets(codes)[parent]
    # Codes as integers (their index among the gold codes; -1: not a gold code), so each list
    # entry is compared with its row's gold code by a numpy gather, not a string copy.
    known = pc.unique(gold.drop_null())
    entries = pc.fill_null(pc.index_in(flat, value_set=known), -1).to_numpy(zero_copy_only=False)
    truth = pc.fill_null(pc.index_in(gold, value_set=known), -2).to_numpy(zero_copy_only=False)
    hit = entries == truth[parent]
    rows, ranks = parent[hit], position[hit]
    # Flattened values run row by row in rank order: a row's first hit is its best rank.
    first = np.ones(rows.size, dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    rank = np.full(len(codes), 99, dtype=np.int64)
    rank[rows[first]] = ranks[first]
    return rank


def model_indicators(
    gold: pa.Table, challenger: pa.Table | None, threshold: float, levels: pa.Table | None
) -> tuple[dict[str, np.ndarray], pa.Table]:
    """Per gold row (in order): each model's 0/1 indicators, weight, stratum, fraction.

    Also the discordant units. Vectorised with Arrow and numpy: the challenger is aligned to
    the gold rows by a hash lookup of request ids (``index_in``), codes' sections by another
    into ``levels``. Without a challenger, the champion's alone (what scoring one model costs;
    no discordant units).
    """
    n = gold.num_rows
    status = _column(gold, "status")
    coded = _equal(status, pa.scalar("coded"))
    usable = pc.fill_null(pc.not_equal(status, "skipped"), False).to_numpy(zero_copy_only=False)
    truth = _column(gold, "gold_code").cast(pa.string())
    sources: dict[str, tuple[pa.Array, pa.Array, pa.Array]] = {
        CHAMPION: (
            _column(gold, "predicted_code").cast(pa.string()),
            _column(gold, "predicted_codes"),
            _column(gold, "confidence").cast(pa.float64()),
        )
    }
    has_challenger = np.zeros(n, dtype=bool)
    if challenger is not None:
        gold_ids = _column(gold, "request_id").cast(pa.string())
        challenger_ids = _column(challenger, "request_id")
        if gold_ids.equals(challenger_ids):  # in the gold's order (a classifier's answers)
            where = pa.array(np.arange(n, dtype=np.int32))
        else:  # any order: a hash lookup of request ids
            where = pc.index_in(gold_ids, value_set=challenger_ids)
        has_challenger = pc.is_valid(where).to_numpy(zero_copy_only=False)
        codes = _column(challenger, "predicted_codes").take(where)
        sources[CHALLENGER] = (
            _first(codes),
            codes,
            _column(challenger, "confidence").take(where),
        )
    section_of = None
    if levels is not None:
        subclasses = _column(levels, "subclass")
        sections = _column(levels, "section")

        def section_of(codes: pa.Array) -> pa.Array:
            return sections.take(pc.index_in(codes, value_set=subclasses))

        gold_section = section_of(truth)
    x: dict[str, np.ndarray] = {
        "coded": coded.astype(np.uint8),
        "usable": usable.astype(np.uint8),
        "has_challenger": has_challenger,
        "weight": _column(gold, "weight").cast(pa.float64()).to_numpy(zero_copy_only=False),
        "stratum": (
            _column(gold, "stratum").cast(pa.string()).to_numpy(zero_copy_only=False)
            if "stratum" in gold.column_names
            else np.full(n, "all", dtype=object)
        ),
    }
    if {"stratum_sample_size", "stratum_population"} <= set(gold.column_names):
        size = (
            _column(gold, "stratum_sample_size").cast(pa.float64()).to_numpy(zero_copy_only=False)
        )
        population = (
            _column(gold, "stratum_population").cast(pa.float64()).to_numpy(zero_copy_only=False)
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            x["fraction"] = np.nan_to_num(size / population)
    else:
        x["fraction"] = np.zeros(n)
    for model, (code, codes, confidence) in sources.items():
        right = _equal(code, truth) & coded
        if section_of is not None:
            x[f"{model}_section"] = (_equal(section_of(code), gold_section) & coded).astype(
                np.uint8
            )
        for level, k in _PREFIX.items():
            same = _equal(pc.utf8_slice_codeunits(code, 0, k), pc.utf8_slice_codeunits(truth, 0, k))
            x[f"{model}_{level}"] = (same & coded).astype(np.uint8)
        x[f"{model}_subclass"] = right.astype(np.uint8)
        rank = _rank_of(codes, truth)
        for k in range(2, 6):
            x[f"{model}_top_{k}"] = ((rank < k) & coded).astype(np.uint8)
        auto = pc.fill_null(pc.greater_equal(confidence, float(threshold)), False).to_numpy(
            zero_copy_only=False
        )
        x[f"{model}_usable_auto"] = (usable & auto).astype(np.uint8)
        x[f"{model}_coded_auto"] = (coded & auto).astype(np.uint8)
        x[f"{model}_correct_auto"] = (right & auto).astype(np.uint8)
        x[f"{model}_system_ok"] = (coded & (~auto | right)).astype(np.uint8)
    if challenger is None:
        return x, pa.table({})
    champion_right = x[f"{CHAMPION}_subclass"].astype(bool)
    rows = pa.array(np.flatnonzero(champion_right != x[f"{CHALLENGER}_subclass"].astype(bool)))
    text = _column(gold, "text") if "text" in gold.column_names else pa.nulls(n, pa.string())
    discordant = pa.table(
        {
            "request_id": _column(gold, "request_id").take(rows),
            "text": text.take(rows),
            "gold_code": truth.take(rows),
            "champion_code": sources[CHAMPION][0].take(rows),
            "challenger_code": sources[CHALLENGER][0].take(rows),
            "right_model": pa.array(
                np.where(champion_right[rows.to_numpy()], CHAMPION, CHALLENGER), pa.string()
            ),
            "weight": pa.array(x["weight"][rows.to_numpy()], pa.float64()),
            "stratum": pa.array(
                np.asarray(x["stratum"], dtype=object)[rows.to_numpy()], pa.string()
            ),
        }
    )
    return x, discordant


def model_statistics(
    x: dict[str, np.ndarray], model: str
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """figure -> (numerator, denominator) per unit, for one model's columns."""
    coded, usable = x["coded"], x["usable"]
    stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for level in LEVELS:
        if f"{model}_{level}" in x:
            stats[f"accuracy_{level}"] = (x[f"{model}_{level}"], coded)
    for k in range(2, 6):
        stats[f"top_{k}_accuracy"] = (x[f"{model}_top_{k}"], coded)
    stats["auto_coding_rate"] = (x[f"{model}_usable_auto"], usable)
    stats["accuracy_auto_coded"] = (x[f"{model}_correct_auto"], x[f"{model}_coded_auto"])
    stats["system_accuracy"] = (x[f"{model}_system_ok"], coded)
    return stats


def _paired_differences(
    per_model: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]],
    names: list[str],
    weights: np.ndarray,
    strata: np.ndarray,
    fractions: np.ndarray,
    *,
    replicates: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Replicates ``(R, k)`` and estimates ``(k,)`` of challenger - champion, per figure.

    One stratified bootstrap of every figure. Where both models share the figure's domain
    (accuracies and top-k over coded units, the automatic-coding rate over usable ones), the
    difference of the two ratios is one ratio, ``sum w (y_ch - y_cp) / sum w d``: one column
    with values in {-1, 0, 1} instead of two, exactly the same replicate by replicate, and
    far fewer distinct unit rows for the bootstrap to draw over. A figure whose domain
    differs (accuracy of what each model codes automatically) keeps both ratios.
    """
    num, den, slots = [], [], []
    for f in names:
        (y_cp, d_cp), (y_ch, d_ch) = per_model[CHAMPION][f], per_model[CHALLENGER][f]
        if np.array_equal(d_cp, d_ch):
            slots.append((len(num), None))
            num.append(y_ch.astype(np.int8) - y_cp.astype(np.int8))
            den.append(d_cp)
        else:
            slots.append((len(num), len(num) + 1))
            num += [y_cp, y_ch]
            den += [d_cp, d_ch]
    boot = stratified_bootstrap(
        np.column_stack(num),
        np.column_stack(den),
        weights,
        strata,
        replicates=replicates,
        seed=seed,
        sampling_fractions=fractions,
    )
    diffs = np.empty((replicates, len(names)))
    estimate = np.empty(len(names))
    for j, (first, second) in enumerate(slots):
        if second is None:
            diffs[:, j], estimate[j] = boot.replicates[:, first], boot.estimate[first]
        else:
            diffs[:, j] = boot.replicates[:, second] - boot.replicates[:, first]
            estimate[j] = boot.estimate[second] - boot.estimate[first]
    return diffs, estimate


def verdict(low: float, high: float) -> str:
    """Which model the interval of ``challenger - champion`` favours, if any."""
    if math.isnan(low) or math.isnan(high):
        return "undetermined"
    if low > 0:
        return "challenger better"
    if high < 0:
        return "champion better"
    return "no significant difference"


def compare_models(
    gold: pa.Table,
    challenger: pa.Table,
    *,
    threshold: float,
    levels: pa.Table | None = None,
    replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    champion_census: tuple[float, int] | None = None,
) -> Comparison:
    """Both models' figures on ``gold`` and the paired differences (challenger - champion).

    ``gold`` is a gold table (status, gold_code, predicted_code(s), confidence, weight and the
    design columns); ``challenger`` a predictions table (:func:`predictions_from_table`).
    Units with no challenger prediction count as wrong and not auto-coded for it.
    ``champion_census`` (rate, requests): the champion's automatic-coding rate counted on the
    whole window's traffic, as ``campaigns metrics`` reports it; the champion's figure is then
    that census (zero width, method ``census``), not an estimate from the gold sample. The
    paired difference stays the one measured on the same gold units.
    """
    x, discordant = model_indicators(gold, challenger, threshold, levels)
    per_model = {m: model_statistics(x, m) for m in MODELS}
    names = list(per_model[CHAMPION])
    columns = [(m, f) for m in MODELS for f in names]
    weights = np.asarray(x["weight"], np.float64)
    # Strata as integer codes, hashed once here rather than in each of the three calls below.
    strata = pd.factorize(np.asarray(x["stratum"], dtype=object), use_na_sentinel=False)[0]
    fractions = np.clip(np.nan_to_num(np.asarray(x["fraction"], np.float64)), 0.0, 1.0)
    # Each model's own intervals, one call per model: they need nothing joint, and two calls
    # of k figures keep the (units x k) working arrays half the size of one call of 2k.
    own = {
        f"{m}|{f}": figure
        for m in MODELS
        for f, figure in proportion_intervals(
            per_model[m],
            weights,
            strata,
            replicates=replicates,
            seed=seed,
            level=level,
            sampling_fractions=fractions,
        ).items()
    }
    diffs, boot_estimate = _paired_differences(
        per_model, names, weights, strata, fractions, replicates=replicates, seed=seed
    )
    paired_n = {f: int(own[f"{CHAMPION}|{f}"]["n"]) for f in names}  # the gold units compared
    if champion_census is not None and f"{CHAMPION}|auto_coding_rate" in own:
        rate, requests = champion_census
        own[f"{CHAMPION}|auto_coding_rate"] = {
            "estimate": float(rate),
            "ci_low": float(rate),
            "ci_high": float(rate),
            "n": int(requests),
            "method": "census",
        }
    alpha = (1.0 - level) / 2.0
    rows: list[dict[str, Any]] = []
    for m, f in columns:
        figure = own[f"{m}|{f}"]
        rows.append({"figure": f, "model": m, **figure, "se": math.nan, "verdict": None})
    differences: dict[str, dict[str, Any]] = {}
    for j, f in enumerate(names):
        estimate = float(boot_estimate[j])
        d = diffs[:, j][np.isfinite(diffs[:, j])]
        low, high = (
            (float(np.quantile(d, alpha)), float(np.quantile(d, 1.0 - alpha)))
            if d.size >= 2 and math.isfinite(estimate)
            else (math.nan, math.nan)
        )
        entry = {
            "estimate": estimate,
            "ci_low": low,
            "ci_high": high,
            "n": paired_n[f],
            "method": "paired bootstrap",
            "se": float(d.std(ddof=1)) if d.size >= 2 else math.nan,
            "verdict": verdict(low, high),
        }
        differences[f] = entry
        rows.append({"figure": f, "model": "difference", **entry})
    figures = pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [
                ("figure", pa.string()),
                ("model", pa.string()),
                ("estimate", pa.float64()),
                ("ci_low", pa.float64()),
                ("ci_high", pa.float64()),
                ("n", pa.int64()),
                ("method", pa.string()),
                ("se", pa.float64()),
                ("verdict", pa.string()),
            ]
        ),
    )
    coded = x["coded"].astype(bool)
    total = float(weights[coded].sum()) or math.nan
    right = discordant.column("right_model").to_numpy(zero_copy_only=False)
    w_disc = discordant.column("weight").to_numpy(zero_copy_only=False)
    summary: dict[str, Any] = {
        "threshold": threshold,
        "units": gold.num_rows,
        "coded": int(coded.sum()),
        "challenger_missing": int((~x["has_challenger"].astype(bool)).sum()),
        "figures": {
            m: {f: {k2: v for k2, v in own[f"{m}|{f}"].items()} for f in names} for m in MODELS
        },
        "differences": differences,
        "discordant": {
            "champion_only": int((right == CHAMPION).sum()),
            "challenger_only": int((right == CHALLENGER).sum()),
            "champion_only_share": float(w_disc[right == CHAMPION].sum()) / total,
            "challenger_only_share": float(w_disc[right == CHALLENGER].sum()) / total,
        },
        "verdict": differences["accuracy_subclass"]["verdict"],
        "replicates": replicates,
        "level": level,
    }
    return Comparison(summary=summary, figures=figures, discordant=discordant)
