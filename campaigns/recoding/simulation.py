"""Simulated transitions with an oracle expert: are the estimates unbiased, do batches pay?

Both studies run the project's own functions (``union_weights``, ``draw_batch``,
``fit_model``, ``plan_next_batch``) on a synthetic queue whose NAF 2025 truth is known
(``synthetic``), the oracle answering every drawn row with its true code.

``bias_study``: many independent rounds of a campaign (a simple random batch, then batches
drawn proportionally to uncertainty), each giving design-weighted estimates; their average
over rounds is compared with the truth, beside the naive unweighted estimates (which
over-count the uncertain rows the batches favour). The uncertainty of later batches must
depend on the earlier answers (that is what could bias them); refitting the model hundreds of
times would take minutes, so a cheap stand-in does it: a fixed model's doubt ``1 - conf``
multiplied by the doubt the answers so far leave about the row's old code (one minus the
estimated share of its majority candidate). The accuracy measured is that fixed model's.

``learning_curves``: the candidate model's accuracy on a held-out part of the queue after
each batch, with batches drawn uniformly or by uncertainty (the real model refitted after
each batch), and the annotations each needs to reach a given accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from campaigns.recoding.active_batches import DEFAULT_FLOOR, draw_batch
from campaigns.recoding.candidate_model import ModelConfig
from campaigns.recoding.dataset import DatasetInputs, fit_model, predict_queue
from campaigns.recoding.estimation import union_weights, weighted_ratios
from campaigns.recoding.next_batch import plan_next_batch
from campaigns.recoding.synthetic import synthetic_transition
from nace_mapping import Correspondence, recode_table


@dataclass
class SimulatedTransition:
    """A recoded synthetic input and the truth of its queue."""

    univocal: pa.Table
    queue: pa.Table
    quarantine: pa.Table
    titles: Mapping[str, str]
    truth: dict[str, str]
    """``request_id -> true new code`` of the queue rows."""

    @property
    def queue_ids(self) -> np.ndarray:
        return np.asarray(self.queue.column("request_id").to_pylist(), dtype=object)

    def inputs(self, experts: pa.Table, drawn: pa.Table, batches: Sequence[str]) -> DatasetInputs:
        return DatasetInputs(
            self.univocal, self.queue, self.quarantine, experts, drawn, batches, self.titles
        )

    def true_split(self) -> pd.DataFrame:
        """``old_code, new_code, rows, share`` over the whole queue."""
        frame = pd.DataFrame(
            {
                "old_code": self.queue.column("code").to_pylist(),
                "new_code": [self.truth[r] for r in self.queue_ids],
            }
        )
        counts = frame.groupby(["old_code", "new_code"]).size().rename("rows").reset_index()
        counts["share"] = counts["rows"] / counts.groupby("old_code")["rows"].transform("sum")
        return counts


def simulated_transition(
    correspondence: Correspondence,
    titles: Mapping[str, str],
    *,
    rows: int,
    seed: int = 0,
    old_codes: Sequence[str] | None = None,
    **synthetic: float,
) -> SimulatedTransition:
    """Synthetic rows (see ``synthetic.synthetic_transition``), recoded."""
    data = synthetic_transition(
        correspondence, rows=rows, seed=seed, old_codes=old_codes, **synthetic
    )  # type: ignore[arg-type]
    result = recode_table(data.table, correspondence)
    truth = dict(
        zip(
            data.truth.column("request_id").to_pylist(),
            data.truth.column("true_code").to_pylist(),
            strict=True,
        )
    )
    ids = result.multivocal.column("request_id").to_pylist()
    return SimulatedTransition(
        result.univocal,
        result.multivocal,
        result.quarantine,
        titles,
        {r: truth[r] for r in ids},
    )


def study_codes(
    correspondence: Correspondence, *, multivocal: int = 10, univocal: int = 40, seed: int = 0
) -> list[str]:
    """Old codes for a small simulated queue: ``multivocal`` codes with 2 to 5 candidates, the
    univocal codes reaching one of their candidates, and ``univocal`` other univocal codes."""
    rng = np.random.default_rng(seed)
    multi = [c for c in correspondence.multivocal_codes() if len(correspondence.candidates(c)) <= 5]
    chosen = sorted(rng.choice(multi, size=min(multivocal, len(multi)), replace=False))
    wanted = {n for c in chosen for n in correspondence.candidates(c)}
    uni = correspondence.univocal_codes()
    reaching = [c for c in uni if correspondence.candidates(c)[0] in wanted]
    others = [c for c in uni if c not in reaching]
    extra = rng.choice(others, size=min(univocal, len(others)), replace=False)
    return sorted({*chosen, *reaching, *extra})


def oracle(sim: SimulatedTransition, request_ids: Sequence[str], batch: str) -> pa.Table:
    """The true code of each row, as a perfect expert would answer."""
    return pa.table(
        {
            "request_id": pa.array(list(request_ids), pa.string()),
            "status": pa.array(["coded"] * len(request_ids), pa.string()),
            "gold_code": pa.array([sim.truth[r] for r in request_ids], pa.string()),
            "batch": pa.array([batch] * len(request_ids), pa.string()),
        }
    )


def drawn_table(batch: str, request_ids: Sequence[str], pi: np.ndarray) -> pa.Table:
    return pa.table(
        {
            "batch": pa.array([batch] * len(request_ids), pa.string()),
            "request_id": pa.array(list(request_ids), pa.string()),
            "inclusion_prob": pa.array(np.asarray(pi, dtype=np.float64)),
        }
    )


def srs(ids: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A simple random sample of ``n`` of ``ids`` and its inclusion probability."""
    n = min(n, ids.size)
    return np.sort(rng.choice(ids.size, size=n, replace=False)), n / ids.size


