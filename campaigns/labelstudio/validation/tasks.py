"""Validation task payloads: the text, its context and the code to confirm.

The code to confirm is a clerk's when the sample carries one (column ``assigned_code``, the
code a person gave), else the model's top-1 (``predicted_code``, what automatic coding
writes). The task says which, and shows the model's confidence index when the code is the
model's: the expert should know whose code they are judging, and metrics split the
answers by coding mode (automatic or manual) from that index.

Display texts are in the deployment's language; stored values (codes) are not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from campaigns.labelstudio.gateway import KEY_FIELD
from campaigns.labelstudio.gold.tasks import ContextTitles, context_display, task_key
from campaigns.labelstudio.regions import canonical
from campaigns.labelstudio.texts import DEFAULT_LANGUAGE, texts_for

TitleLookup = Callable[[str], str | None]
CLERK_CODE_COLUMN = "assigned_code"
MODEL = "model"
CLERK = "clerk"


def given_code(row: dict[str, Any]) -> tuple[str | None, str]:
    """The code to confirm and who gave it (``clerk`` or ``model``)."""
    clerk = row.get(CLERK_CODE_COLUMN)
    if isinstance(clerk, str) and clerk.strip():
        return canonical(clerk), CLERK
    model = row.get("predicted_code")
    return (canonical(model) if isinstance(model, str) and model.strip() else None), MODEL


def validation_tasks(
    sample: pa.Table,
    campaign_id: int,
    title_of: TitleLookup,
    *,
    context_titles: ContextTitles | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> list[dict[str, Any]]:
    """Label Studio task payloads for the rows of ``sample`` that have a code to confirm.

    A row without any code (no clerk's, no model's) has nothing to validate: it is left out
    rather than shown with an empty code an expert could "confirm".
    """
    texts = texts_for(language)
    wanted = ["request_id", "text", "context", "predicted_code", "confidence", "stratum"]
    columns = [c for c in [*wanted, CLERK_CODE_COLUMN] if c in sample.column_names]
    tasks = []
    for row in sample.select(columns).to_pylist():
        code, source = given_code(row)
        if code is None:
            continue
        confidence = row.get("confidence")
        shown_source = (
            texts.given_by_model.format(confidence=f"{float(confidence):.2f}")
            if source == MODEL and confidence is not None
            else texts.given_by_clerk
            if source == CLERK
            else texts.given_by_model.format(confidence="?")
        )
        data: dict[str, Any] = {
            KEY_FIELD: task_key(campaign_id, row["request_id"]),
            "request_id": row["request_id"],
            "text": row["text"],
            "context_display": context_display(row.get("context"), context_titles, language),
            "given_code": code,
            "given_by": source,
            "given_code_display": texts.given_code_line.format(
                source=shown_source, code=code, title=title_of(code) or texts.unknown_code
            ),
        }
        if confidence is not None:
            data["confidence"] = round(float(confidence), 4)
        if row.get("stratum") is not None:
            data["stratum"] = row["stratum"]
        tasks.append({"data": data})
    return tasks
