"""Word-by-word TF-IDF of character n-grams equals scikit-learn's; context tokens."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
from sklearn.feature_extraction.text import TfidfVectorizer

from campaigns.duck import connect
from campaigns.recoding.features import TextFeatures, context_sql

TEXTS = [
    "MACONNERIE GENERALE",
    "Maçonnerie  générale et  rénovation",
    "FAB. MEUBLES MEUBLES",
    "",
    "vente de pain",
    "boulangerie patisserie vente",
]


def test_word_by_word_counts_give_scikit_learns_tfidf_exactly():
    texts = pa.array(TEXTS)
    ours = TextFeatures(ngram_range=(2, 4), min_words=1, context_weight=0.0).fit(texts)
    reference = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 4),
        strip_accents="unicode",
        sublinear_tf=True,
        vocabulary=ours._ngrams.vocabulary_,  # the same columns, in the same order
        dtype=np.float32,
    ).fit(TEXTS)
    expected = reference.transform([*TEXTS, "pain et meubles"]).toarray()
    got = ours.transform(pa.array([*TEXTS, "pain et meubles"])).toarray()
    assert got.shape == expected.shape
    assert np.allclose(got, expected, atol=1e-6)


def test_context_becomes_scaled_one_hot_columns_and_unknown_tokens_are_dropped():
    features = TextFeatures(min_words=1, context_weight=0.5).fit(
        pa.array(["a b", "c d"]), pa.array(["cj=5499 activ_nat_et=14", None])
    )
    width = features.n_features
    matrix = features.transform(
        pa.array(["a b", "a b"]), pa.array(["cj=5499 cj=9999", None])
    ).toarray()
    assert matrix.shape == (2, width)
    context = matrix[:, width - 2 :]
    assert sorted(context[0]) == [0.0, 0.5] and context[1].sum() == 0.0


def run(sql_expression: str, table: pa.Table) -> list:
    with connect() as con:
        con.register("t", table)
        return [r[0] for r in con.execute(f"SELECT {sql_expression} FROM t").fetchall()]


def test_context_tokens_from_columns_json_or_struct():
    columns = pa.table({"cj": ["5499", None], "activ_nat_et": ["14", "SANS OBJET"], "x": [1, 2]})
    assert run(context_sql(columns.schema), columns) == [
        "cj=5499 activ_nat_et=14",
        "activ_nat_et=SANS_OBJET",
    ]
    as_json = pa.table({"context": [json.dumps({"cj": "5710"}), None]})
    assert run(context_sql(as_json.schema), as_json) == ["cj=5710", None]
    as_struct = pa.table({"context": pa.array([{"cj": "1000", "other": "z"}])})
    assert run(context_sql(as_struct.schema), as_struct) == ["cj=1000"]
    assert run(context_sql(pa.table({"y": [1]}).schema), pa.table({"y": [1]})) == [None]
