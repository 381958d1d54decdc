"""Adopting a Label Studio project as a campaign (``campaigns adopt``): the project's config
mapped (:mod:`campaigns.labelstudio.adopted.config`), its tasks checked and recorded as the
campaign's units (a sample whose every unit has weight 1: figures describe the project's
tasks, not a traffic window), the mapping stored with the campaign. Adopting again takes in
the tasks added since. The project itself is only read, never changed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from sqlmodel import Session, select

from campaigns.config import Settings
from campaigns.errors import ConflictError, InvalidArgumentError
from campaigns.labelstudio.adopted.config import (
    NUMBERED,
    AdoptedMapping,
    Control,
    is_cannot_code,
    leading_code,
    map_controls,
    parse_label_config,
    template_variables,
)
from campaigns.labelstudio.adopted.results import Translator
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.labelstudio.texts import CONTEXT_FIELDS
from campaigns.nomenclatures import new_nomenclature, old_nomenclature
from campaigns.state import crud
from campaigns.state.models import (
    Campaign,
    CampaignCreate,
    CampaignKind,
    CampaignStatus,
    Sample,
)
from campaigns.storage import Storage, sample_key


@dataclass
class AdoptionSummary:
    campaign_id: int
    name: str
    kind: str
    project_id: int
    project_title: str
    tasks: int
    refreshed: bool
    mapping: dict[str, Any]
    notes: list[str]


def _field_codes(tasks: list[dict[str, Any]], name: str, valid: Callable[[str], bool]) -> float:
    """Share of tasks whose ``name`` field starts with a valid code (0 when mostly empty)."""
    values = [t["data"].get(name) for t in tasks]
    filled = [v for v in values if v not in (None, "")]
    if len(filled) < len(values) / 2 or not filled:
        return 0.0
    return sum(1 for v in filled if (c := leading_code(v)) and valid(c)) / len(filled)


def _detect_code_field(
    tasks: list[dict[str, Any]],
    texts: dict[str, str],
    mapping: AdoptedMapping,
    valid: Callable[[str], bool],
) -> list[str]:
    """Fields shown in a Text tag whose values are codes (numbered lists left out)."""
    excluded = {mapping.text_field, *((mapping.candidates or {}).get("fields") or [])}
    shown = dict.fromkeys(v for t in texts.values() for v in template_variables(t))
    return [
        f
        for f in shown
        if f not in excluded and not NUMBERED.search(f) and _field_codes(tasks, f, valid) >= 0.8
    ]


def _check_taxonomy(
    controls: list[Control], mapping: AdoptedMapping, valid: Callable[[str], bool], edition: str
) -> str | None:
    taxonomy = next((c for c in controls if c.name == mapping.taxonomy), None)
    if taxonomy is None or not taxonomy.leaves:
        return None
    leaves = [leaf for leaf in taxonomy.leaves if not any(map(is_cannot_code, leaf.stored))]
    known = sum(
        1
        for leaf in leaves
        if any((c := leading_code(v.split("//")[0])) and valid(c) for v in leaf.stored)
    )
    if leaves and known < len(leaves) / 2:
        raise InvalidArgumentError(
            f"The taxonomy {taxonomy.name!r} has {len(leaves)} code leaves but only {known} "
            f"are {edition} subclasses.",
            "A gold or validation campaign reads NAF rév.2 codes, a transition campaign NAF "
            "2025: check --kind (or the nomenclature settings).",
        )
    cannot = len(taxonomy.leaves) - len(leaves)
    return (
        f"taxonomy {taxonomy.name!r}: {known} of {len(leaves)} leaves are {edition} subclasses"
        + (f", {cannot} means 'cannot be coded'" if cannot else "")
    )


def _confidence(value: Any) -> float | None:
    """A confidence index in [0, 1], or None (missing, not a number, out of range, NaN)."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0.0 <= number <= 1.0 else None


_UNIT_COLUMNS = {
    "request_id": pa.string(),
    "ls_task_id": pa.int64(),
    "text": pa.string(),
    "context": pa.string(),
    "confidence": pa.float64(),
}
_KIND_COLUMNS = {
    CampaignKind.GOLD: {"predicted_code": pa.string(), "predicted_codes": pa.list_(pa.string())},
    CampaignKind.VALIDATION: {"given_code": pa.string()},
    CampaignKind.TRANSITION: {"old_code": pa.string(), "candidates": pa.list_(pa.string())},
}


