"""Transition task payloads: each offers exactly its old code's candidate new codes."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import pyarrow as pa

from campaigns.labelstudio.gateway import KEY_FIELD
from campaigns.labelstudio.transition.config import NONE_OF_THESE

TitleLookup = Callable[[str], str | None]


def transition_tasks(
    queue: pa.Table, campaign_id: int, old_title: TitleLookup, new_title: TitleLookup
) -> list[dict[str, Any]]:
    """Payloads for the multivocal rows of ``queue`` (request_id, text, old_code, candidates)."""
    tasks = []
    for row in queue.select(["request_id", "text", "old_code", "candidates"]).to_pylist():
        candidates = [
            {
                "value": code,
                "html": f"<b>{escape(code)}</b> {escape(new_title(code) or 'untitled')}",
            }
            for code in row["candidates"]
        ]
        candidates.append({"value": NONE_OF_THESE, "html": "<i>None of these</i>"})
        old = row["old_code"]
        tasks.append(
            {
                "data": {
                    KEY_FIELD: f"{campaign_id}:{row['request_id']}",
                    "request_id": row["request_id"],
                    "text": row["text"],
                    "old_code": old,
                    "old_code_display": f"Old code (NAF rév.2): {old} - {old_title(old) or ''}",
                    "candidates": candidates,
                    "n_candidates": len(row["candidates"]),
                }
            }
        )
    return tasks
