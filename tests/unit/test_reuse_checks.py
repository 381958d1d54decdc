"""Reuse of earlier gold: keyed by text and context, unanimous only, measured on check units."""

from __future__ import annotations

import pyarrow as pa
import pytest
from rich.console import Console

from campaigns.gold.reused import reuse_summary, with_reused_gold
from campaigns.metrics.reuse_check import reuse_check_agreement
from campaigns.sampling.reuse import check_count, mark_reused, units_to_annotate
from services.cli.figures_table import print_reuse_checks

CTX_A = '{"cj":"5499","activ_nat_et":"14"}'
CTX_A_REORDERED = '{"activ_nat_et": "14", "cj": "5499"}'
CTX_B = '{"cj":"1000","activ_nat_et":"14"}'


def _earlier(rows: list[tuple[str, str | None, str | None, str, int]]) -> pa.Table:
    text, context, code, status, campaign = zip(*rows, strict=True)
    return pa.table(
        {
            "text_norm": pa.array(text, pa.string()),
            "context": pa.array(context, pa.string()),
            "reused_gold_code": pa.array(code, pa.string()),
            "reused_status": pa.array(status, pa.string()),
            "reused_from_campaign": pa.array(campaign, pa.int64()),
        }
    )


def _sample(rows: list[tuple[str, str, str | None]]) -> pa.Table:
    ids, text, context = zip(*rows, strict=True)
    return pa.table(
        {
            "request_id": pa.array(ids, pa.string()),
            "text_norm": pa.array(text, pa.string()),
            "context": pa.array(context, pa.string()),
        }
    )


def test_a_label_is_reused_only_in_the_context_the_experts_saw():
    earlier = _earlier(
        [
            ("FABRICATION", CTX_A, "25.62B", "coded", 1),
            ("DE", None, "47.19B", "coded", 1),
            ("TAXI", "{}", "49.32Z", "coded", 2),
        ]
    )
    sample = _sample(
        [
            ("1", "FABRICATION", CTX_A_REORDERED),  # same context, keys in another order
            ("2", "FABRICATION", CTX_B),  # another context: experts decide
            ("3", "FABRICATION", None),
            ("4", "DE", None),  # no context on either side
            ("5", "DE", CTX_A),
            ("6", "TAXI", None),  # an empty context is no context
        ]
    )
    marked = mark_reused(sample, earlier, seed=3, check_share=0.01)
    reusable = [p != "new" for p in marked["gold_provenance"].to_pylist()]
    assert reusable == [True, False, False, True, False, True]
    assert marked["reused_gold_code"].to_pylist() == [
        "25.62B",
        None,
        None,
        "47.19B",
        None,
        "49.32Z",
    ]
    assert marked["earlier_gold_conflict"].to_pylist() == [False] * 6
    # The sample's own columns come back unchanged, in order.
    assert marked["context"].to_pylist() == sample["context"].to_pylist()


def test_earlier_gold_that_disagrees_sends_the_unit_to_experts_and_is_counted():
    earlier = _earlier(
        [
            ("DE", CTX_A, "47.19B", "coded", 1),
            ("DE", CTX_A, "46.90Z", "coded", 2),  # another campaign, another code
            ("FABRICATION", None, "25.62B", "coded", 1),
            ("FABRICATION", None, None, "cannot_code", 1),  # coded once, uncodable once
            ("COMMERCE", None, None, "disagreement", 2),  # the experts tied
            ("COMMERCE", None, "47.19B", "coded", 1),
            ("BOULANGERIE", None, "10.71C", "coded", 1),
            ("BOULANGERIE", None, "10.71C", "coded", 3),  # unanimous over two campaigns
            ("BOULANGERIE", CTX_B, "10.71D", "coded", 3),  # another context: another key
        ]
    )
    sample = _sample(
        [
            ("1", "DE", CTX_A),
            ("2", "DE", CTX_A_REORDERED),
            ("3", "FABRICATION", None),
            ("4", "COMMERCE", None),
            ("5", "BOULANGERIE", None),
            ("6", "BOULANGERIE", "{}"),
            ("7", "DE", None),
        ]
    )
    marked = mark_reused(sample, earlier, seed=0, check_share=0.5)
    assert marked["earlier_gold_conflict"].to_pylist() == [True] * 4 + [False] * 3
    provenance = marked["gold_provenance"].to_pylist()
    assert provenance[:4] == ["new"] * 4 and provenance[6] == "new"
    assert sorted(provenance[4:6]) == ["check", "reused"]
    assert marked["reused_gold_code"].to_pylist()[4:6] == ["10.71C", "10.71C"]
    assert marked["reused_from_campaign"].to_pylist()[4:6] == [3, 3]
    assert units_to_annotate(marked).num_rows == 6
    summary = reuse_summary(with_reused_gold(pa.table({}), marked, 9), marked)
    assert summary["conflicts"] == 4 and summary["check_units"] == 1 and summary["units"] == 1