def _units(tasks: list[dict[str, Any]], mapping: AdoptedMapping, sample_id: str) -> pa.Table:
    """One unit per task, with the columns the kind's metrics read, typed even when empty."""
    translator = Translator(mapping)
    kind = CampaignKind(mapping.kind)
    rows = []
    for task in tasks:
        data = task["data"]
        code = translator.code_of_field(data, mapping.code_field)
        confidence = _confidence(data.get(mapping.confidence_field or ""))
        context = {k: data[k] for k in CONTEXT_FIELDS if data.get(k) not in (None, "")}
        row: dict[str, Any] = {
            "request_id": translator.request_id(task),
            "ls_task_id": int(task["id"]),
            "text": str(data.get(mapping.text_field) or ""),
            "context": json.dumps(context, ensure_ascii=False, default=str) if context else None,
            "confidence": confidence,
        }
        if kind == CampaignKind.GOLD:
            row["predicted_code"] = code
            row["predicted_codes"] = [code] if code else []
        elif kind == CampaignKind.VALIDATION:
            row["given_code"] = code
        else:
            row["old_code"] = code
            row["candidates"] = translator.candidates(data)
        rows.append(row)
    n = len(rows)
    table = pa.Table.from_pylist(rows, schema=pa.schema(_UNIT_COLUMNS | _KIND_COLUMNS[kind]))
    design = {
        "stratum": pa.array(["all"] * n),
        "inclusion_prob": pa.array([1.0] * n),
        "weight": pa.array([1.0] * n),
        "stratum_population": pa.array([n] * n, pa.int64()),
        "stratum_sample_size": pa.array([n] * n, pa.int64()),
        "sample_id": pa.array([sample_id] * n),
    }
    for name, column in design.items():
        table = table.append_column(name, column)
    return table


def _read_tasks(gateway: LabelStudioGateway, project_id: int) -> list[dict[str, Any]]:
    tasks = [
        t
        for t in gateway.task_data(project_id)
        if isinstance(t, dict) and isinstance(t.get("id"), int) and isinstance(t.get("data"), dict)
    ]
    if not tasks:
        raise InvalidArgumentError(
            f"Label Studio project {project_id} has no tasks: there is nothing to adopt.",
            "Import its tasks first, or check the project id.",
        )
    return tasks


def _check_ids(tasks: list[dict[str, Any]], id_field: str | None) -> None:
    if id_field is None:
        return
    missing = [t["id"] for t in tasks if str(t["data"].get(id_field, "") or "").strip() == ""]
    if missing:
        raise InvalidArgumentError(
            f"{len(missing)} of {len(tasks)} tasks have no {id_field!r} (tasks "
            f"{', '.join(map(str, missing[:5]))}{'...' if len(missing) > 5 else ''}).",
            "Choose a field every task has with --id-field, or leave it out to use task ids.",
        )
    counts = Counter(str(t["data"][id_field]).strip() for t in tasks)
    duplicated = [value for value, n in counts.items() if n > 1]
    if duplicated:
        raise InvalidArgumentError(
            f"{len(duplicated)} values of {id_field!r} are shared by several tasks "
            f"(e.g. {duplicated[0]!r}): it cannot identify a unit.",
            "Choose a unique field with --id-field, or leave it out to use task ids.",
        )


def build_mapping(
    config: str,
    tasks: list[dict[str, Any]],
    kind: CampaignKind,
    settings: Settings,
    *,
    project_id: int,
    id_field: str | None = None,
    text_field: str | None = None,
    code_field: str | None = None,
    confidence_field: str | None = None,
) -> tuple[AdoptedMapping, list[str]]:
    """The mapping of a project's config and tasks for ``kind``, and notes for the user."""
    controls, texts = parse_label_config(config)
    mapping = map_controls(controls, texts, kind, text_field=text_field)
    mapping.project_id = project_id
    mapping.id_field = id_field
    mapping.confidence_field = confidence_field
    if not any(mapping.text_field in t["data"] for t in tasks):
        raise InvalidArgumentError(
            f"No task of project {project_id} has the text field {mapping.text_field!r}.",
            "Name the field holding the text with --text-field.",
        )
    _check_ids(tasks, id_field)
    old = old_nomenclature(settings)
    new = new_nomenclature(settings)
    expected, edition = (new, "NAF 2025") if kind == CampaignKind.TRANSITION else (old, "NAF rév.2")
    notes = [n for n in [_check_taxonomy(controls, mapping, expected.__contains__, edition)] if n]
    code_valid = old.__contains__  # given, old and model codes are NAF rév.2 codes
    if code_field is not None:
        if not any(code_field in t["data"] for t in tasks):
            raise InvalidArgumentError(
                f"No task of project {project_id} has the field {code_field!r}.",
                "Check --code-field against the tasks' data.",
            )
        if _field_codes(tasks, code_field, code_valid) < 0.5:
            example = next((t["data"][code_field] for t in tasks if code_field in t["data"]), None)
            raise InvalidArgumentError(
                f"The field {code_field!r} does not hold NAF rév.2 codes in most tasks "
                f"(e.g. {str(example)[:40]!r}).",
                "Name the field holding the code (4711Z, 47.11Z or '47.11Z - title').",
            )
        mapping.code_field = code_field
    if confidence_field is not None and not any(
        _confidence(t["data"].get(confidence_field)) is not None for t in tasks
    ):
        raise InvalidArgumentError(
            f"No task of project {project_id} has a confidence index in {confidence_field!r} "
            "(a number between 0 and 1).",
            "Check --confidence-field against the tasks' data, or leave it out.",
        )
    elif kind != CampaignKind.GOLD:  # a gold project's shown code may not be the model's
        found = _detect_code_field(tasks, texts, mapping, code_valid)
        if len(found) == 1:
            mapping.code_field = found[0]
            notes.append(f"code field {found[0]!r} found among the fields the experts see")
        elif kind == CampaignKind.VALIDATION:
            raise InvalidArgumentError(
                "Cannot tell which task field holds the code to validate"
                + (f" (candidates: {', '.join(found)})." if found else "."),
                "Name it with --code-field (e.g. --code-field apet_manual).",
            )
    if kind == CampaignKind.GOLD and mapping.code_field is None:
        notes.append(
            "no model code given (--code-field): the export and the gold labels are complete, "
            "the model's accuracy cannot be computed"
        )
    if mapping.ignored:
        notes.append("not used: " + "; ".join(mapping.ignored))
    return mapping, notes


