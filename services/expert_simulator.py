"""Simulated experts: annotations created through Label Studio's REST API, as a browser would.

Used by the demo and the integration tests; never by the product itself.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from campaigns.labelstudio.gold.config import (
    CANNOT_CODE,
    DIFFICULTY,
    FLAGS,
    REMARK,
    SUGGESTED,
    TAXONOMY,
    TEXT,
)


@dataclass
class ExpertAnswer:
    """What one expert does with one task."""

    code: str | None = None
    via_taxonomy_path: list[str] | None = None
    cannot_code: bool = False
    skip: bool = False
    remark: str | None = None
    difficulty: int | None = None


def annotation_payload(answer: ExpertAnswer, lead_time: float = 12.5) -> dict[str, Any]:
    if answer.skip:
        return {"result": [], "was_cancelled": True, "lead_time": lead_time}
    result: list[dict[str, Any]] = []
    if answer.cannot_code:
        result.append(_choice(FLAGS, [CANNOT_CODE]))
    elif answer.via_taxonomy_path:
        result.append(
            {
                "from_name": TAXONOMY,
                "to_name": TEXT,
                "type": "taxonomy",
                "value": {"taxonomy": [answer.via_taxonomy_path]},
            }
        )
    elif answer.code:
        result.append(_choice(SUGGESTED, [answer.code]))
    if answer.remark:
        result.append(
            {
                "from_name": REMARK,
                "to_name": TEXT,
                "type": "textarea",
                "value": {"text": [answer.remark]},
            }
        )
    if answer.difficulty:
        result.append(
            {
                "from_name": DIFFICULTY,
                "to_name": TEXT,
                "type": "rating",
                "value": {"rating": answer.difficulty},
            }
        )
    return {"result": result, "lead_time": lead_time}


def _choice(name: str, choices: list[str]) -> dict[str, Any]:
    return {"from_name": name, "to_name": TEXT, "type": "choices", "value": {"choices": choices}}


@dataclass
class LabelStudioExpert:
    """One expert account's view of Label Studio's REST API."""

    url: str
    token: str
    annotator: str | None = None
    client: httpx.Client = field(init=False)
    user_id: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.client = httpx.Client(
            base_url=self.url.rstrip("/"),
            timeout=60,
            headers={"Authorization": f"Token {self.token}"},
        )
        if self.annotator:
            self.user_id = self._ensure_user(self.annotator)

    def _ensure_user(self, name: str) -> int:
        """A Label Studio user for this expert (created once), so annotations carry its id."""
        email = f"{name}@experts.example.org"
        listed = self.client.get("/api/users/")
        listed.raise_for_status()
        for user in listed.json():
            if user.get("email") == email:
                return int(user["id"])
        created = self.client.post(
            "/api/users/", json={"email": email, "username": name, "first_name": name}
        )
        created.raise_for_status()
        return int(created.json()["id"])

    def tasks(self, project_id: int) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = []
        page = 1
        while True:
            resp = self.client.get(
                "/api/tasks/",
                params={"project": project_id, "page": page, "page_size": 500, "fields": "all"},
            )
            if resp.status_code == 404:
                break
            resp.raise_for_status()
            batch = resp.json().get("tasks", [])
            tasks.extend(batch)
            if len(batch) < 500:
                break
            page += 1
        return tasks

    def annotate(self, task_id: int, answer: ExpertAnswer, lead_time: float = 12.5) -> int:
        payload = annotation_payload(answer, lead_time)
        if self.user_id is not None:
            payload["completed_by"] = self.user_id
        resp = self.client.post(f"/api/tasks/{task_id}/annotations/", json=payload)
        resp.raise_for_status()
        return int(resp.json()["id"])

    def update(self, annotation_id: int, answer: ExpertAnswer) -> None:
        resp = self.client.patch(
            f"/api/annotations/{annotation_id}/", json=annotation_payload(answer)
        )
        resp.raise_for_status()

    def delete(self, annotation_id: int) -> None:
        self.client.delete(f"/api/annotations/{annotation_id}/").raise_for_status()


def simulate_experts(
    expert: LabelStudioExpert,
    project_id: int,
    truth: Mapping[str, str],
    taxonomy_path: Any,
    *,
    n_tasks: int,
    seed: int = 0,
    cannot_code_rate: float = 0.05,
    skip_rate: float = 0.05,
    error_rate: float = 0.03,
) -> dict[str, int]:
    """Annotate ``n_tasks`` tasks: mostly the true code, a few skips and 'cannot be coded'."""
    rng = random.Random(seed)
    tasks = expert.tasks(project_id)
    rng.shuffle(tasks)  # experts work through the queue in no particular stratum order
    tasks = tasks[:n_tasks]
    counts = {"coded": 0, "cannot_code": 0, "skipped": 0}
    for task in tasks:
        data = task["data"]
        true_code = truth.get(data["request_id"])
        draw = rng.random()
        if draw < skip_rate:
            answer, kind = ExpertAnswer(skip=True), "skipped"
        elif draw < skip_rate + cannot_code_rate or true_code is None:
            answer, kind = ExpertAnswer(cannot_code=True, remark="too vague"), "cannot_code"
        else:
            suggested = [s["value"] for s in data.get("suggestions", [])]
            code = true_code
            if rng.random() < error_rate and suggested:
                code = rng.choice(suggested)
            if code in suggested:
                answer = ExpertAnswer(code=code, difficulty=rng.randint(1, 3))
            else:
                answer = ExpertAnswer(
                    via_taxonomy_path=taxonomy_path(code), difficulty=rng.randint(3, 5)
                )
            kind = "coded"
        expert.annotate(task["id"], answer, lead_time=round(rng.uniform(5, 90), 1))
        counts[kind] += 1
    return counts
