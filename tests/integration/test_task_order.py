"""Projects serve tasks at random: Label Studio's uniform sampling, checked on the real server."""

from __future__ import annotations

import pytest

from campaigns.labelstudio.gateway import KEY_FIELD, TASK_SAMPLING, LabelStudioGateway
from services.local_stack import LabelStudioServer

pytestmark = pytest.mark.integration
CONFIG = '<View><Text name="text" value="$text"/></View>'


def test_projects_are_created_with_uniform_task_sampling(label_studio: LabelStudioServer):
    gateway = LabelStudioGateway(label_studio.url, label_studio.token, timeout=30)
    assert TASK_SAMPLING == "Uniform sampling"
    served = []
    for run in range(4):
        project = gateway.create_project(f"task order {run}", CONFIG)
        assert gateway.task_sampling(project) == "Uniform sampling"  # accepted and stored
        tasks = [{"data": {KEY_FIELD: f"{run}:r{i}", "text": f"TEXTE {i}"}} for i in range(60)]
        assert gateway.import_tasks(project, tasks) == 60
        # "Label All Tasks" asks for the next task: sequential sampling would always serve the
        # first one imported; uniform sampling does with probability 1/60 per project.
        response = gateway.http.get(f"/api/projects/{project}/next")
        response.raise_for_status()
        served.append(response.json()["data"]["text"])
    assert served != ["TEXTE 0"] * 4, served