def adopt_project(
    session: Session,
    storage: Storage,
    gateway: LabelStudioGateway,
    settings: Settings,
    project_id: int,
    *,
    kind: CampaignKind,
    name: str,
    id_field: str | None = None,
    text_field: str | None = None,
    code_field: str | None = None,
    confidence_field: str | None = None,
) -> AdoptionSummary:
    """Make Label Studio project ``project_id`` the campaign ``name`` (or refresh it).

    Adopting again the project of an adopted campaign of that name takes in the tasks added
    since and re-reads the config (options not given keep their earlier value); any other
    clash of name or project is refused. The project itself is only read, never changed.
    """
    existing = session.exec(select(Campaign).where(Campaign.name == name)).first()
    previous: AdoptedMapping | None = None
    if existing is not None:
        if existing.ls_project_id != project_id or not existing.adopted_mapping:
            raise ConflictError(
                f"A campaign named {name!r} exists and is not project {project_id} adopted.",
                "Choose another name.",
            )
        previous = AdoptedMapping.from_json(existing.adopted_mapping)
        if kind != existing.kind:
            raise ConflictError(
                f"Campaign {name!r} adopted project {project_id} as a {existing.kind} campaign.",
                f"Adopt it again with --kind {existing.kind}, or under another name.",
            )
    other = session.exec(
        select(Campaign).where(Campaign.ls_project_id == project_id, Campaign.name != name)
    ).first()
    if other is not None:
        raise ConflictError(
            f"Label Studio project {project_id} already is campaign {other.name!r}.",
            f"Work with 'campaigns export {other.name}', or adopt it again under that name.",
        )
    project = gateway.project_details(project_id)
    tasks = _read_tasks(gateway, project_id)
    mapping, notes = build_mapping(
        project["label_config"],
        tasks,
        kind,
        settings,
        project_id=project_id,
        id_field=id_field or (previous.id_field if previous else None),
        text_field=text_field or (previous.text_field if previous else None),
        code_field=code_field or (previous.code_field if previous else None),
        confidence_field=confidence_field or (previous.confidence_field if previous else None),
    )
    sample = _record_units(session, storage, tasks, mapping, name)
    if existing is None:
        campaign = crud.add_campaign(
            session,
            CampaignCreate(
                name=name,
                kind=kind,
                sample_id=sample.id,
                description=f"Label Studio project {project_id} adopted: {project['title']}",
                annotations_per_task=min(max(int(project["maximum_annotations"] or 1), 1), 10),
            ),
        )
    else:
        campaign = existing
    campaign.ls_project_id = project_id
    campaign.adopted_mapping = mapping.to_json()
    campaign.tasks_pushed = len(tasks)
    if campaign.status == CampaignStatus.CREATED:
        campaign.status = CampaignStatus.PUSHED
    campaign = crud.save(session, campaign)
    return AdoptionSummary(
        campaign_id=campaign.id or 0,
        name=campaign.name,
        kind=str(kind),
        project_id=project_id,
        project_title=str(project["title"]),
        tasks=len(tasks),
        refreshed=existing is not None,
        mapping=asdict(mapping),
        notes=notes,
    )


def _record_units(
    session: Session,
    storage: Storage,
    tasks: list[dict[str, Any]],
    mapping: AdoptedMapping,
    name: str,
) -> Sample:
    """The project's tasks as the campaign's sample (rewritten whole on a refresh)."""
    key = json.dumps([mapping.project_id, mapping.kind, name], sort_keys=True)
    sample_id = f"adopted-{mapping.project_id}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"
    table = _units(tasks, mapping, sample_id)
    uri = storage.write_table(table, sample_key(sample_id))
    today = datetime.now(UTC).date()
    sample = session.get(Sample, sample_id) or Sample(
        id=sample_id,
        window_start=today,
        window_end=today,
        design="adopted",
        population_size=table.num_rows,
        sample_size=table.num_rows,
        uri=uri,
    )
    sample.design_params = json.dumps(
        {"project_id": mapping.project_id, "kind": mapping.kind, "id_field": mapping.id_field}
    )
    sample.population_size = sample.sample_size = table.num_rows
    sample.window_end = today
    session.add(sample)
    session.commit()
    session.refresh(sample)
    return sample
