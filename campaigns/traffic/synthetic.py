"""Realistic synthetic prediction logs, for the demo, the tests and the benchmarks.

Texts look like real declarations (upper case, unaccented, abbreviated, with legal-form noise);
scores have the bimodal confidence distribution of a fastText model in production, and the
model is right more often when it is confident. The true code of every line is returned too,
so simulated experts can annotate it. Codes are drawn from the 732 real NAF rév.2 subclasses
(the built-in official table) unless the caller gives its own list. Everything is vectorised
with numpy: 1M lines take a few seconds.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa

from campaigns.duck import connect, quote_literal
from nace_mapping import Nomenclature

PREFIXES = np.array(
    [
        "",
        "",
        "",
        "",
        "ACTIVITE DE ",
        "EXPLOITATION ",
        "SARL ",
        "PRESTATION DE ",
        "ENTREPRISE DE ",
        "AUTO ENTREPRENEUR ",
        "CREATION D UNE ACTIVITE DE ",
        "SAS ",
    ]
)
SUFFIXES = np.array(
    [
        "",
        "",
        "",
        "",
        " A DOMICILE",
        " ET SERVICES ANNEXES",
        " SUR MARCHES",
        " EN LIGNE",
        " ET CONSEIL",
        " NON SEDENTAIRE",
        " DIVERS",
    ]
)
ABBREVIATIONS = {
    "FABRICATION": "FAB",
    "COMMERCE": "COMM",
    "TRAVAUX": "TRAV",
    "SERVICES": "SERV",
    "ACTIVITES": "ACT",
    "INSTALLATION": "INSTALL",
    "ENTRETIEN": "ENTR",
}
LEGAL_FORMS = np.array(["1000", "5499", "5710", "5498", "5720", "6540", "9220"])
NATURES = np.array(["04", "09", "10", "14", "16", "17", "20", "99"])
EVENTS = np.array(["01P", "05P", "01M", "02P", "07P"])
FORMS = np.array(["M", "C", "X", "P", "A"])


@dataclass
class SyntheticTraffic:
    """The log lines (as an Arrow table in the log schema) and each line's true code."""

    logs: pa.Table
    truth: pa.Table

    def write_jsonl(self, path: Path) -> Path:
        """Write the logs as JSON lines with DuckDB (fast, and the exact log format)."""
        with connect() as con:
            con.register("logs", self.logs)
            con.execute(
                "COPY (SELECT * REPLACE (strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%fZ') AS "
                f"timestamp) FROM logs) TO {quote_literal(str(path))} (FORMAT JSON)"
            )
        return path


def _array(values: np.ndarray) -> pa.Array:
    """numpy -> one Arrow array (large inputs come back chunked from ``pa.array``)."""
    arr = pa.array(values)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.upper().replace("'", " ").replace(",", "").replace("(", "").replace(")", "")
    words = [ABBREVIATIONS.get(w, w) for w in text.split()]
    return " ".join(words)


