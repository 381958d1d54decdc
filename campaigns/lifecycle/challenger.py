"""The challenger's predictions, the client side of ``campaigns compare``: from a Parquet table
keyed by request id, or from a classifier serving the production API's batch contract
(InseeFrLab/codif-ape-API, ``POST /batch/predict``): a body ``{"forms": [SingleForm, ...]}``
in, one object per form out,
``{"1": {"code", "probabilite", "libelle"}, ..., "k": ..., "IC": float, "MLversion": str}``.
The gold texts are posted in batches (the HTTP transport is the caller's, see
``services/cli/model_quality.py``; failed batches are retried with backoff here).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from tenacity import (
    RetryError,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from campaigns.errors import (
    InputFormatError,
    InvalidArgumentError,
    ServiceUnavailableError,
)
from campaigns.labelstudio.regions import canonical

PREDICTIONS_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("predicted_codes", pa.list_(pa.string())),
        ("scores", pa.list_(pa.float64())),
        ("confidence", pa.float64()),
        ("model_version", pa.string()),
    ]
)


BATCH_PATH = "/batch/predict"
FORM_FIELDS = {
    "other_nature_activity": "activ_nat_lib_et",
    "precision_act_sec_agricole": "activ_sec_agri_et",
    "type_form": "liasse_type",
    "nature": "activ_nat_et",
    "surface": "activ_surf_et",
    "cj": "cj",
    "activity_permanence_status": "activ_perm_et",
}
"""``SingleForm`` field -> context field of our logs (the same request, other names)."""
_VALID: dict[str, Callable[[str], bool]] = {
    "type_form": lambda v: v in set("ABCDEGILMNPRSXYZ"),
    "nature": lambda v: re.fullmatch(r"\d{2}", v) is not None,
    "surface": lambda v: v in {"1", "2", "3", "4"},
    "cj": lambda v: re.fullmatch(r"\d{4}", v) is not None,
    "activity_permanence_status": lambda v: v in {"P", "S"},
}
"""The contract's validators: a value they refuse would fail the whole batch (HTTP 422)."""

Post = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
"""Posts one batch of forms to the classifier, returns its responses (one per form)."""


