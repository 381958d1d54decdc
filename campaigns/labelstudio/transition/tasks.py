"""Transition task payloads: each offers exactly its old code's candidate new codes.

A task shows what a gold task shows about the text (its context line, with titles), then
the old code and its candidates, each with its title and, when a notes table is configured,
its explanatory note: the "comprend / ne comprend pas" that decides between two candidates.
Display texts are in the deployment's language; stored values (codes, ``NONE``) are not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from html import escape
from typing import Any

import pyarrow as pa

from campaigns.labelstudio.gateway import KEY_FIELD
from campaigns.labelstudio.gold.tasks import ContextTitles, context_display
from campaigns.labelstudio.regions import canonical
from campaigns.labelstudio.texts import (
    CONTEXT_FIELDS,
    DEFAULT_LANGUAGE,
    LabelingTexts,
    texts_for,
)
from campaigns.labelstudio.transition.config import NONE_OF_THESE

TitleLookup = Callable[[str], str | None]

NOTE_STYLE = "display:inline-block;line-height:1.35;color:#555;font-size:0.9em;white-space:pre-line"
"""A note under its candidate's title: smaller, grey, tight lines (Label Studio's choice rows
are tall), its own line breaks kept."""


def context_json(row: Mapping[str, Any]) -> str | None:
    """The row's context as the JSON that ``context_display`` reads.

    Transition inputs are training sets, not API logs: the context is either a ``context``
    column (JSON text or a struct, as in the traffic) or separate columns named like the
    context fields (``cj``, ``activ_nat_et``...).
    """
    context = row.get("context")
    if isinstance(context, str):
        return context or None
    if isinstance(context, Mapping):
        return json.dumps(dict(context))
    fields = {f: row[f] for f in CONTEXT_FIELDS if row.get(f) is not None}
    return json.dumps(fields) if fields else None


def candidate_html(code: str, title: str, note: str | None) -> str:
    """One candidate as the expert sees it: code in bold, title, then its note if any."""
    html = f"<b>{escape(code)}</b> {escape(title)}"
    if note:
        html += f'<br><small class="candidate-note" style="{NOTE_STYLE}">{escape(note)}</small>'
    return html


def candidate_choices(
    codes: list[str],
    new_title: TitleLookup,
    notes: Mapping[str, str],
    texts: LabelingTexts,
) -> list[dict[str, str]]:
    """The dynamic choices of a task: each candidate (code, title, note), then "none"."""
    choices = [
        {
            "value": code,
            "html": candidate_html(
                code, new_title(code) or texts.untitled, notes.get(canonical(code) or code)
            ),
        }
        for code in codes
    ]
    choices.append({"value": NONE_OF_THESE, "html": f"<i>{escape(texts.none_of_these)}</i>"})
    return choices


def transition_task_data(
    row: Mapping[str, Any],
    campaign_id: int,
    old_title: TitleLookup,
    texts: LabelingTexts,
    *,
    context_titles: ContextTitles | None,
    language: str,
) -> dict[str, Any]:
    """What every transition task holds: its key, the text, its context and the old code."""
    old = row["old_code"]
    return {
        KEY_FIELD: f"{campaign_id}:{row['request_id']}",
        "request_id": row["request_id"],
        "text": row["text"],
        "context_display": context_display(context_json(row), context_titles, language),
        "old_code": old,
        "old_code_display": texts.old_code_line.format(
            code=old, title=old_title(old) or texts.untitled
        ),
    }


def transition_tasks(
    queue: pa.Table,
    campaign_id: int,
    old_title: TitleLookup,
    new_title: TitleLookup,
    *,
    context_titles: ContextTitles | None = None,
    candidate_notes: Mapping[str, str] | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> list[dict[str, Any]]:
    """Payloads for the multivocal rows of ``queue`` (request_id, text, old_code, candidates).

    Other columns of the queue are read for the context (see ``context_json``).
    """
    texts = texts_for(language)
    notes = candidate_notes or {}
    wanted = ["request_id", "text", "old_code", "candidates", "context", *CONTEXT_FIELDS]
    columns = [c for c in wanted if c in queue.column_names]
    return [
        {
            "data": transition_task_data(
                row, campaign_id, old_title, texts, context_titles=context_titles, language=language
            )
            | {
                "candidates": candidate_choices(row["candidates"], new_title, notes, texts),
                "n_candidates": len(row["candidates"]),
            }
        }
        for row in queue.select(columns).to_pylist()
    ]
