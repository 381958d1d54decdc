"""Reading Label Studio's annotation results, the same way for every campaign kind.

An annotation's ``result`` is a list of regions, each naming the control it answers
(``from_name``) and holding its ``value``. Label Studio does not check results against the
labeling config, and annotations may be written by scripts: every reader here accepts a
missing or malformed region and answers ``None`` rather than failing an export. Results are
read by stored values (codes, aliases), never by the labels the expert saw.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa

from campaigns.labelstudio.blocks import NO, YES
from campaigns.labelstudio.texts import labels_of

_SUBCLASS = re.compile(r"^(\d{2})\.?(\d{2})([A-Za-z]?)$")
_YES = {YES} | labels_of("validation_yes")
_NO = {NO} | labels_of("validation_no")


def canonical(code: str | None) -> str | None:
    """``6201z`` -> ``62.01Z``; anything else is returned stripped (then fails validation)."""
    if code is None:
        return None
    text = code.strip().split(" ")[0]
    match = _SUBCLASS.match(text)
    return f"{match[1]}.{match[2]}{match[3].upper()}" if match else text


def has_choice(values: Iterable[Any], alias: str) -> bool:
    """Whether ``alias`` (a config's stored value) was chosen, stored as alias or as label."""
    accepted = {alias} | labels_of(alias)
    return any(str(value) in accepted for value in values)


def first_value(result: Any, name: str, key: str) -> Any:
    """``value[key]`` of the first region answering control ``name``, or ``None``."""
    for region in result if isinstance(result, list) else []:
        if isinstance(region, dict) and region.get("from_name") == name:
            value = region.get("value")
            return value.get(key) if isinstance(value, dict) else None
    return None


def choices_of(result: Any, name: str) -> list[Any]:
    """The choices stored for control ``name`` (an empty list when none)."""
    choices = first_value(result, name, "choices")
    return choices if isinstance(choices, list) else []


def first_choice(result: Any, name: str) -> Any:
    """The single choice of control ``name``, or ``None``."""
    return next(iter(choices_of(result, name)), None)


def taxonomy_code(result: Any, name: str) -> str | None:
    """The leaf of the first path picked in taxonomy ``name``, as a canonical code."""
    paths = first_value(result, name, "taxonomy")
    if isinstance(paths, list) and paths and isinstance(paths[0], list) and paths[0]:
        return canonical(str(paths[0][-1]))
    return None


def text_of(result: Any, name: str) -> str | None:
    """A text area's answer; several submissions are joined, never dropped."""
    value = first_value(result, name, "text")
    if isinstance(value, list):
        return " ".join(str(v) for v in value) if value else None
    return None if value is None else str(value)


def rating_of(result: Any, name: str) -> int | None:
    rating = first_value(result, name, "rating")
    return int(rating) if isinstance(rating, int | float) else None


def verdict_of(result: Any, name: str) -> str | None:
    """``yes``, ``no`` or ``None`` for the yes/no control ``name`` (a "no" wins)."""
    values = [str(v) for v in choices_of(result, name)]
    if any(v in _NO for v in values):
        return NO
    if any(v in _YES for v in values):
        return YES
    return None


def annotator_of(annotation: dict[str, Any]) -> str:
    """Who made the annotation: an id, or the e-mail when the export expands the user."""
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("id"))
    return str(who)


def annotation_rows(
    tasks: Iterable[dict[str, Any]],
    parse: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]],
    schema: pa.Schema,
) -> pa.Table:
    """One row per annotation of exported tasks (Label Studio's JSON export format).

    ``parse(annotation, task_data)`` reads one annotation; the task's ``request_id`` and id
    are added here.
    """
    rows = []
    for task in tasks:
        data = task.get("data") or {}
        for annotation in task.get("annotations") or []:
            row = parse(annotation, data)
            row["request_id"] = data.get("request_id")
            row["task_id"] = task.get("id")
            rows.append(row)
    return pa.Table.from_pylist(rows, schema=schema)