class TransientClassifierError(Exception):
    """A batch the classifier could not answer now (connection, timeout, 429, 5xx): retried."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def forms_of(gold: pa.Table) -> tuple[list[dict[str, Any]], int]:
    """One ``SingleForm`` per gold row (text and context), and how many values were dropped.

    Context values the contract would refuse (a surface in m2 where it expects a class 1-4,
    say) are sent as null rather than failing the batch; the count is reported.
    """
    texts = gold.column("text").to_pylist()
    contexts = (
        gold.column("context").to_pylist()
        if "context" in gold.column_names
        else [None] * gold.num_rows
    )
    forms, dropped = [], 0
    for text, raw in zip(texts, contexts, strict=True):
        context = raw if isinstance(raw, dict) else json.loads(raw) if raw else {}
        form: dict[str, Any] = {"description_activity": str(text or "")}
        for name, source in FORM_FIELDS.items():
            value = _text(context.get(source))
            check = _VALID.get(name)
            if value is not None and check is not None and not check(value):
                dropped += 1
                value = None
            form[name] = value
        forms.append(form)
    return forms, dropped


def parse_responses(responses: Sequence[dict[str, Any]], top: int = 5) -> dict[str, list[Any]]:
    """Codes (canonical), scores, confidence index and model version of each response,
    checked (``campaigns.lifecycle.challenger_answers``): a malformed one is refused."""
    from campaigns.lifecycle.challenger_answers import read_answers

    return read_answers(responses, top)


def predictions_from_classifier(
    gold: pa.Table,
    post: Post,
    *,
    batch_size: int = 100,
    attempts: int = 5,
    on_batch: Callable[[int], None] | None = None,
    wait_max: float = 30.0,
) -> tuple[pa.Table, dict[str, Any]]:
    """The challenger's predictions for every gold text, posted ``batch_size`` at a time.

    A batch that fails transiently is retried (``attempts`` in all, exponential backoff up to
    ``wait_max`` s); answers are matched to forms by position, as the contract returns them.
    Returns the predictions table and what the calls cost (batches, dropped context values).
    """
    if batch_size < 1:
        raise InvalidArgumentError("The batch size must be at least 1.")
    forms, dropped = forms_of(gold)
    ids = gold.column("request_id").to_pylist()
    send = retry(
        retry=retry_if_exception_type(TransientClassifierError),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.5, max=wait_max),
        reraise=False,
    )(post)
    parts: dict[str, list[Any]] = {k: [] for k in PREDICTIONS_SCHEMA.names if k != "request_id"}
    batches = 0
    for start in range(0, len(forms), batch_size):
        batch = forms[start : start + batch_size]
        try:
            answers = send(batch)
        except RetryError as err:
            cause = err.last_attempt.exception()
            raise ServiceUnavailableError(
                f"The challenger classifier failed {attempts} times on texts {start + 1}-"
                f"{start + len(batch)}: {cause}",
                "Check that it is up (its /docs page answers), then rerun; nothing is written "
                "before every text has its prediction.",
            ) from cause
        if len(answers) != len(batch):
            raise InputFormatError(
                f"The classifier answered {len(answers)} predictions for {len(batch)} texts.",
                "The batch contract returns one prediction per form, in order.",
            )
        for key, values in parse_responses(answers).items():
            parts[key].extend(values)
        batches += 1
        if on_batch:
            on_batch(len(batch))
    table = pa.table({"request_id": ids, **parts}, schema=PREDICTIONS_SCHEMA)
    return table, {"batches": batches, "context_values_dropped": dropped}


def predictions_from_table(table: pa.Table) -> pa.Table:
    """A challenger's Parquet, normalised: request_id, predicted_codes, scores, confidence.

    Accepted: ``predicted_codes`` (best first) or ``predicted_code``; ``scores`` or ``score``
    (optional); ``confidence`` (optional: else the gap between the two best scores, the
    confidence index's definition); ``model_version`` (optional). Codes are made canonical.
    """
    names = set(table.column_names)
    if "request_id" not in names or not names & {"predicted_codes", "predicted_code"}:
        raise InputFormatError(
            f"The challenger table has columns {sorted(names)}.",
            "Give request_id and predicted_codes (a list, best first) or predicted_code; "
            "optionally scores, confidence and model_version.",
        )
    n = table.num_rows
    duplicated = n - pc.count_distinct(table.column("request_id").combine_chunks()).as_py()
    if duplicated:
        raise InputFormatError(
            f"The challenger table has {duplicated} duplicated request ids.",
            "Give one prediction per request id.",
        )
    if "predicted_codes" in names:
        codes = table.column("predicted_codes").to_pylist()
    else:
        codes = [[c] if c is not None else [] for c in table.column("predicted_code").to_pylist()]
    if "scores" in names:
        scores = table.column("scores").to_pylist()
    elif "score" in names:
        scores = [[s] if s is not None else [] for s in table.column("score").to_pylist()]
    else:
        scores = [[] for _ in range(n)]
    if "confidence" in names:
        confidence = table.column("confidence").to_pylist()
    else:
        confidence = [
            (s[0] - (s[1] if len(s) > 1 else 0.0)) if s else None for s in scores
        ]  # fmt: skip
    versions = (
        table.column("model_version").cast(pa.string()).to_pylist()
        if "model_version" in names
        else [None] * n
    )
    return pa.table(
        {
            "request_id": table.column("request_id").cast(pa.string()),
            "predicted_codes": [[canonical(c) for c in (row or [])] for row in codes],
            "scores": [[float(s) for s in (row or [])] for row in scores],
            "confidence": pa.array(confidence, pa.float64()),
            "model_version": versions,
        },
        schema=PREDICTIONS_SCHEMA,
    )