def test_the_check_is_a_seeded_share_of_the_reusable_units_and_never_empty():
    assert [check_count(n, 0.1) for n in (0, 1, 9, 10, 11, 200)] == [0, 1, 1, 1, 2, 20]
    assert check_count(5, 1.0) == 5
    texts = [f"T{i}" for i in range(60)]
    earlier = _earlier([(t, None, "01.11Z", "coded", 1) for t in texts])
    sample = _sample([(str(i), t, None) for i, t in enumerate([*texts, "NEW"])])

    def checked(seed: int, share: float = 0.1) -> list[str]:
        marked = mark_reused(sample, earlier, seed=seed, check_share=share)
        provenance = marked["gold_provenance"].to_pylist()
        assert provenance[-1] == "new"
        ids = marked["request_id"].to_pylist()
        return [r for r, p in zip(ids, provenance, strict=True) if p == "check"]

    first = checked(1)
    assert len(first) == 6
    assert checked(1) == first  # same seed, same check units
    assert checked(2) != first
    assert len(checked(1, share=0.001)) == 1
    # Over seeds every reusable unit has the same chance: none is always or never chosen.
    chosen = [r for seed in range(30) for r in checked(seed)]
    counts = [chosen.count(str(i)) for i in range(60)]
    assert max(counts) <= 12 and sum(c > 0 for c in counts) >= 40


def _checked_gold(reused: list[str], expert: list[tuple[str, str | None]]) -> pa.Table:
    n = len(reused)
    return pa.table(
        {
            "request_id": [str(i) for i in range(n)],
            "gold_provenance": ["check"] * n,
            "reused_gold_code": pa.array([None if c == "X" else c for c in reused], pa.string()),
            "reused_status": ["cannot_code" if c == "X" else "coded" for c in reused],
            "status": [s for s, _ in expert],
            "gold_code": pa.array([c for _, c in expert], pa.string()),
            "weight": [10.0] * n,
        }
    )


def test_the_check_agreement_has_its_interval_and_warns_below_the_experts_agreement():
    reused = ["01.11Z"] * 7 + ["X", "47.19B", "47.19B", "10.71C"]
    expert = [("coded", "01.11Z")] * 7 + [
        ("cannot_code", None),  # agrees: cannot be coded on both sides
        ("coded", "46.90Z"),
        ("coded", "46.19A"),
        ("skipped", None),  # says nothing of the reused code
    ]
    gold = _checked_gold(reused, expert)
    check = reuse_check_agreement(gold, inter_annotator=0.9)
    assert check["checked"] == 10 and check["agreeing"] == 8
    assert check["agreement"] == pytest.approx(0.8)
    # Wilson below (8 agreeing units), Jeffreys above (2 disagreeing).
    assert check["ci_low"] == pytest.approx(0.4902, abs=1e-4)
    assert check["ci_high"] == pytest.approx(0.9559, abs=1e-4)  # Beta(8.5, 2.5), 97.5%
    assert check["below_inter_annotator"] is True
    assert reuse_check_agreement(gold, inter_annotator=0.75)["below_inter_annotator"] is False
    assert reuse_check_agreement(gold)["below_inter_annotator"] is False

    console = Console(record=True, width=200)
    print_reuse_checks(console, {"conflicts": 3, "check_units": 11, "check": check})
    out = console.export_text()
    assert "3 drawn units had conflicting earlier gold: sent to experts." in out
    assert "Reuse checked on 10 unit(s) coded by experts: the reused label agrees on 8 " in out
    assert "(80.0%, 95% CI 49.0%-95.6%)" in out
    assert "experts agree with each other on 90.0% of pairs" in out
    assert "less often than experts agree with each other" in out


def test_unequal_weights_weigh_the_agreement():
    gold = _checked_gold(["A", "B"], [("coded", "A"), ("coded", "C")])
    gold = gold.set_column(6, "weight", pa.array([30.0, 10.0]))
    check = reuse_check_agreement(gold)
    assert check["agreement"] == pytest.approx(0.75)
    assert check["agreeing"] == 1
