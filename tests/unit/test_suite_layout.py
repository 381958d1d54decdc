"""The suite collects as one: pytest imports test files by their base name (no packages under
tests/), so two test modules with the same name in unit/ and integration/ stop `make test`
at collection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_two_test_modules_share_a_name():
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
