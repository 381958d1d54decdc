"""Gold-standard task payloads: one per sampled unit, with the model's top-5 as a prediction.

Display texts (context line, suggestion labels) are in the deployment's language; the values
Label Studio stores (codes) are not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import Any

import pyarrow as pa

from campaigns.labelstudio.gateway import KEY_FIELD
from campaigns.labelstudio.gold.config import SUGGESTED, TEXT
from campaigns.labelstudio.texts import DEFAULT_LANGUAGE, texts_for

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


def gold_tasks(
    sample: pa.Table,
    campaign_id: int,
    title_of: TitleLookup,
    *,
    context_titles: ContextTitles | None = None,
    top: int = 5,
    language: str = DEFAULT_LANGUAGE,
) -> list[dict[str, Any]]:
    """Label Studio task payloads for ``sample`` (the rows of a drawn sample)."""
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
    tasks = []
    for row in sample.select(columns).to_pylist():
        codes = (row["predicted_codes"] or [])[:top]
        scores = (row["scores"] or [])[:top]
        suggestions = [
            {
                "value": code,
                "html": f"<b>{escape(code)}</b> {escape(title_of(code) or texts.unknown_code)}"
                f" <i>({score:.2f})</i>",
            }
            for code, score in zip(codes, scores, strict=False)
        ]
        task: dict[str, Any] = {
            "data": {
                KEY_FIELD: task_key(campaign_id, row["request_id"]),
                "request_id": row["request_id"],
                "text": row["text"],
                "context_display": context_display(row["context"], context_titles, language),
                "suggestions": suggestions,
                "confidence": round(float(row["confidence"]), 4),
                "stratum": row["stratum"],
            }
        }
        if codes:
            task["predictions"] = [
                {
                    "model_version": row["model_version"] or "unknown",
                    "score": float(scores[0]),
                    "result": [
                        {
                            "from_name": SUGGESTED,
                            "to_name": TEXT,
                            "type": "choices",
                            "value": {"choices": [codes[0]]},
                        }
                    ],
                }
            ]
        tasks.append(task)
    return tasks
