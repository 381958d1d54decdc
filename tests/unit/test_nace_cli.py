"""``campaigns nace`` with no settings works on the built-in official tables."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from campaigns.config import get_settings
from campaigns.nomenclatures import _correspondence, _nomenclature
from nace_mapping import Correspondence, Nomenclature
from nace_mapping.builtin import CORRESPONDENCE, data_file


@pytest.fixture(autouse=True)
def fresh_tables(local_env):
    """No CAMPAIGNS_* table setting, and no table cached by an earlier test's settings."""
    _nomenclature.cache_clear()
    _correspondence.cache_clear()
    yield
    _nomenclature.cache_clear()
    _correspondence.cache_clear()


def test_show_lists_the_naf2025_candidates_with_their_titles(cli):
    out = cli("nace", "show", "47.99A").output
    assert "Vente à domicile" in out and "NAF rév.2 (Insee)" in out
    corr, naf2025 = Correspondence.builtin(), Nomenclature.builtin("naf2025")
    candidates = corr.candidates("47.99A")
    assert len(candidates) > 20
    assert f"multivocal ({len(candidates)} candidates" in out
    for code in candidates:
        assert code in out
    assert "Commerce de détail de livres" in out  # 47.61Y's title
    assert all(naf2025.title(code) for code in candidates)


def test_candidates_and_the_new_edition_side(cli):
    out = cli("nace", "candidates", "0111z").output
    assert "01.11Z -> NAF 2025 (Insee): univocal" in out and "01.11Y" in out
    out = cli("nace", "show", "--new", "46.89Y").output
    assert "Autre commerce de gros spécialisé n.c.a." in out and "no source code" in out
    out = cli("nace", "show", "--new", "01.11Y").output
    assert "01.11Z" in out and "1 code" in out


def test_unknown_codes_are_one_line_errors(cli):
    result = cli("nace", "candidates", "0111", ok=False)
    assert result.exit_code == 2 and "01.11 is a class" in result.output
    result = cli("nace", "show", "--new", "99.00Y", ok=False)
    assert result.exit_code == 2 and "known gap" in result.output


def test_a_broken_configured_correspondence_names_setting_file_and_row(
    cli, tmp_path: Path, monkeypatch
):
    raw = data_file(CORRESPONDENCE.filename).read_bytes().decode("utf-8")
    frame = pd.read_csv(io.StringIO(raw), dtype=str, keep_default_na=False)
    frame.loc[15, "naf_2025"] = "C"
    frame.to_csv(tmp_path / "corr.csv", index=False)
    monkeypatch.setenv("CAMPAIGNS_CORRESPONDENCE", str(tmp_path / "corr.csv"))
    get_settings.cache_clear()
    result = cli("nace", "candidates", "47.99A", ok=False)
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "CAMPAIGNS_CORRESPONDENCE" in message
    assert "corr.csv, row 17: new code 'C' is not a subclass" in message