@lru_cache(maxsize=1)
def naf_subclasses() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The 732 NAF rév.2 subclasses and their titles, loaded once per process.

    Real codes make the synthetic traffic exercise what production does: every section and
    division (stratification, team routing), the real titles experts read, and old codes the
    NAF 2025 correspondence knows (transition campaigns).
    """
    nomenclature = Nomenclature.builtin("naf2008")
    codes = tuple(nomenclature.subclasses)
    return codes, tuple(nomenclature.title(code) or code for code in codes)


def generate_traffic(
    codes: list[str] | None = None,
    titles: list[str] | None = None,
    *,
    n: int,
    end: date | None = None,
    days: int = 90,
    seed: int = 0,
    model_version: str = "2.1.0",
) -> SyntheticTraffic:
    """``n`` log lines over the ``days`` days ending with ``end`` (default: today, UTC).

    ``codes`` and ``titles`` (same length) default to the real NAF rév.2 subclasses; the same
    ``seed`` gives the same lines.
    """
    if codes is None:
        codes, titles = map(list, naf_subclasses())
    if titles is None or len(titles) != len(codes):
        raise ValueError("generate_traffic needs one title per code")
    rng = np.random.default_rng(seed)
    end = end or datetime.now(UTC).date()
    codes_arr = np.array(codes)
    k = len(codes_arr)
    # Zipf-like popularity: a few activities (building, retail, consulting) dominate.
    popularity = 1.0 / np.arange(1, k + 1) ** 0.9
    popularity = rng.permutation(popularity / popularity.sum())
    true_idx = rng.choice(k, size=n, p=popularity)

    # Real declarations are often truncated: variants keep the first 2, 3, 4 words or all.
    variants = np.array(
        [[" ".join(_plain(t).split()[:cut]) for cut in (2, 3, 4, 99, 99)] for t in titles]
    )
    base = variants[true_idx, rng.integers(0, variants.shape[1], size=n)]
    texts = np.char.add(
        np.char.add(PREFIXES[rng.integers(0, len(PREFIXES), n)], base),
        SUFFIXES[rng.integers(0, len(SUFFIXES), n)],
    )

    # Top score: mostly high, a long tail of hesitant predictions.
    s1 = np.clip(rng.beta(4.0, 1.0, size=n), 0.05, 0.999)
    gap_share = rng.uniform(0.3, 0.95, size=n)
    s2 = (1 - s1) * gap_share
    rest = 1 - s1 - s2
    shares = rng.dirichlet(np.ones(3), size=n)
    s345 = rest[:, None] * np.sort(shares, axis=1)[:, ::-1]
    scores = -np.sort(-np.column_stack([s1, s2, s345]), axis=1)
    # The model is right with a probability that grows with its top score (roughly calibrated).
    correct = rng.random(n) < (0.15 + 0.83 * s1**1.5)
    # Five distinct candidate codes per line: the truth first when correct, else at rank 2-5
    # (or absent, one time in three).
    if k < 5:
        raise ValueError("synthetic traffic needs a nomenclature of at least 5 codes")
    step = (k - 1) // 4
    offsets = np.zeros((n, 5), dtype=np.int64)
    offsets[:, 1:] = 1 + np.arange(4) * step + rng.integers(0, step, size=(n, 4))
    cand = (true_idx[:, None] + offsets) % k
    wrong_rank = rng.integers(1, 5, size=n)
    absent = rng.random(n) < 0.33
    rows = np.arange(n)
    swapped = cand.copy()
    swapped[rows, 0] = cand[rows, wrong_rank]
    swapped[rows, wrong_rank] = np.where(absent, cand[rows, (wrong_rank % 4) + 1], cand[rows, 0])
    cand = np.where(correct[:, None], cand, swapped)

    start = datetime.combine(end - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)
    seconds = np.sort(rng.uniform(0, days * 86400, size=n))
    timestamps = pa.array(
        (
            np.datetime64(start.replace(tzinfo=None), "us")
            + (seconds * 1e6).astype("timedelta64[us]")
        ),
        pa.timestamp("us", tz="UTC"),
    )
    request_ids = np.char.add(f"req-{seed}-", np.arange(n).astype(str))

    undotted = np.char.replace(codes_arr, ".", "")
    predictions = pa.StructArray.from_arrays(
        [_array(undotted[cand].ravel()), _array(np.round(scores, 6).ravel())],
        names=["code", "score"],
    )
    pred_lists = pa.ListArray.from_arrays(
        pa.array(np.arange(0, 5 * n + 1, 5, dtype=np.int32)), predictions
    )
    surface = np.where(rng.random(n) < 0.8, None, np.round(rng.lognormal(4, 1, n), 1))
    context = pa.StructArray.from_arrays(
        [
            pa.array(LEGAL_FORMS[rng.integers(0, len(LEGAL_FORMS), n)]),
            pa.array(NATURES[rng.integers(0, len(NATURES), n)]),
            pa.array(surface.tolist(), pa.float64()),
            pa.array(EVENTS[rng.integers(0, len(EVENTS), n)]),
            pa.array(FORMS[rng.integers(0, len(FORMS), n)]),
            pa.array(np.where(rng.random(n) < 0.9, "P", "S")),
        ],
        names=[
            "cj",
            "activ_nat_et",
            "activ_surf_et",
            "evenement_type",
            "liasse_type",
            "activ_perm_et",
        ],
    )
    logs = pa.table(
        {
            "request_id": pa.array(request_ids),
            "timestamp": timestamps,
            "text": pa.array(texts),
            "context": context,
            "predictions": pred_lists,
            "model_name": pa.array(np.full(n, "fasttext-ape")),
            "model_version": pa.array(np.full(n, model_version)),
        }
    )
    truth = pa.table(
        {"request_id": pa.array(request_ids), "true_code": pa.array(codes_arr[true_idx])}
    )
    return SyntheticTraffic(logs=logs, truth=truth)
