"""Pushes that go wrong halfway, then carry on: no task, no prediction lost or doubled.

Label Studio dying mid-import, then the push rerun; and an import whose answer is lost after
Label Studio stored the batch (a timeout), which the push must not blindly resend.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from campaigns.errors import ServiceUnavailableError
from campaigns.labelstudio.gateway import KEY_FIELD, LabelStudioGateway
from services.local_stack import (
    LabelStudioServer,
    label_studio_template,
    start_label_studio,
    start_label_studio_copy,
)

pytestmark = pytest.mark.integration
N_TASKS = 5000
CONFIG = """<View><Text name="text" value="$text"/>
<Choices name="suggested" toName="text" value="$suggestions" choice="single"/></View>"""


def tasks(n: int = N_TASKS) -> list[dict]:
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
        for i in range(n)
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
        assert predictions_in(gateway, project) == N_TASKS  # each task with its own prediction
    finally:
        server.stop()


def predictions_in(gateway: LabelStudioGateway, project: int) -> int:
    return int(gateway.http.get(f"/api/projects/{project}").json()["total_predictions_number"])


class LosesAnImportAnswer(httpx.BaseTransport):
    """Delivers the ``nth`` import request, lets Label Studio store it, then drops its answer."""

    def __init__(self, nth: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.nth, self.imports = nth, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/import"):
            self.imports += 1
            if self.imports == self.nth:
                response.read()
                response.close()
                raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def test_an_import_answer_lost_after_the_batch_was_stored_is_not_sent_again(
    label_studio: LabelStudioServer,
):
    gateway = LabelStudioGateway(label_studio.url, label_studio.token, timeout=60)
    transport = LosesAnImportAnswer(nth=2)
    gateway.http = httpx.Client(
        base_url=label_studio.url,
        headers={"Authorization": f"Token {label_studio.token}"},
        transport=transport,
        timeout=60,
    )
    project = gateway.create_project("lost answer", CONFIG)
    payload = tasks(1200)

    assert gateway.import_tasks(project, payload, batch_size=300) == 1200
    # The second batch was stored though its answer never came: read back, not resent.
    assert transport.imports == 4
    assert gateway.task_count(project) == 1200
    assert gateway.existing_keys(project) == {t["data"][KEY_FIELD] for t in payload}
    assert predictions_in(gateway, project) == 1200
    assert gateway.import_tasks(project, payload, batch_size=300) == 0
