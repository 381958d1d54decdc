"""The transition on the minimal input its help describes, against the real servers.

Rows of (id, text, old code) and nothing else go through ``transition create``, push,
annotation in Label Studio, export, ``transition dataset`` and ``transition next-batch``, with
pandas' future string type on (pandas 3's default: a missing string is a NaN float), under
which the dataset used to stop with ``ArrowTypeError: Expected bytes, got a 'float' object``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from campaigns.config import get_settings
from campaigns.labelstudio.transition.config import CANDIDATE, SCOPE
from campaigns.recoding.simulation import study_codes
from campaigns.recoding.synthetic import synthetic_transition
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.storage import Storage
from nace_mapping import Correspondence
from services.expert_simulator import LabelStudioExpert

pytestmark = pytest.mark.integration


def choice(name: str, value: str) -> dict:
    return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": [value]}}


def test_rows_of_id_text_and_old_code_only(live_env, cli, tmp_path: Path, label_studio):
    correspondence = Correspondence.builtin()
    codes = study_codes(correspondence, multivocal=3, univocal=8, seed=5)
    data = synthetic_transition(correspondence, rows=600, seed=6, old_codes=codes)
    truth = dict(
        zip(
            data.truth.column("request_id").to_pylist(),
            data.truth.column("true_code").to_pylist(),
            strict=True,
        )
    )
    source = tmp_path / "minimal.parquet"
    pq.write_table(data.table.select(["request_id", "text", "code"]), source)  # no context
    with pd.option_context("future.infer_string", True):
        cli("transition", "create", "naf25-min", "--input", str(source), "--size", "24")
        cli("push", "naf25-min")
        with session_scope(get_settings()) as session:
            project = crud.get_campaign(session, "naf25-min").ls_project_id
        expert = LabelStudioExpert(label_studio.url, label_studio.token)
        tasks = expert.tasks(project)
        assert len(tasks) == 24
        for task in tasks:
            result = [
                choice(SCOPE, "in_scope"),
                choice(CANDIDATE, truth[task["data"]["request_id"]]),
            ]
            expert.client.post(
                f"/api/tasks/{task['id']}/annotations/", json={"result": result}
            ).raise_for_status()
        cli("export", "naf25-min")

        out = cli("transition", "dataset", "naf25-min").output
        assert "24 answered in 1 batch" in out
        out = cli("transition", "next-batch", "naf25-min", "--size", "10").output
        assert re.search(r"--sample (transition-batch-[0-9a-f]+)", out)

    storage = Storage.from_settings(get_settings())
    dataset = storage.read_table("transition/naf25-min/dataset.parquet")
    assert dataset.num_rows == 600
    experts = dataset.filter(pc.equal(dataset.column("provenance"), "expert")).to_pylist()
    assert len(experts) == 24 and all(r["code"] == truth[r["request_id"]] for r in experts)
    split = storage.read_table("transition/naf25-min/split.parquet")
    assert {"model_accuracy", "model_accuracy_low", "model_accuracy_high"} <= set(
        split.column_names
    )
