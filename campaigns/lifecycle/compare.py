"""Champion / challenger: two models scored on the same gold standard, and their difference.

The champion is the production model whose predictions the traffic logs hold (and the gold
table carries); the challenger's predictions come from a Parquet table keyed by request id,
or from a classifier serving the production API's batch contract (InseeFrLab/codif-ape-API,
``POST /batch/predict``): a body ``{"forms": [SingleForm, ...]}`` in, one object per form out,
``{"1": {"code", "probabilite", "libelle"}, ..., "k": ..., "IC": float, "MLversion": str}``.
The gold texts are posted in batches (the HTTP transport is the caller's, see
``services/cli/model_quality.py``; failed batches are retried with backoff here).

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

Gold made with the champion's suggestions shown is biased toward the champion (experts
anchor on the answer they see): a ``randomized`` campaign is compared on its blind arm only,
and a ``preselected`` or ``shown`` campaign's result carries a warning.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session
from tenacity import (
    RetryError,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from campaigns.config import Settings
from campaigns.errors import (
    EmptySelectionError,
    InputFormatError,
    InvalidArgumentError,
    ServiceUnavailableError,
)
from campaigns.labelstudio.regions import canonical
from campaigns.lifecycle.export import latest_annotations, latest_gold
from campaigns.metrics.anchoring import BLIND, with_arms
from campaigns.metrics.bootstrap import proportion_intervals, stratified_bootstrap
from campaigns.metrics.gold_metrics import reweight_to_annotated
from campaigns.nomenclatures import old_nomenclature
from campaigns.state.models import Campaign, CampaignKind, SuggestionMode
from campaigns.storage import Storage

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
PREDICTIONS_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("predicted_codes", pa.list_(pa.string())),
        ("scores", pa.list_(pa.float64())),
        ("confidence", pa.float64()),
        ("model_version", pa.string()),
    ]
)

# -- the production API's batch contract ------------------------------------------------------
BATCH_PATH = "/batch/predict"
FORM_FIELDS = {
    "other_nature_activity": "activ_nat_lib_et",
    "precision_act_sec_agricole": "activ_sec_agri_et",
    "type_form": "liasse_type",
    "nature": "activ_nat_et",
    "surface": "activ_surf_et",
    "cj": "cj",
    "activity_permanence_status": "activ_perm_et",
}
"""``SingleForm`` field -> context field of our logs (the same request, other names)."""
_VALID: dict[str, Callable[[str], bool]] = {
    "type_form": lambda v: v in set("ABCDEGILMNPRSXYZ"),
    "nature": lambda v: re.fullmatch(r"\d{2}", v) is not None,
    "surface": lambda v: v in {"1", "2", "3", "4"},
    "cj": lambda v: re.fullmatch(r"\d{4}", v) is not None,
    "activity_permanence_status": lambda v: v in {"P", "S"},
}
"""The contract's validators: a value they refuse would fail the whole batch (HTTP 422)."""

Post = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
"""Posts one batch of forms to the classifier, returns its responses (one per form)."""


