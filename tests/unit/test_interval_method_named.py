"""The help text and the docs name the interval the code computes."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from campaigns.metrics import intervals
from services.cli import app

ROOT = Path(__file__).resolve().parents[2]


def test_metrics_help_and_docs_name_the_interval_the_code_uses():
    sparse = int(intervals.SPARSE_UNITS)
    assert intervals.score_interval.__doc__ is not None
    assert "Jeffreys" in intervals.score_interval.__doc__
    help_text = " ".join(
        CliRunner().invoke(app, ["metrics", "--help"], terminal_width=200).output.split()
    )
    help_text = re.sub(r"[│|]", " ", help_text)
    help_text = " ".join(help_text.split())
    docs = " ".join((ROOT / "docs" / "metrics.md").read_text(encoding="utf-8").split())
    for text in (help_text, docs):
        assert "Wilson score interval on the design's effective sample size" in text
        assert f"Jeffreys bounds on a side with fewer than {sparse} effective units" in text
        assert "bootstrap otherwise" not in text
        assert "Clopper-Pearson) bounds on a side" not in text
