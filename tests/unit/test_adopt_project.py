"""Adopting a project: the campaign row, its units, refreshes and the clashes refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from campaigns.errors import ConflictError, InvalidArgumentError, NotFoundError
from campaigns.labelstudio.adopted.config import AdoptedMapping
from campaigns.lifecycle.adopt import adopt_project
from campaigns.sampling.registry import load_sample_table
from campaigns.state import crud
from campaigns.state.models import CampaignCreate, CampaignKind, CampaignStatus
from campaigns.storage import Storage

CONFIG = """<View>
  <View><Header value="Déclaration"/><Text name="text" value="Libellé --> $libelle"/>
    <Text name="NAF2008" value="Code donné --> $apet_manual"/></View>
  <Choices name="NAF2008_OK" toName="text" choice="single">
    <Choice value="Oui" selected="true"/><Choice value="Non"/></Choices>
  <View visibleWhen="choice-selected" whenTagName="NAF2008_OK" whenChoiceValue="Non">
    <Taxonomy name="taxonomy" toName="text" leafsOnly="true" maxUsages="1">
      <Choice value="Inclassable" alias="XXXXX"/>
      <Choice value="G - Commerce" alias="G"><Choice value="47 - Commerce de détail" alias="47">
        <Choice value="47.24Z // 4724Z - Commerce de détail de pain" alias="47.24Z"/>
      </Choice></Choice></Taxonomy></View>
  <TextArea name="Remarques" toName="text"/>
</View>"""


class FakeGateway:
    """The two reads adoption makes, from memory (the real ones are integration-tested)."""

    def __init__(self, tasks: list[dict[str, Any]], overlap: int = 3) -> None:
        self.tasks = tasks
        self.overlap = overlap

    def project_details(self, project_id: int) -> dict[str, Any]:
        if project_id != 12:
            raise NotFoundError(f"Label Studio has no project {project_id}.")
        return {
            "title": "NAF 2008 validation",
            "label_config": CONFIG,
            "maximum_annotations": self.overlap,
            "task_number": len(self.tasks),
        }

    def task_data(self, project_id: int) -> list[dict[str, Any]]:
        return self.tasks


def tasks(*ids: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "data": {
                "libelle": f"BOULANGERIE {i}",
                "liasse_numero": f"L{i}",
                "apet_manual": "4724Z",
                "cj": "5499",
                "confiance": 0.5 + i / 10,
            },
        }
        for i in ids
    ]


@pytest.fixture
def adopt(state_session, state_settings):
    storage = Storage.open(state_settings.storage_root)

    def run(gateway: FakeGateway, **options: Any):
        options = {"kind": CampaignKind.VALIDATION, "name": "naf2008-check"} | options
        return adopt_project(
            state_session, storage, gateway, state_settings, options.pop("project_id", 12),
            **options,
        )  # fmt: skip

    run.storage = storage
    return run


def test_a_project_becomes_a_campaign_with_its_tasks_as_units(adopt, state_session):
    summary = adopt(FakeGateway(tasks(1, 2, 3)), id_field="liasse_numero",
                    confidence_field="confiance")  # fmt: skip
    assert (summary.tasks, summary.refreshed, summary.kind) == (3, False, "validation")
    campaign = crud.get_campaign(state_session, "naf2008-check")
    assert (campaign.ls_project_id, campaign.status, campaign.tasks_pushed) == (
        12,
        CampaignStatus.PUSHED,
        3,
    )
    assert campaign.annotations_per_task == 3  # the project's overlap
    mapping = AdoptedMapping.from_json(campaign.adopted_mapping)
    assert (mapping.code_field, mapping.id_field, mapping.text_field) == (
        "apet_manual",
        "liasse_numero",
        "libelle",
    )
    sample = crud.get_sample(state_session, campaign.sample_id)
    assert sample.design == "adopted" and sample.sample_size == 3
    units = load_sample_table(adopt.storage, sample).to_pylist()
    assert [u["request_id"] for u in units] == ["L1", "L2", "L3"]
    assert units[0]["given_code"] == "47.24Z" and units[0]["text"] == "BOULANGERIE 1"
    assert units[0]["confidence"] == pytest.approx(0.6)
    assert json.loads(units[0]["context"]) == {"cj": "5499"}
    assert (units[0]["weight"], units[0]["stratum"]) == (1.0, "all")


def test_adopting_again_takes_in_new_tasks_and_keeps_the_options(adopt, state_session):
    adopt(FakeGateway(tasks(1, 2)), id_field="liasse_numero")
    summary = adopt(FakeGateway(tasks(1, 2, 3, 4)))
    assert summary.refreshed and summary.tasks == 4
    campaign = crud.get_campaign(state_session, "naf2008-check")
    assert AdoptedMapping.from_json(campaign.adopted_mapping).id_field == "liasse_numero"
    units = load_sample_table(adopt.storage, crud.get_sample(state_session, campaign.sample_id))
    assert units.column("request_id").to_pylist() == ["L1", "L2", "L3", "L4"]


def test_clashes_are_refused(adopt, state_session):
    crud.add_campaign(state_session, CampaignCreate(name="ours", sample_id="s1"))
    with pytest.raises(ConflictError, match="exists and is not project 12"):
        adopt(FakeGateway(tasks(1)), name="ours")
    adopt(FakeGateway(tasks(1)))
    with pytest.raises(ConflictError, match="already is campaign 'naf2008-check'"):
        adopt(FakeGateway(tasks(1)), name="another-name")
    with pytest.raises(ConflictError, match="as a validation campaign"):
        adopt(FakeGateway(tasks(1)), kind=CampaignKind.GOLD)


def test_nothing_to_adopt_or_no_such_project(adopt):
    with pytest.raises(InvalidArgumentError, match="has no tasks"):
        adopt(FakeGateway([{"id": "x", "data": {}}, "garbage"]))
    with pytest.raises(NotFoundError, match="no project 99"):
        adopt(FakeGateway(tasks(1)), project_id=99)


def test_a_failed_adoption_leaves_no_campaign(adopt, state_session):
    with pytest.raises(InvalidArgumentError):
        adopt(FakeGateway(tasks(1, 2)), id_field="cj")  # shared by both tasks
    with pytest.raises(NotFoundError):
        crud.get_campaign(state_session, "naf2008-check")
