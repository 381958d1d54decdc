"""A challenger's answers, checked: nothing a classifier sends is taken on faith.

A challenger posted the gold texts (``campaigns compare --challenger-api``) answers through
the production API's batch contract, one object per form:
``{"1": {"code", "probabilite", "libelle"}, ..., "IC": float, "MLversion": str}``. A broken
or hostile server can send anything there, and a comparison built on it would be wrong
without a word. So each answer is checked before it becomes a prediction:

- its shape: an object with a rank ``"1"``, each rank an object with a string ``code`` and a
  number ``probabilite``; anything else stops the comparison with one line saying what came
  (``InputFormatError``, exit code 2), never a ``TypeError`` or ``ValueError`` traceback;
- its numbers: every score and the confidence index ``IC`` finite and in [0, 1] (a NaN, an
  infinity, a boolean, a string or an IC of 7.5 is refused the same way);
- its codes: a code outside the nomenclature (a typo, an old edition, ``'../../ZZZ<script>'``)
  is not refused (one bad code should not cost a whole comparison) but can never equal a gold
  code, so it counts as a wrong answer; :func:`codes_outside_nomenclature` lists such codes
  with their counts, shortened and made printable, for the comparison's notes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from campaigns.errors import InputFormatError
from campaigns.labelstudio.regions import canonical

CONTRACT_HINT = (
    'The batch contract gives {"1": {"code", "probabilite", "libelle"}, ..., "IC": ..., '
    '"MLversion": ...} per form, with scores and IC between 0 and 1.'
)
MAX_CODE_CHARS = 20
"""Longer strings are not codes: kept cut to this length (still never a gold code)."""
MAX_VERSION_CHARS = 200
LISTED_CODES = 20
"""How many distinct unknown codes the notes list (the most frequent); all are counted."""


def printable(value: Any, limit: int = 120) -> str:
    """``value`` as one short printable line: control characters shown as ``?``, cut."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(c if c.isprintable() else "?" for c in text[: limit + 1])
    return text if len(text) <= limit else f"{text[:limit]}..."


def _refuse(index: int, what: str) -> InputFormatError:
    return InputFormatError(f"The challenger's answer {index + 1} {what}.", CONTRACT_HINT)


def _unit_number(value: Any, index: int, name: str) -> float:
    """A score or confidence: a real number, finite, in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refuse(index, f"has {name} {printable(value, 40)}, not a number")
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise _refuse(index, f"has {name} {printable(value, 40)}, not between 0 and 1")
    return number


def read_answer(answer: Any, index: int, top: int) -> tuple[list[str], list[float], float, Any]:
    """One answer as (codes, scores, confidence, model version), or ``InputFormatError``."""
    if not isinstance(answer, dict) or "1" not in answer:
        raise InputFormatError(
            f"The classifier answered {printable(answer)!r}, not a prediction.", CONTRACT_HINT
        )
    codes: list[str] = []
    scores: list[float] = []
    for rank in range(1, top + 1):
        if str(rank) not in answer:
            continue
        entry = answer[str(rank)]
        if not isinstance(entry, dict):
            raise _refuse(index, f"has rank {rank} = {printable(entry, 40)}, not an object")
        code = entry.get("code")
        if not isinstance(code, str) or not code.strip():
            raise _refuse(index, f"has rank {rank} with code {printable(code, 40)}, not a code")
        codes.append(canonical(code[: MAX_CODE_CHARS + 1]))
        scores.append(_unit_number(entry.get("probabilite"), index, f"rank {rank}'s score"))
    ic = answer.get("IC")
    if ic is None:  # the contract requires it; the same definition otherwise
        confidence = scores[0] - (scores[1] if len(scores) > 1 else 0.0)
    else:
        confidence = _unit_number(ic, index, "IC")
    version = answer.get("MLversion")
    if version is not None and not isinstance(version, str | int | float):
        raise _refuse(index, f"has MLversion {printable(version, 40)}, not a version")
    return codes, scores, confidence, None if version is None else printable(version, 200)


def read_answers(responses: Sequence[Any], top: int = 5) -> dict[str, list[Any]]:
    """Codes (canonical), scores, confidence index and model version of each answer, checked
    (see the module docstring); the first malformed answer stops with ``InputFormatError``."""
    out: dict[str, list[Any]] = {
        "predicted_codes": [],
        "scores": [],
        "confidence": [],
        "model_version": [],
    }
    for index, answer in enumerate(responses):
        codes, scores, confidence, version = read_answer(answer, index, top)
        out["predicted_codes"].append(codes)
        out["scores"].append(scores)
        out["confidence"].append(confidence)
        out["model_version"].append(version)
    return out


def codes_outside_nomenclature(predictions: pa.Table, levels: pa.Table) -> dict[str, Any]:
    """What the challenger predicted outside the nomenclature (empty when nothing was).

    ``{"codes_not_in_nomenclature": {"predictions": n, "units": m, "codes": {code: count}}}``:
    ``n`` predicted codes (any rank) on ``m`` units, the :data:`LISTED_CODES` most frequent
    listed printable. They count as wrong answers by construction: a gold code is always one
    of the nomenclature's.
    """
    codes = predictions.column("predicted_codes").combine_chunks()
    flat = pc.list_flatten(codes)
    unknown = pc.invert(pc.is_in(flat, value_set=levels.column("subclass").combine_chunks()))
    unknown = pc.fill_null(unknown, True)
    n = pc.sum(unknown).as_py() or 0
    if not n:
        return {}
    rows = pc.filter(pc.list_parent_indices(codes), unknown)
    counts = pc.value_counts(pc.fill_null(pc.filter(flat, unknown), "")).to_pylist()
    counts.sort(key=lambda c: (-c["counts"], c["values"]))
    return {
        "codes_not_in_nomenclature": {
            "predictions": n,
            "units": pc.count_distinct(rows).as_py(),
            "codes": {printable(c["values"], 40): c["counts"] for c in counts[:LISTED_CODES]},
        }
    }