# -- bias ------------------------------------------------------------------------------------


@dataclass
class BiasStudy:
    """Estimates of many simulated campaigns beside the truth."""

    rounds: int
    pairs: pd.DataFrame
    """``old_code, new_code, rows, share`` (truth) and, averaged over rounds, ``ht``
    (Horvitz-Thompson share ``total / N_o``), ``hajek``, ``naive``, with the Monte Carlo
    standard errors ``ht_se``, ``naive_se``."""
    accuracy_true: float
    accuracy: np.ndarray
    """Per round: design-weighted (Hájek) accuracy of the fixed model."""
    accuracy_naive: np.ndarray
    covered: np.ndarray
    """Per round: did the 95% bootstrap interval contain the true accuracy?"""
    annotations: int

    def z(self, column: str) -> np.ndarray:
        """Bias of each pair's mean estimate in Monte Carlo standard errors."""
        se = self.pairs[f"{column}_se"].to_numpy()
        bias = self.pairs[column].to_numpy() - self.pairs["share"].to_numpy()
        return np.where(se > 0, bias / np.where(se > 0, se, 1.0), 0.0)

    def accuracy_z(self, values: np.ndarray) -> float:
        se = values.std(ddof=1) / np.sqrt(values.size)
        return float((values.mean() - self.accuracy_true) / se) if se > 0 else 0.0

    def lines(self) -> list[str]:
        ht, naive = np.abs(self.z("ht")), np.abs(self.z("naive"))
        mean_abs = (self.pairs["ht"] - self.pairs["share"]).abs().mean()
        naive_abs = (self.pairs["naive"] - self.pairs["share"]).abs().mean()
        return [
            f"{self.rounds} simulated campaigns, {self.annotations} annotations each, "
            f"{len(self.pairs)} (old code, new code) shares",
            f"split, design-weighted: mean |bias| {mean_abs:.4f}, "
            f"max |bias|/MC s.e. {ht.max():.2f}, pairs beyond 3 s.e.: {(ht > 3).sum()}",
            f"split, naive unweighted: mean |bias| {naive_abs:.4f}, "
            f"max |bias|/MC s.e. {naive.max():.2f}, pairs beyond 3 s.e.: {(naive > 3).sum()}",
            f"model accuracy: truth {self.accuracy_true:.4f}, design-weighted mean "
            f"{self.accuracy.mean():.4f} (z={self.accuracy_z(self.accuracy):+.2f}), naive mean "
            f"{self.accuracy_naive.mean():.4f} (z={self.accuracy_z(self.accuracy_naive):+.2f}), "
            f"95% interval coverage {self.covered.mean():.1%}",
        ]


