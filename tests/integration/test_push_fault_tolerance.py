"""A push interrupted by Label Studio dying mid-import, then rerun: no task lost or doubled."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from campaigns.errors import ServiceUnavailableError
from campaigns.labelstudio.gateway import KEY_FIELD, LabelStudioGateway
from services.local_stack import label_studio_template, start_label_studio, start_label_studio_copy

pytestmark = pytest.mark.integration
N_TASKS = 5000
CONFIG = """<View><Text name="text" value="$text"/>
<Choices name="suggested" toName="text" value="$suggestions" choice="single"/></View>"""


def tasks() -> list[dict]:
    return [
        {
            "data": {
                KEY_FIELD: f"7:req-{i}",
                "request_id": f"req-{i}",
                "text": f"TEXTE {i}",
                "suggestions": [{"value": "62.01Z"}, {"value": "62.02A"}],
            },
            "predictions": [
                {
                    "model_version": "m",
                    "score": 0.9,
                    "result": [
                        {
                            "from_name": "suggested",
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": ["62.01Z"]},
                        }
                    ],
                }
            ],
        }
        for i in range(N_TASKS)
    ]


def test_killing_label_studio_mid_push_then_rerunning_gives_exactly_every_task(tmp_path: Path):
    data_dir = tmp_path / "ls"
    server = start_label_studio_copy(data_dir)
    gateway = LabelStudioGateway(server.url, server.token, timeout=30)
    project = gateway.create_project("fault tolerance", CONFIG)
    payload = tasks()
    outcome: dict[str, object] = {}

    def push() -> None:
        try:
            outcome["imported"] = gateway.import_tasks(project, payload, batch_size=250)
        except ServiceUnavailableError as err:
            outcome["error"] = err

    worker = threading.Thread(target=push)
    worker.start()
    deadline = time.monotonic() + 120
    while gateway.task_count(project) < 1000 and time.monotonic() < deadline:
        time.sleep(0.2)
    server.stop()  # SIGTERM to the whole process group, mid-import
    worker.join(timeout=120)
    assert "error" in outcome, "the push should have failed when Label Studio died"

    _, creds = label_studio_template()
    server = start_label_studio(
        data_dir,
        port=server.port,
        token=creds["token"],
        username=creds["username"],
        password=creds["password"],
    )
    try:
        before = gateway.task_count(project)
        assert 0 < before < N_TASKS
        imported = gateway.import_tasks(project, payload, batch_size=250)
        assert imported == N_TASKS - before
        assert gateway.task_count(project) == N_TASKS
        keys = gateway.existing_keys(project)
        assert keys == {t["data"][KEY_FIELD] for t in payload}
    finally:
        server.stop()
