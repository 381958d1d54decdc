"""Synthetic traffic draws its codes from the real NAF rév.2 subclasses, reproducibly."""

from __future__ import annotations

from datetime import date

import pyarrow.compute as pc

from campaigns.traffic.synthetic import generate_traffic, naf_subclasses
from nace_mapping import Nomenclature, normalize_code


def test_default_codes_are_the_732_official_subclasses_with_their_titles():
    codes, titles = naf_subclasses()
    naf2008 = Nomenclature.builtin("naf2008")
    assert list(codes) == naf2008.subclasses and len(codes) == 732
    assert titles[codes.index("62.01Z")] == "Programmation informatique"


def test_every_true_and_predicted_code_is_a_real_subclass():
    traffic = generate_traffic(n=20_000, end=date(2026, 9, 30), seed=1)
    real = set(naf_subclasses()[0])
    truth = set(traffic.truth.column("true_code").to_pylist())
    assert truth <= real and len(truth) > 500  # Zipf-like, but the tail is reached
    predicted = pc.list_flatten(traffic.logs.column("predictions")).combine_chunks()
    undotted = set(predicted.field("code").to_pylist())
    assert {normalize_code(code) for code in undotted} <= real
    section_of = Nomenclature.builtin("naf2008").levels_table()
    sections = {row["section"] for row in section_of.to_pylist() if row["subclass"] in truth}
    assert len(sections) == 21


def test_same_seed_same_lines_and_explicit_codes_still_work():
    a = generate_traffic(n=500, end=date(2026, 9, 30), seed=7)
    b = generate_traffic(n=500, end=date(2026, 9, 30), seed=7)
    assert a.logs.equals(b.logs) and a.truth.equals(b.truth)
    own = generate_traffic(
        ["01.11Z", "01.12Z", "01.13Z", "01.14Z", "01.15Z"],
        ["A", "B", "C", "D", "E"],
        n=50,
        end=date(2026, 9, 30),
    )
    assert set(own.truth.column("true_code").to_pylist()) <= {
        "01.11Z",
        "01.12Z",
        "01.13Z",
        "01.14Z",
        "01.15Z",
    }
