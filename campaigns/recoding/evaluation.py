"""How good is the candidate model? Cross-validation on the expert rows, beside two baselines.

Method. The expert rows are split into ``k`` folds (seeded random assignment). For each
fold, the model of every old code with rows in the fold is refitted without the fold's expert
rows (univocal rows and titles stay: they are never evaluated) and predicts the fold. Each
expert row thus gets an out-of-fold prediction, from a model that never saw its label.

Baselines, on the same rows and folds:

- *majority*: the candidate with the largest design-weighted share of the old code in the
  other folds (the observed split, what recoding by the split's mode would do); an old code
  absent from the other folds falls back to the uniform baseline;
- *uniform*: a candidate drawn uniformly among the row's candidates; its expected
  correctness ``1 / |C|`` (when the expert's code is a candidate) is used, not one draw.

Which rows count. A coded row is right when the method gives the expert's code. A "none of
these" row (or a code outside the candidates, found in the whole nomenclature) is wrong for
every method: no candidate is right. Rows without an answer (disagreement, invalid) are left
out. Accuracies are design-weighted (``estimation.union_weights``), so they describe the
whole multivocal queue, not the batches, which over-sample uncertain rows; the differences
model - baseline are paired (same rows, same replicates), with Rao-Wu bootstrap intervals by
batch.

The out-of-fold top probabilities and correctness also fit the confidence calibration: the
only predictions whose correctness is known and honest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from campaigns.recoding.candidate_model import ModelConfig, TrainingMatrix, fit_groups
from campaigns.recoding.estimation import Interval, weighted_ratios
from campaigns.recoding.features import TextFeatures

METHODS = ("model", "majority", "uniform")


@dataclass
class CrossValidation:
    """Out-of-fold figures on the expert rows."""

    folds: int
    rows: int
    accuracy: dict[str, Interval]
    """``model``, ``majority``, ``uniform``, and ``model - majority``, ``model - uniform``."""
    oof_code: np.ndarray
    oof_raw: np.ndarray
    correct: np.ndarray
    """Per evaluated expert row: out-of-fold code, top probability, 0/1 correctness."""
    weights: np.ndarray
    old_codes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    """Per evaluated expert row: its old code (for the accuracy per old code)."""

    def lines(self) -> list[str]:
        """The figures as printable lines."""
        names = {
            "model": "candidate model",
            "majority": "majority candidate",
            "uniform": "uniform candidate",
            "model - majority": "model - majority",
            "model - uniform": "model - uniform",
        }
        return [f"{names[k]:<20} {self.accuracy[k]}" for k in names if k in self.accuracy]


def fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    """A seeded random fold number per row, folds as equal as possible."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(n) % max(1, folds))


def majority_codes(
    old_codes: np.ndarray,
    gold: np.ndarray,
    weights: np.ndarray,
    candidates: Sequence[tuple[str, ...]],
) -> dict[str, str]:
    """The candidate with the largest weighted share of each old code (ties: code order)."""
    frame = pd.DataFrame({"old": old_codes, "code": gold, "w": weights})
    inside = [g in c for g, c in zip(gold, candidates, strict=True)]
    frame = frame[np.asarray(inside, dtype=bool) & pd.notna(frame["code"])]
    if frame.empty:
        return {}
    totals = frame.groupby(["old", "code"])["w"].sum().reset_index()
    totals = totals.sort_values(["old", "w", "code"], ascending=[True, False, True])
    return dict(totals.drop_duplicates("old").set_index("old")["code"])


def cross_validate(
    data: TrainingMatrix,
    features: TextFeatures,
    groups: Mapping[str, tuple[str, ...]],
    experts: pd.DataFrame,
    config: ModelConfig,
    *,
    folds: int = 5,
    seed: int = 0,
    replicates: int = 1000,
) -> CrossValidation | None:
    """Out-of-fold accuracy of the model and both baselines on ``experts``.

    ``experts``: one row per answered expert row, with ``request_id, old_code, text,
    context, status, gold_code, weight, batch``; ``data.row_id`` identifies the expert rows
    of the training matrix (``data.source == 'expert'``), left out of the fits of their fold.
    None when fewer than two rows can be evaluated.
    """
    frame = experts[experts["status"].isin(["coded", "none_of_these"])].reset_index(drop=True)
    frame = frame[frame["old_code"].isin(list(groups))].reset_index(drop=True)
    n = len(frame)
    if n < 2:
        return None
    k = min(folds, n)
    fold = fold_ids(n, k, seed)
    cands = [groups[o] for o in frame["old_code"]]
    gold = frame["gold_code"].where(frame["status"] == "coded").to_numpy(dtype=object)
    in_cands = np.array([g in c for g, c in zip(gold, cands, strict=True)])
    weights = frame["weight"].to_numpy(dtype=np.float64)
    old = frame["old_code"].to_numpy(dtype=object)

    is_expert = data.source == "expert"
    row_ids = np.asarray(data.row_id.to_pylist(), dtype=object)
    fold_of_id = dict(zip(frame["request_id"], fold, strict=True))
    train_fold = np.array(
        [fold_of_id.get(r, -1) if e else -1 for r, e in zip(row_ids, is_expert, strict=True)]
    )

    # Every evaluated row is featurised here, "none of these" rows included (they have no
    # label, so they are not training rows, but the model must be judged on them too).
    held_matrix = features.transform(
        pa.array(frame["text"].tolist(), pa.string(), from_pandas=True),  # NaN: a null
        pa.array(frame["context"].tolist(), pa.string(), from_pandas=True),
    )
    oof_code = np.empty(n, dtype=object)
    oof_raw = np.zeros(n)
    majority_hit = np.zeros(n)
    for f in range(k):
        held = np.flatnonzero(fold == f)
        if held.size == 0:
            continue
        olds = sorted(set(old[held]))
        models = fit_groups(data, groups, config, exclude=train_fold == f, only=olds)
        for o in olds:
            members = held[old[held] == o]
            proba = models[o].proba(held_matrix[members])
            best = proba.argmax(axis=1)
            oof_code[members] = np.array(groups[o], dtype=object)[best]
            oof_raw[members] = proba[np.arange(best.size), best]
        train = fold != f
        majority = majority_codes(
            old[train], gold[train], weights[train], [cands[i] for i in np.flatnonzero(train)]
        )
        for i in held:
            code = majority.get(old[i])
            if code is None:
                majority_hit[i] = (1.0 / len(cands[i])) if in_cands[i] else 0.0
            else:
                majority_hit[i] = float(code == gold[i])
    evaluated = np.array([c is not None for c in oof_code])
    model_hit = np.array([float(c == g) for c, g in zip(oof_code, gold, strict=True)])
    uniform_hit = np.where(in_cands, 1.0 / np.array([len(c) for c in cands]), 0.0)
    figures = weighted_ratios(
        {
            "model": model_hit,
            "majority": majority_hit,
            "uniform": uniform_hit,
            "model - majority": model_hit - majority_hit,
            "model - uniform": model_hit - uniform_hit,
        },
        evaluated,
        weights,
        frame["batch"].to_numpy(dtype=object),
        replicates=replicates,
        seed=seed,
    )
    return CrossValidation(
        folds=k,
        rows=int(evaluated.sum()),
        accuracy=figures,
        oof_code=oof_code[evaluated],
        oof_raw=oof_raw[evaluated],
        correct=model_hit[evaluated],
        weights=weights[evaluated],
        old_codes=old[evaluated],
    )