def bias_study(
    sim: SimulatedTransition,
    *,
    rounds: int = 200,
    batch_sizes: Sequence[int] = (120, 100, 100),
    pilot: int = 150,
    floor: float = DEFAULT_FLOOR,
    seed: int = 0,
    replicates: int = 200,
) -> BiasStudy:
    """``rounds`` independent campaigns on ``sim`` (see the module docstring)."""
    ids = sim.queue_ids
    index = {r: i for i, r in enumerate(ids)}
    old = np.asarray(sim.queue.column("code").to_pylist(), dtype=object)
    truth = np.array([sim.truth[r] for r in ids], dtype=object)

    # The fixed model: fitted once on a pilot sample, its confidence drives the batches.
    rng = np.random.default_rng([seed, 10**6])
    pick, pi = srs(ids, pilot, rng)
    pilot_ids = list(ids[pick])
    run = fit_model(
        sim.inputs(
            oracle(sim, pilot_ids, "pilot"),
            drawn_table("pilot", pilot_ids, np.full(len(pick), pi)),
            ["pilot"],
        ),
        ModelConfig(seed=seed),
        folds=0,
    )
    predicted = predict_queue(run, sim.queue, []).to_pandas().set_index("request_id")
    pred = predicted.loc[ids, "predicted_code"].to_numpy(dtype=object)
    doubt = 1.0 - predicted.loc[ids, "raw"].to_numpy(dtype=np.float64)
    correct = (pred == truth).astype(np.float64)
    accuracy_true = float(correct.mean())

    split = sim.true_split()
    pair_key = {
        (o, c): j for j, (o, c) in enumerate(zip(split["old_code"], split["new_code"], strict=True))
    }
    n_old = split.groupby("old_code")["rows"].sum()
    pair_of_row = np.array([pair_key[(o, t)] for o, t in zip(old, truth, strict=True)])
    old_of_pair = split["old_code"].to_numpy(dtype=object)
    n_pairs = len(split)

    ht = np.zeros((rounds, n_pairs))
    hajek = np.full((rounds, n_pairs), np.nan)
    naive = np.full((rounds, n_pairs), np.nan)
    accuracy = np.zeros(rounds)
    accuracy_naive = np.zeros(rounds)
    covered = np.zeros(rounds, dtype=bool)
    for r in range(rounds):
        rng = np.random.default_rng([seed, r])
        drawn: list[pa.Table] = []
        taken = np.zeros(ids.size, dtype=bool)
        batches: list[str] = []
        for k, size in enumerate(batch_sizes):
            batch = f"b{k + 1}"
            pool = np.flatnonzero(~taken)
            if k == 0:
                local, p = srs(pool, size, rng)
                chosen, probs = pool[local], np.full(local.size, p)
            else:
                weights = union_weights(pa.concat_tables(drawn), batches, list(ids[taken])).table
                w_rows = np.array([index[x] for x in weights.column("request_id").to_pylist()])
                w = weights.column("weight").to_numpy()
                frame = pd.DataFrame({"old": old[w_rows], "code": truth[w_rows], "w": w})
                by_code = frame.groupby(["old", "code"])["w"].sum()
                majority = (
                    by_code.groupby(level=0).max() / by_code.groupby(level=0).sum()
                ).to_dict()
                old_doubt = 1.0 - np.array([majority.get(o, 0.5) for o in old[pool]])
                local, pi_pool = draw_batch(
                    doubt[pool] * old_doubt, size, floor=floor, seed=int(rng.integers(2**31))
                )
                chosen, probs = pool[local], pi_pool[local]
            taken[chosen] = True
            batches.append(batch)
            drawn.append(drawn_table(batch, list(ids[chosen]), probs))
        weights = union_weights(pa.concat_tables(drawn), batches, list(ids[taken])).table
        rows = np.array([index[x] for x in weights.column("request_id").to_pylist()])
        w = weights.column("weight").to_numpy()
        totals = np.bincount(pair_of_row[rows], weights=w, minlength=n_pairs)
        counts = np.bincount(pair_of_row[rows], minlength=n_pairs).astype(np.float64)
        frame = pd.DataFrame({"old": old_of_pair, "t": totals, "c": counts})
        w_old = frame.groupby("old")["t"].transform("sum").to_numpy()
        c_old = frame.groupby("old")["c"].transform("sum").to_numpy()
        ht[r] = totals / n_old.loc[old_of_pair].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            hajek[r] = np.where(w_old > 0, totals / w_old, np.nan)
            naive[r] = np.where(c_old > 0, counts / c_old, np.nan)
        figure = weighted_ratios(
            {"accuracy": correct[rows]},
            np.ones(rows.size),
            w,
            weights.column("batch").to_numpy(zero_copy_only=False),
            replicates=replicates,
            seed=r,
        )["accuracy"]
        accuracy[r] = figure.estimate
        covered[r] = figure.ci_low <= accuracy_true <= figure.ci_high
        accuracy_naive[r] = correct[rows].mean()
    pairs = split.copy()
    pairs["ht"] = ht.mean(axis=0)
    pairs["ht_se"] = ht.std(axis=0, ddof=1) / np.sqrt(rounds)
    pairs["hajek"] = np.nanmean(hajek, axis=0)
    pairs["naive"] = np.nanmean(naive, axis=0)
    valid = np.sum(~np.isnan(naive), axis=0)
    pairs["naive_se"] = np.nanstd(naive, axis=0, ddof=1) / np.sqrt(np.maximum(valid, 1))
    return BiasStudy(
        rounds, pairs, accuracy_true, accuracy, accuracy_naive, covered, int(sum(batch_sizes))
    )