class TransientClassifierError(Exception):
    """A batch the classifier could not answer now (connection, timeout, 429, 5xx): retried."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def forms_of(gold: pa.Table) -> tuple[list[dict[str, Any]], int]:
    """One ``SingleForm`` per gold row (text and context), and how many values were dropped.

    Context values the contract would refuse (a surface in m2 where it expects a class 1-4,
    say) are sent as null rather than failing the batch; the count is reported.
    """
    texts = gold.column("text").to_pylist()
    contexts = (
        gold.column("context").to_pylist()
        if "context" in gold.column_names
        else [None] * gold.num_rows
    )
    forms, dropped = [], 0
    for text, raw in zip(texts, contexts, strict=True):
        context = raw if isinstance(raw, dict) else json.loads(raw) if raw else {}
        form: dict[str, Any] = {"description_activity": str(text or "")}
        for name, source in FORM_FIELDS.items():
            value = _text(context.get(source))
            check = _VALID.get(name)
            if value is not None and check is not None and not check(value):
                dropped += 1
                value = None
            form[name] = value
        forms.append(form)
    return forms, dropped


def parse_responses(responses: Sequence[dict[str, Any]], top: int = 5) -> dict[str, list[Any]]:
    """Codes (canonical), scores, confidence index and model version of each response,
    checked (``campaigns.lifecycle.challenger_answers``): a malformed one is refused."""
    from campaigns.lifecycle.challenger_answers import read_answers

    return read_answers(responses, top)


def predictions_from_classifier(
    gold: pa.Table,
    post: Post,
    *,
    batch_size: int = 100,
    attempts: int = 5,
    on_batch: Callable[[int], None] | None = None,
    wait_max: float = 30.0,
) -> tuple[pa.Table, dict[str, Any]]:
    """The challenger's predictions for every gold text, posted ``batch_size`` at a time.

    A batch that fails transiently is retried (``attempts`` in all, exponential backoff up to
    ``wait_max`` s); answers are matched to forms by position, as the contract returns them.
    Returns the predictions table and what the calls cost (batches, dropped context values).
    """
    if batch_size < 1:
        raise InvalidArgumentError("The batch size must be at least 1.")
    forms, dropped = forms_of(gold)
    ids = gold.column("request_id").to_pylist()
    send = retry(
        retry=retry_if_exception_type(TransientClassifierError),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.5, max=wait_max),
        reraise=False,
    )(post)
    parts: dict[str, list[Any]] = {k: [] for k in PREDICTIONS_SCHEMA.names if k != "request_id"}
    batches = 0
    for start in range(0, len(forms), batch_size):
        batch = forms[start : start + batch_size]
        try:
            answers = send(batch)
        except RetryError as err:
            cause = err.last_attempt.exception()
            raise ServiceUnavailableError(
                f"The challenger classifier failed {attempts} times on texts {start + 1}-"
                f"{start + len(batch)}: {cause}",
                "Check that it is up (its /docs page answers), then rerun; nothing is written "
                "before every text has its prediction.",
            ) from cause
        if len(answers) != len(batch):
            raise InputFormatError(
                f"The classifier answered {len(answers)} predictions for {len(batch)} texts.",
                "The batch contract returns one prediction per form, in order.",
            )
        for key, values in parse_responses(answers).items():
            parts[key].extend(values)
        batches += 1
        if on_batch:
            on_batch(len(batch))
    table = pa.table({"request_id": ids, **parts}, schema=PREDICTIONS_SCHEMA)
    return table, {"batches": batches, "context_values_dropped": dropped}


def predictions_from_table(table: pa.Table) -> pa.Table:
    """A challenger's Parquet, normalised: request_id, predicted_codes, scores, confidence.

    Accepted: ``predicted_codes`` (best first) or ``predicted_code``; ``scores`` or ``score``
    (optional); ``confidence`` (optional: else the gap between the two best scores, the
    confidence index's definition); ``model_version`` (optional). Codes are made canonical.
    """
    names = set(table.column_names)
    if "request_id" not in names or not names & {"predicted_codes", "predicted_code"}:
        raise InputFormatError(
            f"The challenger table has columns {sorted(names)}.",
            "Give request_id and predicted_codes (a list, best first) or predicted_code; "
            "optionally scores, confidence and model_version.",
        )
    n = table.num_rows
    duplicated = n - pc.count_distinct(table.column("request_id").combine_chunks()).as_py()
    if duplicated:
        raise InputFormatError(
            f"The challenger table has {duplicated} duplicated request ids.",
            "Give one prediction per request id.",
        )
    if "predicted_codes" in names:
        codes = table.column("predicted_codes").to_pylist()
    else:
        codes = [[c] if c is not None else [] for c in table.column("predicted_code").to_pylist()]
    if "scores" in names:
        scores = table.column("scores").to_pylist()
    elif "score" in names:
        scores = [[s] if s is not None else [] for s in table.column("score").to_pylist()]
    else:
        scores = [[] for _ in range(n)]
    if "confidence" in names:
        confidence = table.column("confidence").to_pylist()
    else:
        confidence = [
            (s[0] - (s[1] if len(s) > 1 else 0.0)) if s else None for s in scores
        ]  # fmt: skip
    versions = (
        table.column("model_version").cast(pa.string()).to_pylist()
        if "model_version" in names
        else [None] * n
    )
    return pa.table(
        {
            "request_id": table.column("request_id").cast(pa.string()),
            "predicted_codes": [[canonical(c) for c in (row or [])] for row in codes],
            "scores": [[float(s) for s in (row or [])] for row in scores],
            "confidence": pa.array(confidence, pa.float64()),
            "model_version": versions,
        },
        schema=PREDICTIONS_SCHEMA,
    )


# -- the paired figures -------------------------------------------------------------------------
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
) -> Comparison:
    """Both models' figures on ``gold`` and the paired differences (challenger - champion).

    ``gold`` is a gold table (status, gold_code, predicted_code(s), confidence, weight and the
    design columns); ``challenger`` a predictions table (:func:`predictions_from_table`).
    Units with no challenger prediction count as wrong and not auto-coded for it.
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
            "n": int(own[f"{CHAMPION}|{f}"]["n"]),
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


# -- a campaign's comparison ---------------------------------------------------------------------
ChallengerSource = Callable[[pa.Table], tuple[pa.Table, dict[str, Any]]]
"""Given the gold table, the challenger's predictions (and what getting them cost)."""


def table_source(table: pa.Table) -> ChallengerSource:
    """A challenger given as a table (read from Parquet)."""
    predictions = predictions_from_table(table)
    return lambda gold: (predictions, {"source": "table"})


def classifier_source(
    post: Post,
    *,
    batch_size: int = 100,
    on_batch: Callable[[int], None] | None = None,
    attempts: int = 5,
) -> ChallengerSource:
    """A challenger served behind the batch contract: the gold texts are posted to it."""

    def source(gold: pa.Table) -> tuple[pa.Table, dict[str, Any]]:
        table, cost = predictions_from_classifier(
            gold, post, batch_size=batch_size, on_batch=on_batch, attempts=attempts
        )
        return table, {"source": "classifier", **cost}

    return source


@dataclass
class CampaignComparison:
    campaign_id: int
    export_version: str
    comparison: Comparison
    challenger_version: str
    champion_versions: list[str]
    written: dict[str, str] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """What the CLI's ``--json``, and the compare job's result, give."""
        from campaigns.lifecycle.metrics import json_safe

        return json_safe(
            {
                "campaign_id": self.campaign_id,
                "export_version": self.export_version,
                "champion_versions": self.champion_versions,
                "challenger_version": self.challenger_version,
                **self.notes,
                "summary": self.comparison.summary,
                "tables": self.written,
            }
        )


def comparison_gold(
    session: Session, storage: Storage, campaign: Campaign
) -> tuple[pa.Table, dict[str, Any]]:
    """The gold units a comparison may use, reweighted to them, and what was left out why.

    A randomized campaign keeps its blind arm (re-weighted within each stratum, where the arms
    are random halves); gold made with the champion's answer in view is flagged.
    """
    if campaign.kind != CampaignKind.GOLD:
        raise InvalidArgumentError(
            f"Campaign {campaign.id} is a {campaign.kind} campaign: it has no gold standard.",
            "Compare models on a gold campaign.",
        )
    gold = latest_gold(storage, campaign, session)
    notes: dict[str, Any] = {"suggestions": str(campaign.suggestions)}
    if campaign.suggestions == SuggestionMode.RANDOMIZED:
        gold = with_arms(gold, latest_annotations(storage, campaign, session))
        if "arm" in gold.column_names:
            notes["units_left_out"] = gold.num_rows
            gold = gold.filter(pc.equal(gold.column("arm"), BLIND))
            notes["units_left_out"] -= gold.num_rows
            notes["gold"] = "blind arm only"
    elif campaign.suggestions in (SuggestionMode.PRESELECTED, SuggestionMode.SHOWN):
        notes["warning"] = (
            f"This campaign's experts saw the champion's suggestions ({campaign.suggestions}): "
            "its gold leans toward the champion, so the challenger is at a disadvantage. "
            "Compare on a hidden (blind) campaign, or the blind arm of a randomized one."
        )
    if gold.num_rows == 0:
        raise EmptySelectionError(
            f"Campaign {campaign.id} has no annotated unit to compare the models on.",
            f"Export it first ('campaigns export {campaign.id}') once experts have worked.",
        )
    return reweight_to_annotated(gold), notes


def compare_campaign(
    session: Session,
    storage: Storage,
    settings: Settings,
    campaign: Campaign,
    source: ChallengerSource,
    *,
    threshold: float | None = None,
    replicates: int = 1000,
    seed: int = 0,
    write: bool = True,
) -> CampaignComparison:
    """Champion vs challenger on the campaign's latest export; the dashboard's tables unless
    ``write=False`` (``metrics/comparison`` and ``metrics/comparison_discordant``)."""
    from campaigns.lifecycle.challenger_answers import codes_outside_nomenclature
    from campaigns.metrics.dashboard import write_comparison

    gold, notes = comparison_gold(session, storage, campaign)
    wanted = [c for c in ("request_id", "text", "context") if c in gold.column_names]
    predictions, cost = source(gold.select(wanted))
    cost |= codes_outside_nomenclature(predictions, old_nomenclature(settings).levels_table())
    versions = sorted({v for v in predictions.column("model_version").to_pylist() if v})
    comparison = compare_models(
        gold,
        predictions,
        threshold=settings.auto_coding_threshold if threshold is None else threshold,
        levels=old_nomenclature(settings).levels_table(),
        replicates=replicates,
        seed=seed,
    )
    champion_versions = sorted(
        {str(v) for v in gold.column("model_version").to_pylist() if v}
        if "model_version" in gold.column_names
        else set()
    )
    result = CampaignComparison(
        campaign_id=campaign.id or 0,
        export_version=campaign.last_export_version or "unknown",
        comparison=comparison,
        challenger_version=", ".join(versions) or "unknown",
        champion_versions=champion_versions,
        notes={**notes, **cost},
    )
    if write:
        result.written = write_comparison(
            storage,
            result.campaign_id,
            comparison,
            export_version=result.export_version,
            challenger_version=result.challenger_version,
            computed_on=datetime.now(UTC).date(),
        )
    return result
