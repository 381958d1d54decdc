"""Transition inputs with a known NAF 2025 truth, for tests, simulations and benchmarks.

A real training set has no NAF 2025 truth for its multivocal rows (that is the whole problem),
so the candidate model, its baselines and the batch estimators are checked on rows whose truth
is drawn first, on the real correspondence. The generative model:

- rows spread over old codes with Zipf-like frequencies (a few codes hold most rows, as in
  Sirene), ``multivocal_share`` of them on multivocal old codes;
- each multivocal old code ``o`` has a true split ``p_o ~ Dirichlet(dirichlet)`` over its
  candidates (small concentrations give the skewed splits the transition tables describe);
  a row's new code is drawn from it, a univocal row's is its single target;
- each new code has a vocabulary: the words of its title (which the model also reads, as
  experts do) and ``hidden_words`` pseudo-words that only annotations can teach;
- a row's text holds 1-3 words of its new code's vocabulary, maybe a word of its old code's
  title and a filler word; an ``ambiguous`` share of rows hold no word of their new code
  at all (nothing in the text decides between the candidates: even a model that learnt
  everything can only guess, which keeps the simulated accuracies below 100%).

Everything is vectorised (word indices drawn by numpy, texts joined by Arrow), so ten
million rows take seconds; every generator is seeded.
"""

from __future__ import annotations

import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nace_mapping import Correspondence

FILLERS = (
    "SARL", "SERVICES", "ACTIVITE", "ENTREPRISE", "GESTION", "CONSEIL", "DIVERS", "TOUS",
    "TRAVAUX", "PRESTATIONS", "SOCIETE", "GENERALE", "PETITS", "AUTRES", "PARTICULIERS",
    "PROFESSIONNELS", "NEGOCE", "ATELIER", "EXPLOITATION", "HOLDING",
)  # fmt: skip
_SYLLABLES = (
    "KA", "LO", "RI", "TEN", "VU", "MO", "SA", "ZI", "DOR", "PEL", "NU", "BRA", "FI", "GO",
    "LUN", "TRA", "VEL", "XO", "QUI", "MAR", "SOL", "PIK", "DRU", "NEF",
)  # fmt: skip
_STOPWORDS = frozenset(
    [
        "AUTRES",
        "AVEC",
        "DANS",
        "DES",
        "DU",
        "ET",
        "LES",
        "POUR",
        "SAUF",
        "SANS",
        "SUR",
        "UNE",
        "AUX",
        "LEURS",
        "NON",
        "CES",
        "CETTE",
        "DONT",
        "EXCEPTION",
        "CELLES",
        "CEUX",
        "ACTIVITES",
        "ACTIVITE",
    ]
)
CONTEXT_CJ = ("5499", "5710", "1000", "5720", "9220", "5498")
CONTEXT_NAT = ("00", "10", "14", "20", "99")
QUARANTINE_CODES = ("99.99Z", "ABC", None)


@dataclass
class SyntheticTransition:
    """The input table and what is true about it.

    ``table``: ``request_id, text, code`` (NAF rév.2, dotted or not) ``, cj, activ_nat_et``.
    ``truth``: ``request_id, old_code, true_code`` (NAF 2025; null for quarantined rows)
    ``, ambiguous``. ``split``: per multivocal old code and candidate, the drawn probability
    ``p`` and the realised count ``n`` and share ``share`` in this population.
    """

    table: pa.Table
    truth: pa.Table
    split: pa.Table


def title_words(title: str | None) -> list[str]:
    """Upper-cased, accent-free words of a title, without short and empty words."""
    flat = unicodedata.normalize("NFKD", title or "").encode("ascii", "ignore").decode()
    words = "".join(ch if ch.isalpha() else " " for ch in flat.upper()).split()
    return sorted({w for w in words if len(w) >= 4 and w not in _STOPWORDS})


def _hidden_words(code: str, count: int, seed: int) -> list[str]:
    rng = np.random.default_rng([seed, zlib.crc32(code.encode())])
    picks = rng.integers(0, len(_SYLLABLES), size=(count, 3))
    return ["".join(_SYLLABLES[i] for i in row) for row in picks]


def _zipf_choice(rng: np.random.Generator, n_items: int, size: int) -> np.ndarray:
    ranks = rng.permutation(n_items)
    weights = 1.0 / (ranks + 1.0) ** 1.1
    return rng.choice(n_items, size=size, p=weights / weights.sum())


def _take(words: pa.Array, index: np.ndarray) -> pa.Array:
    """``words[index]`` with null where ``index < 0`` (an absent word)."""
    safe = pa.array(np.where(index < 0, 0, index), mask=index < 0)
    return words.take(safe)


