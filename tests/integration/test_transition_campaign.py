"""Transition campaign against the real servers, on the built-in official correspondence."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from campaigns.config import get_settings
from campaigns.gold import store as gold_store
from campaigns.labelstudio.transition.config import CANDIDATE, FALLBACK, NONE_OF_THESE, SCOPE
from campaigns.nomenclatures import correspondence
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.storage import Storage
from services.expert_simulator import LabelStudioExpert

pytestmark = pytest.mark.integration


@pytest.fixture
def official_tables(live_env) -> None:
    """No table setting: the built-in official tables (Insee, January 2026) are the default."""
    for variable in ("NOMENCLATURE", "NEW_NOMENCLATURE", "CORRESPONDENCE"):
        assert f"CAMPAIGNS_{variable}" not in live_env
    settings = get_settings()
    assert (settings.nomenclature, settings.new_nomenclature, settings.correspondence) == (
        None,
        None,
        None,
    )


def annotate(expert: LabelStudioExpert, task_id: int, result: list[dict], **extra) -> None:
    resp = expert.client.post(
        f"/api/tasks/{task_id}/annotations/", json={"result": result, **extra}
    )
    resp.raise_for_status()


def choice(name: str, value: str) -> dict:
    return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": [value]}}


def test_only_multivocal_rows_reach_experts_with_exactly_their_candidates(
    official_tables, cli, tmp_path: Path, label_studio
):
    corr = correspondence(get_settings())
    assert (len(corr.univocal_codes()), len(corr.multivocal_codes())) == (520, 212)
    univocal = corr.univocal_codes()[:3]
    multivocal = [c for c in corr.multivocal_codes() if len(corr.candidates(c)) == 2][:2]
    many = "47.99A"
    assert len(corr.candidates(many)) > 20
    codes = univocal * 4 + [c.replace(".", "") for c in multivocal] * 3 + [many, "99.99Z", "12345"]
    texts = [f"TEXTE {i}" for i in range(len(codes))]
    source = tmp_path / "training.parquet"
    pq.write_table(pa.table({"libelle": texts, "ape": codes}), source)

    out = cli(
        "transition",
        "create",
        "naf2025-t1",
        "--input",
        str(source),
        "--size",
        "50",
        "--text-column",
        "libelle",
        "--code-column",
        "ape",
    ).output
    assert "12 univocal" in out and "7 multivocal" in out and "2 quarantined" in out
    cli("push", "naf2025-t1")

    settings = get_settings()
    with session_scope(settings) as session:
        campaign = crud.get_campaign(session, "naf2025-t1")
    expert = LabelStudioExpert(label_studio.url, label_studio.token)
    tasks = expert.tasks(campaign.ls_project_id)
    assert len(tasks) == 7
    for task in tasks:
        offered = [c["value"] for c in task["data"]["candidates"]]
        assert offered == [*corr.candidates(task["data"]["old_code"]), NONE_OF_THESE]
        assert all(c.get("html") for c in task["data"]["candidates"])
    assert {t["data"]["old_code"] for t in tasks} == {*multivocal, many}

    # Univocal rows were recoded without experts.
    storage = Storage.from_settings(settings)
    recoded = storage.read_table("transition/naf2025-t1/univocal.parquet").to_pylist()
    assert len(recoded) == 12
    assert all(r["new_code"] == corr.candidates(r["code"])[0] for r in recoded)

    by_old: dict[str, list[dict]] = {}
    for task in tasks:
        by_old.setdefault(task["data"]["old_code"], []).append(task)
    first, second = multivocal
    a, b = corr.candidates(first)
    # Three texts of the first code: two go to candidate a, one to b.
    for task, code in zip(by_old[first], [a, a, b], strict=True):
        annotate(expert, task["id"], [choice(SCOPE, "in_scope"), choice(CANDIDATE, code)])
    # The second code: one "none of these", one fallback to the full taxonomy, one skip.
    t1, t2, t3 = by_old[second]
    annotate(expert, t1["id"], [choice(SCOPE, "out_of_scope"), choice(CANDIDATE, NONE_OF_THESE)])
    annotate(
        expert,
        t2["id"],
        [
            {
                "from_name": FALLBACK,
                "to_name": "text",
                "type": "taxonomy",
                "value": {"taxonomy": [["G", "47", "47.11G"]]},
            }
        ],
    )
    annotate(expert, t3["id"], [], was_cancelled=True)

    cli("export", "naf2025-t1")
    with session_scope(settings) as session:
        campaign = crud.get_campaign(session, "naf2025-t1")
    gold = {r["request_id"]: r for r in gold_store.latest_gold(storage, campaign).to_pylist()}
    assert gold[t1["data"]["request_id"]]["status"] == "none_of_these"
    assert gold[t2["data"]["request_id"]]["gold_code"] == "47.11G"
    assert gold[t3["data"]["request_id"]]["status"] == "skipped"

    out = cli("transition", "split", "naf2025-t1").output
    assert f"{first}" in out and "66.7%" in out and "33.3%" in out and "2/3" in out
