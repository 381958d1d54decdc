"""Gold-standard task payloads: one per sampled unit, with what the suggestion mode shows.

``preselected``: the top-5 as suggestions, the top-1 marked ``"selected": true`` (the
``selected`` attribute of Label Studio's ``Choice``, which dynamic choices pass on: the screen
opens with it ticked, and an unchanged submit stores it); ``shown``: the suggestions, none
selected; ``hidden``: nothing of the model at all, not even in
fields the interface does not display (Label Studio's data manager lists every task field, so
a blind task carries no suggestions, confidence nor stratum, which can name the predicted
section); ``randomized``: each task blind or ``preselected`` by :func:`assign_arms`, its arm
recorded in the task (``arm``) and read back with its annotations.

Display texts (context line, suggestion labels) are in the deployment's language; the values
Label Studio stores (codes) are not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import Any

import numpy as np
import pyarrow as pa

from campaigns.labelstudio.gateway import KEY_FIELD
from campaigns.labelstudio.gold.config import (
    SEARCH_HEADER_FIELD,
    SUGGESTIONS_HEADER_FIELD,
)
from campaigns.labelstudio.texts import DEFAULT_LANGUAGE, texts_for
from campaigns.state.models import SuggestionMode

BLIND, ASSISTED = "blind", "assisted"
ARM_FIELD = "arm"
_ARM_STREAM = 0x41524D  # "ARM": the arms' random stream, apart from any other use of the id

TitleLookup = Callable[[str], str | None]
ContextTitles = dict[str, dict[str, str]]


def task_key(campaign_id: int, request_id: str) -> str:
    return f"{campaign_id}:{request_id}"


def _shown(value: Any) -> str:
    """A context value as text: numbers without a useless ``.0`` (120.0 -> 120)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def context_display(
    context_json: str | None,
    titles: ContextTitles | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> str:
    """One readable line of the context, with titles where a table gives them.

    ``titles`` maps a context field to ``{code: title}``
    (see ``campaigns.labelstudio.context_titles``); a code without a title is shown alone.
    Fields whose values are fixed (P/S) take their titles from the language's texts, so
    they read in the language of the rest of the screen.
    """
    texts = texts_for(language)
    if not context_json:
        return texts.no_context
    context = json.loads(context_json)
    known = {**(titles or {}), **texts.fixed_context_titles}
    parts = []
    for key, value in context.items():
        if value is None:
            continue
        shown = _shown(value)
        if not shown:
            continue
        label = texts.context_labels.get(key, key.replace("_", " ").capitalize())
        title = known.get(key, {}).get(shown)
        item = texts.context_item.format(label=label, value=shown)
        parts.append(f"{item} ({title})" if title else item)
    return " | ".join(parts) or texts.no_context


def assign_arms(request_ids: list[str], strata: list[str], seed: int) -> list[str]:
    """Blind or assisted for each unit: half of each stratum each, by a seeded draw.

    Complete randomisation within each sampling stratum (an odd stratum gives its extra unit
    to one arm at random): the arms are balanced where the design is, which makes the
    difference between them more precise than independent coin flips would. Units are put in
    (stratum, request id) order before the draw, so the arms depend on the seed and the units
    only, never on the table's row order: a rerun push rebuilds the same tasks.
    """
    n = len(request_ids)
    if n == 0:
        return []
    order = np.lexsort((np.asarray(request_ids, dtype=object), np.asarray(strata, dtype=object)))
    keys = np.random.default_rng([_ARM_STREAM, seed]).random(n)
    ordered_strata = np.asarray(strata, dtype=object)[order]
    starts = np.flatnonzero(np.r_[True, ordered_strata[1:] != ordered_strata[:-1]])
    sizes = np.diff(np.r_[starts, n])
    stratum_of = np.repeat(np.arange(starts.size), sizes)
    # Rank of each unit's key within its stratum: the lower half is blind.
    by_key = np.lexsort((keys, stratum_of))
    rank = np.empty(n, dtype=np.int64)
    rank[by_key] = np.arange(n) - np.repeat(starts, sizes)
    odd_goes_blind = np.random.default_rng([_ARM_STREAM, seed, 1]).random(starts.size) < 0.5
    blind_size = sizes // 2 + (sizes % 2) * odd_goes_blind
    blind_sorted = rank < blind_size[stratum_of]
    arms = np.empty(n, dtype=object)
    arms[order] = np.where(blind_sorted, BLIND, ASSISTED)
    return arms.tolist()


def gold_tasks(
    sample: pa.Table,
    campaign_id: int,
    title_of: TitleLookup,
    *,
    context_titles: ContextTitles | None = None,
    top: int = 5,
    language: str = DEFAULT_LANGUAGE,
    suggestions: SuggestionMode = SuggestionMode.HIDDEN,
) -> list[dict[str, Any]]:
    """Label Studio task payloads for ``sample`` (the rows of a drawn sample).

    ``randomized`` draws the arms with the campaign id as seed (:func:`assign_arms`).
    """
    texts = texts_for(language)
    columns = [
        "request_id",
        "text",
        "context",
        "predicted_codes",
        "scores",
        "confidence",
        "stratum",
        "model_version",
    ]
    rows = sample.select(columns).to_pylist()
    if suggestions == SuggestionMode.RANDOMIZED:
        arms: list[str | None] = list(
            assign_arms(
                [r["request_id"] for r in rows], [str(r["stratum"]) for r in rows], campaign_id
            )
        )
    else:
        arms = [None] * len(rows)
    tasks = []
    for row, arm in zip(rows, arms, strict=True):
        data: dict[str, Any] = {
            KEY_FIELD: task_key(campaign_id, row["request_id"]),
            "request_id": row["request_id"],
            "text": row["text"],
            "context_display": context_display(row["context"], context_titles, language),
        }
        task: dict[str, Any] = {"data": data}
        tasks.append(task)
        if arm is not None:
            data[ARM_FIELD] = arm
        blind = suggestions == SuggestionMode.HIDDEN or arm == BLIND
        if blind:
            if arm is not None:  # the shared interface reads these: empty, it shows nothing
                data |= {"suggestions": [], SUGGESTIONS_HEADER_FIELD: "", SEARCH_HEADER_FIELD: ""}
            continue
        codes = (row["predicted_codes"] or [])[:top]
        scores = (row["scores"] or [])[:top]
        data["suggestions"] = [
            {
                "value": code,
                "html": f"<b>{escape(code)}</b> {escape(title_of(code) or texts.unknown_code)}"
                f" <i>({score:.2f})</i>",
            }
            for code, score in zip(codes, scores, strict=False)
        ]
        data["confidence"] = round(float(row["confidence"]), 4)
        data["stratum"] = row["stratum"]
        if arm is not None:
            data[SUGGESTIONS_HEADER_FIELD] = texts.suggestions_header
            data[SEARCH_HEADER_FIELD] = texts.search_header
        if codes and suggestions != SuggestionMode.SHOWN:
            # Pre-selected in the task data, not as a Label Studio prediction: a prediction
            # makes Label Studio refresh the task's counters inside the import request, which
            # cut the push to about a quarter of the bare import's rate (benchmarks/bench_push.py
            # keeps that way as its 'inline' variant); the expert sees the same ticked choice.
            data["suggestions"][0]["selected"] = True
    return tasks