def synthetic_transition(
    correspondence: Correspondence,
    *,
    rows: int,
    seed: int = 0,
    old_codes: Sequence[str] | None = None,
    multivocal_share: float = 0.35,
    ambiguous: float = 0.2,
    hidden_words: int = 6,
    dirichlet: float = 0.8,
    quarantine_share: float = 0.002,
) -> SyntheticTransition:
    """``rows`` input rows over ``old_codes`` (default: the whole correspondence).

    See the module docstring for the generative model; ``seed`` fixes everything.
    """
    rng = np.random.default_rng(seed)
    pairs = correspondence.pairs
    if old_codes is not None:
        pairs = pairs[pairs["old_code"].isin(list(old_codes))]
    targets = pairs.groupby("old_code")["new_code"].agg(sorted)
    old_titles = pairs.groupby("old_code")["old_title"].first()
    new_titles = pairs.groupby("new_code")["new_title"].first()
    multi = [o for o in targets.index if len(targets[o]) > 1]
    uni = [o for o in targets.index if len(targets[o]) == 1]
    if not multi or not uni:
        raise ValueError("the old codes must include univocal and multivocal codes")

    n_quarantine = round(rows * quarantine_share)
    n_multi = round((rows - n_quarantine) * multivocal_share)
    n_uni = rows - n_quarantine - n_multi
    olds = np.array(multi + uni)
    old_index = np.concatenate(
        [_zipf_choice(rng, len(multi), n_multi), len(multi) + _zipf_choice(rng, len(uni), n_uni)]
    )

    # New codes: a global index over every target, each with its vocabulary.
    new_codes = sorted(new_titles.index)
    new_pos = {code: i for i, code in enumerate(new_codes)}
    true_new = np.empty(n_multi + n_uni, dtype=np.int64)
    split_rows: list[dict[str, object]] = []
    order = np.argsort(old_index, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(old_index, minlength=len(olds)))])
    for i, old in enumerate(olds):
        members = order[bounds[i] : bounds[i + 1]]
        cands = targets[old]
        if len(cands) == 1:
            true_new[members] = new_pos[cands[0]]
            continue
        p = rng.dirichlet(np.full(len(cands), dirichlet))
        drawn = rng.choice(len(cands), size=members.size, p=p)
        true_new[members] = np.array([new_pos[c] for c in cands])[drawn]
        counts = np.bincount(drawn, minlength=len(cands))
        for j, code in enumerate(cands):
            split_rows.append(
                {
                    "old_code": old,
                    "new_code": code,
                    "p": float(p[j]),
                    "n": int(counts[j]),
                    "share": float(counts[j] / members.size) if members.size else float("nan"),
                }
            )

    vocab = [title_words(new_titles[c]) + _hidden_words(c, hidden_words, seed) for c in new_codes]
    new_words, new_off, new_len = _flatten(vocab)
    old_vocab = [title_words(old_titles[o]) or ["ACTIVITE"] for o in olds]
    old_words, old_off, old_len = _flatten(old_vocab)
    fillers = pa.array(FILLERS)

    n = n_multi + n_uni
    is_ambiguous = (rng.random(n) < ambiguous) & (old_index < len(multi))
    n_signal = np.where(is_ambiguous, 0, rng.integers(1, 4, size=n))
    slots = []
    for j in range(3):
        pick = new_off[true_new] + (rng.random(n) * new_len[true_new]).astype(np.int64)
        slots.append(_take(new_words, np.where(j < n_signal, pick, -1)))
    with_old = is_ambiguous | (rng.random(n) < 0.4)
    pick = old_off[old_index] + (rng.random(n) * old_len[old_index]).astype(np.int64)
    slots.insert(int(rng.integers(0, 2)), _take(old_words, np.where(with_old, pick, -1)))
    with_filler = is_ambiguous | (rng.random(n) < 0.5)
    slots.append(_take(fillers, np.where(with_filler, rng.integers(0, len(FILLERS), size=n), -1)))
    texts = pc.binary_join_element_wise(*slots, " ", null_handling="skip")

    old_array = pa.array(olds, pa.string())
    old_rows = old_array.take(pa.array(old_index))
    undotted = rng.random(n) < 0.5  # real data mixes 62.01Z and 6201Z
    shown = pc.if_else(pa.array(undotted), pc.replace_substring(old_rows, ".", ""), old_rows)
    bad = pa.array(QUARANTINE_CODES, pa.string()).take(
        pa.array(rng.integers(0, len(QUARANTINE_CODES), size=n_quarantine))
    )
    ids = pc.binary_join_element_wise("syn-", pc.cast(pa.array(np.arange(rows)), pa.string()), "")
    table = pa.table(
        {
            "request_id": ids,
            "text": pa.concat_arrays(
                [texts.cast(pa.string()), _take(fillers, rng.integers(0, 5, size=n_quarantine))]
            ),
            "code": pa.concat_arrays([shown, bad]),
            "cj": pa.array(CONTEXT_CJ).take(rng.integers(0, len(CONTEXT_CJ), size=rows)),
            "activ_nat_et": pa.array(CONTEXT_NAT).take(
                rng.integers(0, len(CONTEXT_NAT), size=rows)
            ),
        }
    )
    none = pa.nulls(n_quarantine, pa.string())
    truth = pa.table(
        {
            "request_id": ids,
            "old_code": pa.concat_arrays([old_rows, none]),
            "true_code": pa.concat_arrays([pa.array(new_codes).take(pa.array(true_new)), none]),
            "ambiguous": pa.array(np.concatenate([is_ambiguous, np.zeros(n_quarantine, bool)])),
        }
    )
    split = pa.Table.from_pylist(
        split_rows,
        schema=pa.schema(
            [
                ("old_code", pa.string()),
                ("new_code", pa.string()),
                ("p", pa.float64()),
                ("n", pa.int64()),
                ("share", pa.float64()),
            ]
        ),
    )
    return SyntheticTransition(table=table, truth=truth, split=split)


def _flatten(vocab: list[list[str]]) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    lengths = np.array([len(v) for v in vocab], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return pa.array([w for v in vocab for w in v], pa.string()), offsets, lengths
