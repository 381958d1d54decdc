"""Label-free (CBPE-like) accuracy on simulated traffic whose true accuracy is known.

Scores are Beta draws; a unit is right with probability ``g(score) = score ** 1.5`` - the model
is overconfident, so the raw mean score overstates the accuracy. The reference gold sample is
a stratified sample (by score, unequal weights) of one traffic period; the new traffic has a
shifted score distribution but the same ``g``, so its true accuracy is ``mean g(score)``.
"""

from __future__ import annotations

import math
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from campaigns.config import get_settings
from campaigns.errors import EmptySelectionError
from campaigns.gold.store import export_dir
from campaigns.metrics.calibration import calibrated_accuracy_estimate
from campaigns.metrics.label_free import (
    LabelFreeEstimate,
    _interpolation_weights,
    compare_with_gold,
    estimate_accuracy_label_free,
    traffic_scores,
)
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.state.models import CampaignCreate, Sample
from campaigns.storage import Storage
from campaigns.traffic.window import Window
from services.cli import _FriendlyErrors
from services.cli.estimate import register


def g(s: np.ndarray) -> np.ndarray:
    return s**1.5


# Strata by score [0, .4), [.4, .6), [.6, .8), [.8, 1]: a confidence-stratified gold sample
# that oversamples the low scores (few in the traffic, many of the errors).
EDGES = (0.4, 0.6, 0.8)


def reference_gold(
    seed: int, per_stratum: int = 375, population: int = 100_000, non_coded: int = 30
) -> pa.Table:
    """A stratified sample (equal allocation, weight N_h / n_h) of Beta(5, 2) traffic."""
    rng = np.random.default_rng(seed)
    pop = rng.beta(5, 2, population)
    stratum = np.digitize(pop, EDGES)
    picks, weights, sizes, pops = [], [], [], []
    for h in range(len(EDGES) + 1):
        members = np.flatnonzero(stratum == h)
        chosen = rng.choice(members, size=per_stratum, replace=False)
        picks.append(chosen)
        weights.append(np.full(per_stratum, members.size / per_stratum))
        sizes.append(np.full(per_stratum, per_stratum))
        pops.append(np.full(per_stratum, members.size))
    idx = np.concatenate(picks)
    s = pop[idx]
    correct = rng.random(s.size) < g(s)
    # Units the experts could not code: never part of the fit, whatever their score.
    status = np.array(["coded"] * s.size, dtype=object)
    status[rng.choice(s.size, size=non_coded, replace=False)] = "cannot_code"
    gold_code = np.where(correct, "62.01Z", "62.02A").astype(object)
    gold_code[status != "coded"] = None
    return pa.table(
        {
            "status": status.tolist(),
            "predicted_code": ["62.01Z"] * s.size,
            "gold_code": pa.array(gold_code.tolist(), pa.string()),
            "score": s,
            "confidence": s * 0.8,
            "weight": np.concatenate(weights),
            "stratum": [f"score_{h}" for h in np.digitize(s, EDGES)],
            "stratum_sample_size": np.concatenate(sizes),
            "stratum_population": np.concatenate(pops),
        }
    )


def new_traffic(seed: int, n: int = 200_000) -> np.ndarray:
    """Shifted towards lower scores: Beta(3, 2), mean 0.6 instead of 0.71."""
    return np.random.default_rng(seed + 10_000).beta(3, 2, n)


def test_estimate_lands_within_its_stated_error_and_beats_the_raw_mean_score():
    gold = reference_gold(seed=1)
    scores = new_traffic(seed=1)
    truth = float(g(scores).mean())
    result = estimate_accuracy_label_free(gold, scores, replicates=200, seed=0)

    assert isinstance(result, LabelFreeEstimate)
    assert result.ci_low <= truth <= result.ci_high
    assert abs(result.estimate - truth) < 0.02
    assert result.ci_low < result.estimate < result.ci_high
    assert 0.005 < result.ci_high - result.ci_low < 0.08  # informative, not degenerate
    assert result.n_reference == 1500 - 30 and result.n_traffic == scores.size
    assert result.score_column == "score" and result.window is None
    # The traffic term is negligible next to the reference bootstrap on 200,000 requests.
    assert result.traffic_se < 0.2 * result.reference_se

    # The raw mean score overstates the accuracy of this overconfident model: far outside.
    raw = float(scores.mean())
    assert raw - truth > 0.08 and raw > result.ci_high
    assert result.mean_score == pytest.approx(raw)
    # The reference covers the traffic's scores: few of them fall in its sparse tails.
    assert result.sparse_share < 0.06