# -- annotations saved -----------------------------------------------------------------------


@dataclass
class LearningCurves:
    """Held-out accuracy of the model after each batch, per strategy and seed."""

    budgets: np.ndarray
    uniform: np.ndarray
    active: np.ndarray
    """``(seeds, len(budgets))``."""

    def needed(self, curve: np.ndarray, target: float) -> float:
        """Annotations at which the mean curve first reaches ``target`` (linear between
        budgets; NaN if never)."""
        mean = curve.mean(axis=0)
        above = np.flatnonzero(mean >= target)
        if above.size == 0:
            return float("nan")
        i = int(above[0])
        if i == 0:
            return float(self.budgets[0])
        x0, x1, y0, y1 = self.budgets[i - 1], self.budgets[i], mean[i - 1], mean[i]
        return float(x0 + (target - y0) * (x1 - x0) / (y1 - y0))

    def savings(self) -> tuple[float, float, float]:
        """``(target, uniform needs, active needs)`` with target = the uniform curve's final
        mean accuracy: what the uniform design reaches with the whole budget."""
        target = float(self.uniform.mean(axis=0)[-1])
        return target, self.needed(self.uniform, target), self.needed(self.active, target)

    def lines(self) -> list[str]:
        out = ["annotations  " + "  ".join(f"{b:>6d}" for b in self.budgets)]
        for name, curve in (("uniform", self.uniform), ("active", self.active)):
            out.append(f"{name:<11}  " + "  ".join(f"{v:6.1%}" for v in curve.mean(axis=0)))
        target, uniform, active = self.savings()
        out.append(
            f"to reach {target:.1%} held-out accuracy: uniform {uniform:.0f} annotations, "
            f"active {active:.0f} ({1 - active / uniform:.0%} fewer)"
        )
        return out


def learning_curves(
    sim: SimulatedTransition,
    *,
    batch: int = 100,
    batches: int = 6,
    seeds: Sequence[int] = (0, 1, 2),
    floor: float = DEFAULT_FLOOR,
    holdout: float = 0.3,
) -> LearningCurves:
    """Uniform and uncertainty-drawn batches, same first (random) batch, same held-out rows."""
    ids = sim.queue_ids
    truth = np.array([sim.truth[r] for r in ids], dtype=object)
    budgets = np.arange(1, batches + 1) * batch
    results = {
        "uniform": np.zeros((len(seeds), batches)),
        "active": np.zeros((len(seeds), batches)),
    }
    for s, seed in enumerate(seeds):
        rng = np.random.default_rng([seed, 7])
        test = rng.random(ids.size) < holdout
        pool_sim = SimulatedTransition(
            sim.univocal, sim.queue.filter(pa.array(~test)), sim.quarantine, sim.titles, sim.truth
        )
        test_queue = sim.queue.filter(pa.array(test))
        test_truth = truth[test]
        pool_ids = ids[~test]
        first, p = srs(pool_ids, batch, rng)
        for strategy in ("uniform", "active"):
            order = np.random.default_rng([seed, 11]).permutation(pool_ids.size)
            drawn = [drawn_table("b1", list(pool_ids[first]), np.full(first.size, p))]
            taken = set(pool_ids[first])
            names = ["b1"]
            for k in range(batches):
                experts = pa.concat_tables(
                    [
                        oracle(
                            sim, d.column("request_id").to_pylist(), d.column("batch")[0].as_py()
                        )
                        for d in drawn
                    ]
                )
                inputs = pool_sim.inputs(experts, pa.concat_tables(drawn), names)
                run = fit_model(inputs, ModelConfig(seed=seed), folds=0)
                predicted = predict_queue(run, test_queue, []).to_pandas().set_index("request_id")
                codes = predicted.loc[ids[test], "predicted_code"].to_numpy(dtype=object)
                results[strategy][s, k] = float((codes == test_truth).mean())
                if k == batches - 1:
                    break
                name = f"b{k + 2}"
                if strategy == "uniform":
                    fresh = [pool_ids[i] for i in order if pool_ids[i] not in taken][:batch]
                    pi = np.full(len(fresh), batch / (pool_ids.size - len(taken)))
                else:
                    plan = plan_next_batch(
                        inputs, size=batch, floor=floor, seed=seed * 100 + k, run=run
                    )
                    fresh = plan.table.column("request_id").to_pylist()
                    pi = plan.table.column("inclusion_prob").to_numpy()
                taken.update(fresh)
                names.append(name)
                drawn.append(drawn_table(name, fresh, pi))
    return LearningCurves(budgets, results["uniform"], results["active"])
