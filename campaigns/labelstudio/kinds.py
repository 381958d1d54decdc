"""What differs between campaign kinds: labeling interface, task payloads, result parsing."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from campaigns.config import Settings
from campaigns.labelstudio.context_titles import context_titles
from campaigns.labelstudio.gold.config import gold_standard_config
from campaigns.labelstudio.gold.results import annotations_table
from campaigns.labelstudio.gold.tasks import ARM_FIELD, gold_tasks
from campaigns.labelstudio.kit import CampaignKit
from campaigns.labelstudio.transition.config import transition_config
from campaigns.labelstudio.transition.notes import candidate_notes
from campaigns.labelstudio.transition.results import transition_annotations
from campaigns.labelstudio.transition.tasks import transition_tasks
from campaigns.labelstudio.transition.validation_tasks import (
    is_validation_sample,
    transition_validation_annotations,
    transition_validation_config,
    transition_validation_tasks,
)
from campaigns.labelstudio.validation.config import validation_config
from campaigns.labelstudio.validation.results import validation_annotations
from campaigns.labelstudio.validation.tasks import validation_tasks
from campaigns.nomenclatures import new_nomenclature, old_nomenclature
from campaigns.state.models import CampaignBase, CampaignKind, SuggestionMode


def with_arms(annotations: pa.Table, tasks: list[dict[str, Any]]) -> pa.Table:
    """The annotations with the ``arm`` of their task (``randomized`` gold campaigns).

    Matched by request id, so it holds whatever order the parser keeps; always added for a
    randomized campaign (null when a task has none), so incremental exports keep one schema.
    """
    arm_of = {
        (task.get("data") or {}).get("request_id"): (task.get("data") or {}).get(ARM_FIELD)
        for task in tasks
    }
    arms = [arm_of.get(rid) for rid in annotations.column("request_id").to_pylist()]
    return annotations.append_column(ARM_FIELD, pa.array(arms, pa.string()))


def kit_for(campaign: CampaignBase | CampaignKind, settings: Settings) -> CampaignKit:
    """The kit of the campaign's kind (and options; a bare kind takes the defaults), in the
    settings' language, with the settings' context and notes tables.

    Tables are read when tasks are built (not here), so a kit made to read annotations never
    needs them.
    """
    kind = campaign if isinstance(campaign, CampaignKind) else campaign.kind
    if mapping := getattr(campaign, "adopted_mapping", None):  # a project adopted as it is
        from campaigns.labelstudio.adopted.results import adopted_kit

        return adopted_kit(mapping, settings)
    old = old_nomenclature(settings)
    language = settings.language
    if kind == CampaignKind.GOLD:
        mode = SuggestionMode.HIDDEN if isinstance(campaign, CampaignKind) else campaign.suggestions
        randomized = mode == SuggestionMode.RANDOMIZED
        return CampaignKit(
            label_config=lambda: gold_standard_config(old, language, mode),
            tasks=lambda table, cid: gold_tasks(
                table,
                cid,
                old.title,
                context_titles=context_titles(settings),
                language=language,
                suggestions=mode,
            ),
            annotations=lambda tasks: (
                with_arms(annotations_table(tasks, old.__contains__), tasks)
                if randomized
                else annotations_table(tasks, old.__contains__)
            ),
        )
    if kind == CampaignKind.VALIDATION:
        return CampaignKit(
            label_config=lambda: validation_config(old, language),
            tasks=lambda table, cid: validation_tasks(
                table, cid, old.title, context_titles=context_titles(settings), language=language
            ),
            annotations=lambda tasks: validation_annotations(tasks, old.__contains__),
        )
    validate = not isinstance(campaign, CampaignKind) and is_validation_sample(campaign.sample_id)
    return transition_kit(settings, validate=validate)


def transition_kit(settings: Settings, *, validate: bool = False) -> CampaignKit:
    """A transition campaign's kit: choose among the old code's candidates, or, on a batch's
    validation sample (``validate``), confirm or reject the proposed code. Annotations come
    out with ``code`` (as every kit's), so the export's gold rule, the agreement and
    ``campaigns transition dataset`` read both alike."""
    old, new = old_nomenclature(settings), new_nomenclature(settings)
    language = settings.language
    config, tasks, annotations = (
        (
            transition_validation_config,
            transition_validation_tasks,
            transition_validation_annotations,
        )
        if validate
        else (transition_config, transition_tasks, transition_annotations)
    )
    return CampaignKit(
        label_config=lambda: config(new, language),
        tasks=lambda table, cid: tasks(
            table,
            cid,
            old.title,
            new.title,
            context_titles=context_titles(settings),
            candidate_notes=candidate_notes(settings),
            language=language,
        ),
        annotations=lambda parsed: annotations(parsed, new.__contains__).rename_columns(
            {"new_code": "code"}
        ),
    )