def test_sparse_share_flags_traffic_beyond_the_reference():
    gold = reference_gold(seed=8)
    same = np.random.default_rng(8).beta(5, 2, 100_000)
    assert estimate_accuracy_label_free(gold, same, replicates=5).sparse_share < 0.03
    low = np.random.default_rng(8).beta(1, 4, 100_000)  # mostly below any reference score
    assert estimate_accuracy_label_free(gold, low, replicates=5).sparse_share > 0.5


def test_same_point_estimate_as_the_calibration_module():
    gold = reference_gold(seed=2)
    scores = new_traffic(seed=2, n=20_000)
    result = estimate_accuracy_label_free(gold, scores, replicates=20)
    assert result.estimate == pytest.approx(calibrated_accuracy_estimate(gold, scores), abs=1e-12)


def test_interval_covers_the_truth_in_most_runs():
    covered, errors = 0, []
    runs = 20
    for seed in range(runs):
        gold = reference_gold(seed=100 + seed)
        scores = new_traffic(seed=100 + seed, n=50_000)
        truth = float(g(scores).mean())
        result = estimate_accuracy_label_free(gold, scores, replicates=200, seed=seed)
        covered += result.ci_low <= truth <= result.ci_high
        errors.append(result.estimate - truth)
    assert covered >= 0.8 * runs, f"covered {covered}/{runs}"
    assert abs(np.mean(errors)) < 0.01  # no systematic bias


def test_design_weights_and_non_coded_rows_are_respected():
    gold = reference_gold(seed=3)
    scores = new_traffic(seed=3, n=20_000)
    base = estimate_accuracy_label_free(gold, scores, replicates=20).estimate

    # Non-coded rows carry no weight in the fit: flipping their gold code changes nothing.
    status = np.array(gold["status"].to_pylist())
    codes = np.array(gold["gold_code"].to_pylist(), dtype=object)
    codes[status != "coded"] = "62.01Z"
    same = gold.set_column(2, "gold_code", pa.array(codes.tolist(), pa.string()))
    assert estimate_accuracy_label_free(same, scores, replicates=20).estimate == base

    # Weights matter: making the top stratum's wrong answers weigh 20x lowers the estimate.
    top = (np.array(gold["stratum"].to_pylist()) == "score_3") & (codes == "62.02A")
    heavy = np.where(top, 20.0 * gold["weight"].to_numpy(), gold["weight"].to_numpy())
    reweighted = gold.set_column(5, "weight", pa.array(heavy))
    assert estimate_accuracy_label_free(reweighted, scores, replicates=20).estimate < base - 0.01


def test_two_hundred_replicates_run_in_a_few_seconds():
    gold = reference_gold(seed=4)
    scores = new_traffic(seed=4, n=1_000_000)
    start = time.perf_counter()
    result = estimate_accuracy_label_free(gold, scores, replicates=200)
    assert time.perf_counter() - start < 3.0
    assert result.replicates == 200
    again = estimate_accuracy_label_free(gold, scores, replicates=200)
    assert (again.ci_low, again.ci_high) == (result.ci_low, result.ci_high)  # seeded


def test_concept_drift_makes_the_two_estimates_part_ways():
    gold = reference_gold(seed=5)
    scores = new_traffic(seed=5)
    rng = np.random.default_rng(55)
    label_free = estimate_accuracy_label_free(gold, scores, replicates=200)

    # Same relation between score and correctness: both agree.
    stable = float((rng.random(scores.size) < g(scores)).mean())
    agree = compare_with_gold(
        label_free, {"estimate": stable, "ci_low": stable - 0.005, "ci_high": stable + 0.005}
    )
    assert agree["diverged"] is False
    assert abs(agree["gap"]) < 0.02

    # Concept drift: same scores, but the model is right less often at every score level,
    # so the true accuracy drops by 0.1 while the label-free estimate cannot see it.
    drifted_g = g(scores) * (1.0 - 0.1 / g(scores).mean())
    drifted = float((rng.random(scores.size) < drifted_g).mean())
    assert stable - drifted == pytest.approx(0.1, abs=0.01)
    gold_figure = {
        "estimate": drifted,
        "ci_low": drifted - 0.005,
        "ci_high": drifted + 0.005,
        "n": 2000,
        "method": "wilson",
    }
    parted = compare_with_gold(label_free, gold_figure)
    assert parted["diverged"] is True
    assert parted["gap"] == pytest.approx(label_free.estimate - drifted)
    assert parted["gap"] > 0.07
    assert parted["gold"]["method"] == "wilson" and parted["gold"]["n"] == 2000
    assert parted["label_free"]["ci_low"] == label_free.ci_low


def test_compare_with_gold_edges():
    lf = LabelFreeEstimate(0.80, 0.78, 0.82, n_reference=100, n_traffic=1000)
    touching = compare_with_gold(lf, {"estimate": 0.85, "ci_low": 0.82, "ci_high": 0.88})
    assert touching["diverged"] is False  # intervals touch: they overlap
    below = compare_with_gold(lf, {"estimate": 0.74, "ci_low": 0.72, "ci_high": 0.779})
    assert below["diverged"] is True and below["gap"] == pytest.approx(0.06)
    unknown = compare_with_gold(lf, {"estimate": None, "ci_low": None, "ci_high": None, "n": 0})
    assert unknown["diverged"] is False and math.isnan(unknown["gap"])
    nan = compare_with_gold(lf, {"estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan})
    assert nan["diverged"] is False


def test_interpolation_weights_reproduce_the_mean_of_the_interpolated_map():
    rng = np.random.default_rng(0)
    grid = np.sort(rng.uniform(0.2, 0.9, 50))
    values = rng.uniform(0, 1, 5000)  # some below and above the grid: clipped map
    values[:3] = grid[:3]  # exactly on knots
    y = np.sort(rng.uniform(0, 1, 50))
    a = _interpolation_weights(grid, values)
    assert a.sum() == pytest.approx(1.0)
    assert a @ y == pytest.approx(np.interp(values, grid, y).mean(), abs=1e-12)
    single = _interpolation_weights(np.array([0.5]), values)
    assert single.tolist() == [1.0]


def test_invalid_inputs():
    gold = reference_gold(seed=6, per_stratum=20, non_coded=0)
    with pytest.raises(ValueError, match="traffic scores"):
        estimate_accuracy_label_free(gold, np.array([0.5, 1.2]))
    with pytest.raises(ValueError, match="no traffic score"):
        estimate_accuracy_label_free(gold, np.array([]))
    with pytest.raises(ValueError, match="replicates"):
        estimate_accuracy_label_free(gold, np.array([0.5]), replicates=1)
    with pytest.raises(ValueError, match="lacks column"):
        estimate_accuracy_label_free(gold.drop_columns(["score"]), np.array([0.5]))
    with pytest.raises(ValueError, match="invalid score column"):
        estimate_accuracy_label_free(gold, np.array([0.5]), score_column='score"; DROP')
    none_coded = gold.set_column(0, "status", pa.array(["skipped"] * gold.num_rows))
    with pytest.raises(ValueError, match="no coded row"):
        estimate_accuracy_label_free(none_coded, np.array([0.5]))


def _write_traffic(root: Path) -> dict[str, np.ndarray]:
    """Three days of traffic in hive partitions; one null score on the second day."""
    rng = np.random.default_rng(7)
    days = {"2026-09-01": 3000, "2026-09-02": 4000, "2026-09-03": 5000}
    written = {}
    for day, n in days.items():
        score = rng.uniform(0, 1, n)
        values = pa.array(score, mask=np.arange(n) == 0 if day == "2026-09-02" else None)
        folder = root / "traffic" / f"day={day}"
        folder.mkdir(parents=True)
        pq.write_table(
            pa.table(
                {
                    "request_id": [f"{day}-{i}" for i in range(n)],
                    "predicted_code": ["62.01Z"] * n,
                    "score": values,
                    "confidence": score / 2,
                }
            ),
            folder / "part-0.parquet",
        )
        written[day] = score
    return written


def test_traffic_scores_reads_the_window_and_subsamples_reproducibly(tmp_path: Path):
    written = _write_traffic(tmp_path)
    storage = Storage.open(str(tmp_path))
    window = Window(date(2026, 9, 2), date(2026, 9, 4))  # the last two days

    scores = traffic_scores(storage, window)
    expected = np.concatenate([written["2026-09-02"][1:], written["2026-09-03"]])
    assert np.sort(scores) == pytest.approx(np.sort(expected))

    half = traffic_scores(storage, window, "confidence")
    assert half.size == 9000 and half.max() <= 0.5

    sub = traffic_scores(storage, window, max_rows=1000, seed=3)
    assert sub.size == 1000 and np.isin(sub, expected).all()
    again = traffic_scores(storage, window, max_rows=1000, seed=3)
    assert np.array_equal(np.sort(sub), np.sort(again))
    other = traffic_scores(storage, window, max_rows=1000, seed=4)
    assert not np.array_equal(np.sort(sub), np.sort(other))
    assert traffic_scores(storage, window, max_rows=50_000).size == expected.size

    with pytest.raises(EmptySelectionError):
        traffic_scores(storage, Window(date(2027, 1, 1), date(2027, 1, 2)))
    with pytest.raises(ValueError, match="invalid score column"):
        traffic_scores(storage, window, "score; DROP TABLE x")


# --- the CLI command, on local storage and SQLite --------------------------------------------

CLI_DAYS = {"2026-09-01": 20_000, "2026-09-02": 20_000, "2026-09-03": 20_000}


def _gold_export(storage: Storage, campaign_id: int, gold: pa.Table) -> None:
    """A gold table as an export writes it, with the columns the metrics read."""
    n = gold.num_rows
    predicted = gold["predicted_code"].to_pylist()
    gold = gold.append_column("predicted_codes", pa.array([[c, "01.11Z"] for c in predicted]))
    gold = gold.append_column("request_id", pa.array([f"r{i}" for i in range(n)]))
    storage.write_table(gold, export_dir(campaign_id, "v1"), "gold.parquet")
    storage.write_bytes(b"v1", f"exports/campaign={campaign_id}/LATEST")


def _add_campaign(session, name: str, start: date, end: date, design: str) -> int:
    session.add(
        Sample(
            id=f"sample-{name}",
            window_start=start,
            window_end=end,
            design=design,
            population_size=60_000,
            sample_size=1500,
            uri=f"samples/{name}",
        )
    )
    session.commit()
    campaign = crud.add_campaign(session, CampaignCreate(name=name, sample_id=f"sample-{name}"))
    assert campaign.id is not None
    return campaign.id


@pytest.fixture
def estimate_cli(local_env):
    """Traffic of 2026-09-01..03 with Beta(5, 2) scores; campaign 'ref' (an earlier,
    stratified gold sample), 'same' (a gold sample of the window, same calibration) and
    'drifted' (a gold sample of the window where the model is right 10 points less often)."""
    settings = get_settings()
    storage = Storage.from_settings(settings)
    rng = np.random.default_rng(11)
    window_scores = []
    for day, n in CLI_DAYS.items():
        score = rng.beta(5, 2, n)
        window_scores.append(score)
        storage.write_table(
            pa.table({"request_id": [f"{day}-{i}" for i in range(n)], "score": score,
                      "confidence": score, "predicted_code": ["62.01Z"] * n}),
            "traffic", f"day={day}", "part-0.parquet",
        )  # fmt: skip
    scores = np.concatenate(window_scores)
    drawn = rng.choice(scores, size=2000, replace=False)

    def srs(p_right: np.ndarray) -> pa.Table:
        right = rng.random(drawn.size) < p_right
        return pa.table(
            {
                "status": ["coded"] * drawn.size,
                "predicted_code": ["62.01Z"] * drawn.size,
                "gold_code": np.where(right, "62.01Z", "62.02A").tolist(),
                "score": drawn,
                "confidence": drawn,
                "weight": np.full(drawn.size, scores.size / drawn.size),
            }
        )

    with session_scope(settings) as session:
        ref = _add_campaign(session, "ref", date(2026, 6, 1), date(2026, 7, 1), "stratified")
        same = _add_campaign(session, "same", date(2026, 9, 1), date(2026, 9, 4), "srs")
        drifted = _add_campaign(session, "drifted", date(2026, 9, 1), date(2026, 9, 4), "srs")
        _add_campaign(session, "unexported", date(2026, 9, 1), date(2026, 9, 4), "srs")
    _gold_export(storage, ref, reference_gold(seed=12))
    _gold_export(storage, same, srs(g(drawn)))
    _gold_export(storage, drifted, srs(g(drawn) * (1.0 - 0.1 / g(scores).mean())))

    app = typer.Typer(cls=_FriendlyErrors)

    @app.callback()
    def main() -> None:
        """Test group: the estimate command as the real CLI will hold it."""

    register(app)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["estimate", *args], catch_exceptions=False)

    return invoke, float(g(scores).mean())


def test_cli_agrees_without_drift_and_warns_on_concept_drift(estimate_cli):
    invoke, truth = estimate_cli
    window = ["--days", "3", "--end", "2026-09-03"]

    agree = invoke("ref", *window, "--gold", "same")
    assert agree.exit_code == 0, agree.output
    assert "Accuracy of the traffic 2026-09-01 to 2026-09-03" in agree.output
    assert "60,000 requests" in agree.output and "2,000 coded units" in agree.output
    assert "The two estimates agree" in agree.output and "WARNING" not in agree.output
    assert "Note: the gold sample is from" not in agree.output  # same window

    drift = invoke("ref", *window, "--gold", "drifted", "--replicates", "100")
    assert drift.exit_code == 0, drift.output
    assert "WARNING" in drift.output and "concept drift" in drift.output
    assert "The two estimates agree" not in drift.output
    gap = float(drift.output.split("Gap (label-free - gold): ")[1].split(" points")[0])
    assert 6.0 < gap < 14.0

    # Default: beside the reference's own gold figure, from another window (noted).
    own = invoke("ref", *window, "--max-rows", "5000")
    assert own.exit_code == 0, own.output
    assert "5,000 requests" in own.output
    assert "Note: the gold sample is from 2026-06-01 to 2026-06-30" in own.output
    (row,) = [line for line in own.output.splitlines() if "label-free (ref)" in line]
    shown = float(row.split("│")[2].strip().rstrip("%")) / 100
    assert abs(shown - truth) < 0.03  # the label-free figure is near the window's accuracy


def test_cli_errors_are_one_line_with_exit_code_2(estimate_cli):
    invoke, _ = estimate_cli
    missing = invoke("unexported", "--days", "3", "--end", "2026-09-03")
    assert missing.exit_code == 2 and "has no export yet" in missing.output
    empty = invoke("ref", "--days", "3", "--end", "2027-09-03")
    assert empty.exit_code == 2 and "No traffic between" in empty.output
    bad = invoke("ref", "--end", "03/09/2026")
    assert bad.exit_code == 2 and "Invalid --end" in bad.output
    unknown = invoke("nope")
    assert unknown.exit_code == 2 and "No campaign 'nope'" in unknown.output


def test_tiny_reference_still_gives_an_interval():
    tiny = pa.table(
        {
            "status": ["coded", "coded", "coded", "skipped"],
            "predicted_code": ["A", "A", "A", "A"],
            "gold_code": ["A", "B", "A", None],
            "score": [0.3, 0.5, 0.9, 0.1],
        }
    )
    result = estimate_accuracy_label_free(tiny, np.array([0.2, 0.6, 0.95]), replicates=50)
    assert 0.0 <= result.ci_low <= result.estimate <= result.ci_high <= 1.0
    assert result.n_reference == 3
