"""The only module that talks to Label Studio: through its SDK, and plain REST where the SDK
has no surface (webhooks) or costs measurable time (task imports and reads, the hot paths).

Imports are idempotent: each task carries a stable ``campaign_key`` (campaign id + request id);
before importing, the keys already in the project are read back, so a push retried after a
crash or a timeout imports exactly the missing tasks. Label Studio imports each batch in one
database transaction, so a batch is in the project whole or not at all.

Where Label Studio 1.23.2 spends a push's time (SQLite, 10,000 gold tasks, its CPU time): a
bare import costs about 0.3 ms a task; a task with a prediction about 1.35 ms, two thirds of it
in refreshing the task's counters (``update_tasks_counters``: a Django ``bulk_update`` building
a CASE expression per task and counter, run inside the request unless the server has Redis),
a cost every way of adding predictions pays. ``benchmarks/bench_push.py --variants``, same run,
share of the bare import's rate (two runs where two figures): inline (this module) 26-28%;
bare import then ``POST /api/projects/{id}/import/predictions`` per batch 6% (without its
off-by-default memory-efficient flag, that endpoint refreshes the counters of every task of
the project at each call: quadratic); the same in one call for all tasks 31-36% (see
``import_tasks`` for why not); five predictions a task 14%; one prediction holding five
results 23%; no ``model_version`` 25%; batches of 250 13%, of 5,000 25%. At 100,000 tasks,
inline: 27%. The one way found above 50%, and the one gold tasks now take: no prediction at
all, the top-1 suggestion carrying ``"selected": true`` in the task data, which the labeling
screen pre-selects as well (98% of the bare rate; see ``gold/tasks.py``).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeGuard

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from campaigns.config import Settings
from campaigns.errors import (
    ConfigurationError,
    InputFormatError,
    NotFoundError,
    ServiceUnavailableError,
)

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

KEY_FIELD = "campaign_key"
_TRANSIENT = (httpx.TransportError, ConnectionError)
# Task ids per export request: keeps the URL under the usual 4 KB request-line limits.
EXPORT_IDS_PER_REQUEST = 250
# What the result parsers read of a task and of its annotations (``_filtered_tasks``).
_TASK_FIELDS = ("id", "data", "updated_at", "annotations")
_ANNOTATION_FIELDS = ("result", "completed_by", "was_cancelled", "lead_time", "created_at")
# Tasks per import request. Measured on Label Studio 1.23.2 (SQLite, 10,000 gold tasks): 250
# costs the server 30% more CPU than 1,000 (per-request work); 5,000 saves under 10% bare and
# nothing with predictions, while a lost answer means reading the keys again and a longer wait.
IMPORT_BATCH_SIZE = 1000
# Passes over the missing tasks when answers are lost (keys reread before each new pass).
IMPORT_ATTEMPTS = 3


TASK_SAMPLING = "Uniform sampling"
"""Label Studio's project setting serving each expert a random unannotated task."""


class LabelStudioGateway:
    """A thin, typed facade over the SDK for what campaigns need."""

    def __init__(self, url: str, token: str, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self._token, self._timeout = token, timeout
        self.http = httpx.Client(
            base_url=self.url, timeout=timeout, headers={"Authorization": f"Token {token}"}
        )

    @cached_property
    def client(self) -> LabelStudio:
        """The SDK's client, built on first use: importing the SDK takes about a second, which
        pushes, exports (plain REST) and the API's start need not pay."""
        from label_studio_sdk import LabelStudio

        return LabelStudio(base_url=self.url, api_key=self._token, timeout=self._timeout)

    @classmethod
    def from_settings(cls, settings: Settings) -> LabelStudioGateway:
        if settings.label_studio_token is None:
            raise ConfigurationError(
                "No Label Studio token configured.",
                "Set CAMPAIGNS_LABEL_STUDIO_TOKEN (Label Studio: Account & Settings > "
                "Access Token).",
            )
        return cls(
            settings.label_studio_url,
            settings.label_studio_token.get_secret_value(),
            settings.label_studio_timeout,
        )

    # -- errors ----------------------------------------------------------------------------
    def _unavailable(self, err: Exception) -> ServiceUnavailableError:
        return ServiceUnavailableError(
            f"Cannot reach Label Studio at {self.url}: {type(err).__name__}.",
            "Start it or fix CAMPAIGNS_LABEL_STUDIO_URL.",
        )

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return _with_retries(fn)(*args, **kwargs)
        except _TRANSIENT as err:
            raise self._unavailable(err) from err
        except Exception as err:  # only the SDK's errors are translated; the rest re-raised
            if not _is_sdk_error(err):
                raise
            if err.status_code == 401:
                raise ConfigurationError(
                    "Label Studio refused the token (401).",
                    "Check CAMPAIGNS_LABEL_STUDIO_TOKEN; legacy tokens must be enabled "
                    "(Organization > API tokens settings).",
                ) from err
            if err.status_code == 404:
                raise NotFoundError(f"Label Studio answered 404: {err.body}") from err
            if err.status_code == 400:
                body = err.body if isinstance(err.body, dict) else {}
                detail = body.get("validation_errors") or body.get("detail") or err.body
                raise InputFormatError(f"Label Studio rejected the request: {detail}") from err
            raise ServiceUnavailableError(
                f"Label Studio answered {err.status_code}.",
                "Look at the Label Studio server log, then retry.",
            ) from err

    def check(self) -> str:
        """Return the server version; raises a clear error if unreachable or unauthorised."""
        self._call(self.client.users.whoami)
        try:
            version = httpx.get(f"{self.url}/api/version", timeout=10).json()
            return str(version.get("release", "unknown"))
        except (httpx.HTTPError, ValueError):
            return "unknown"

    # -- projects --------------------------------------------------------------------------
    def create_project(
        self, title: str, label_config: str, *, description: str = "", overlap: int = 1
    ) -> int:
        project = self._call(
            self.client.projects.create,
            title=title[:50],
            description=description,
            label_config=label_config,
            maximum_annotations=overlap,
            show_skip_button=True,
            enable_empty_annotation=False,
            # Each expert's next task is drawn at random among the unannotated ones, so the
            # units annotated so far are a random subsample of every stratum (figures read
            # mid-campaign stay unbiased; see campaigns.metrics.nonresponse).
            sampling=TASK_SAMPLING,
        )
        return int(project.id)

    def task_sampling(self, project_id: int) -> str:
        """The project's task order setting (``Uniform sampling`` for our projects)."""
        return str(self._rest("GET", f"/api/projects/{int(project_id)}").get("sampling") or "")

    def project_url(self, project_id: int) -> str:
        return f"{self.url}/projects/{project_id}/data"

    def task_count(self, project_id: int) -> int:
        project = self._rest("GET", f"/api/projects/{int(project_id)}")
        return int(project.get("task_number") or 0)

    def project_progress(self, project_id: int) -> dict[str, int]:
        """Label Studio's own counters of a project (one request)."""
        try:
            response = self.http.get(f"/api/projects/{project_id}")
        except _TRANSIENT as err:
            raise self._unavailable(err) from err
        if response.status_code == 404:
            raise NotFoundError(f"Label Studio has no project {project_id}.")
        response.raise_for_status()
        body = response.json()
        return {
            "tasks": int(body.get("task_number") or 0),
            "tasks_annotated": int(body.get("num_tasks_with_annotations") or 0),
            "annotations": int(body.get("total_annotations_number") or 0),
            "skipped": int(body.get("skipped_annotations_number") or 0),
        }

    # -- tasks -----------------------------------------------------------------------------
    def existing_keys(self, project_id: int, page_size: int = 1000) -> set[str]:
        """The ``campaign_key`` of every task already in the project.

        Read with the raw REST API asking for ``id,data`` only: 2.5x faster than the SDK's
        full task models on a 10,000-task project.
        """
        if self.task_count(project_id) == 0:
            return set()
        tasks = self._task_pages(
            project_id, {"fields": "task_only", "include": "id,data"}, page_size
        )
        return {str(t["data"][KEY_FIELD]) for t in tasks if KEY_FIELD in t.get("data", {})}

    def import_tasks(
        self,
        project_id: int,
        tasks: Sequence[dict[str, Any]],
        *,
        batch_size: int = IMPORT_BATCH_SIZE,
        on_batch: Callable[[int], None] | None = None,
    ) -> int:
        """Import the tasks whose key is not yet in the project. Returns how many were new.

        Gold tasks carry no prediction (their pre-selection is in the data); a task that does
        (an adopted kit's) has it inside the task: Label Studio stores a batch's tasks and their
        predictions in one transaction, so a task is never in the project without its
        pre-annotation and the key alone tells what a rerun must import. (A bare import
        followed by one ``import_predictions`` call for all tasks costs Label Studio about a
        quarter less, still under 40% of the bare rate, and is not safe to retry as it is:
        the keys do not tell which tasks hold their prediction, and the task counters are
        refreshed after that call's inserts, so a crash between leaves them wrong; it must be
        one call, as each call refreshes every task of the project; and experts may open
        tasks before their prediction arrives.)

        A batch whose answer is lost (a timeout, a dropped connection) may or may not have
        been stored: the keys are read again before anything is resent, never blindly
        retried, so a flaky network neither duplicates nor loses tasks.
        """
        present = self.existing_keys(project_id)
        missing = [t for t in tasks if str(t["data"][KEY_FIELD]) not in present]
        new = len(missing)
        for attempt in range(1, IMPORT_ATTEMPTS + 1):
            try:
                for batch in _batches(missing, batch_size):
                    self._post_tasks(project_id, batch)
                    if on_batch:
                        on_batch(len(batch))
                break
            except _TRANSIENT as err:
                if attempt == IMPORT_ATTEMPTS:
                    raise self._unavailable(err) from err
                time.sleep(0.5 * 2**attempt)
                present = self.existing_keys(project_id)
                missing = [t for t in missing if str(t["data"][KEY_FIELD]) not in present]
        return new

    def _post_tasks(self, project_id: int, batch: Sequence[dict[str, Any]]) -> None:
        """One bulk import request, its body serialised once with the standard library.

        The SDK validates and re-encodes every task through its pydantic models first, which
        costs the client more CPU than the server spends on a bare import of the same tasks.
        Transport errors propagate to :meth:`import_tasks`, which decides what to resend.
        """
        body = json.dumps(batch, ensure_ascii=False, separators=(",", ":")).encode()
        response = self.http.post(
            f"/api/projects/{project_id}/import",
            params={"commit_to_project": "true", "return_task_ids": "false"},
            content=body,
            headers={"Content-Type": "application/json"},
        )
        if response.status_code < 400:
            return
        if response.status_code in (401, 403):
            raise ConfigurationError(
                f"Label Studio refused the import ({response.status_code}).",
                "Check CAMPAIGNS_LABEL_STUDIO_TOKEN: its user must be allowed to import tasks.",
            )
        if response.status_code == 404:
            raise NotFoundError(f"Label Studio has no project {project_id}.")
        if response.status_code == 400:
            raise InputFormatError(f"Label Studio rejected the tasks: {response.text[:2000]}")
        raise ServiceUnavailableError(
            f"Label Studio answered {response.status_code} importing tasks.",
            "Look at the Label Studio server log, then rerun the push (it resumes).",
        )

    # -- annotations -----------------------------------------------------------------------
    def changed_tasks(self, project_id: int, since: str) -> list[dict]:
        """Tasks (with their annotations) updated after ``since``, an ISO time ending in Z.

        Label Studio bumps a task's ``updated_at`` whenever one of its annotations is created,
        updated or deleted, so this is exactly what changed since the previous export.
        """
        return self._filtered_tasks(
            project_id,
            "and",
            [
                {
                    "filter": "filter:tasks:updated_at",
                    "operator": "greater",
                    "type": "Datetime",
                    "value": _ls_datetime(since),
                }
            ],
        )

    def annotated_tasks(self, project_id: int) -> list[dict]:
        """Every task with at least one annotation, skipped ones included."""
        return self._filtered_tasks(
            project_id,
            "or",
            [
                {
                    "filter": "filter:tasks:total_annotations",
                    "operator": "greater",
                    "type": "Number",
                    "value": 0,
                },
                {
                    "filter": "filter:tasks:cancelled_annotations",
                    "operator": "greater",
                    "type": "Number",
                    "value": 0,
                },
            ],
        )

    def _filtered_tasks(
        self, project_id: int, conjunction: str, items: list[dict], page_size: int = 1000
    ) -> list[dict]:
        """The matching tasks with their annotations, from the task list in one request a page.

        ``fields=all`` makes the task list serialise annotations; ``include`` (which Label
        Studio applies to the nested annotations too) keeps only what the result parsers read,
        so the Data Manager's other columns are not serialised. Measured on a 10,000-task
        project with 300 changed tasks: half the server time of listing the ids and then
        fetching the tasks through the export endpoint (whose serialiser queries each task's
        drafts and each annotation's relations one by one). Tasks whose annotations were all
        deleted still match the ``updated_at`` filter and come with no annotation, so a
        deletion reaches the next export. Should a server ever answer without the annotations'
        results, the tasks are fetched through the export endpoint instead.
        """
        query = json.dumps({"filters": {"conjunction": conjunction, "items": items}})
        params = {
            "fields": "all",
            "include": ",".join(_TASK_FIELDS + _ANNOTATION_FIELDS),
            "resolve_uri": "false",
            "query": query,
        }
        listed = self._task_pages(project_id, params, page_size)
        # Pages are ordered by id: a task changing while they are read may shift the next page
        # by one and come twice; keep it once (its later copy).
        tasks = list({int(t["id"]): t for t in listed}.values())
        if any("result" not in a for t in tasks for a in t.get("annotations") or []):
            return self._export_tasks(project_id, [int(t["id"]) for t in tasks])
        return tasks

    def _export_tasks(self, project_id: int, ids: list[int]) -> list[dict]:
        """Tasks with their annotations through the export endpoint, a few hundred at a time."""
        tasks: list[dict] = []
        for start in range(0, len(ids), EXPORT_IDS_PER_REQUEST):
            tasks.extend(self._export_ids(project_id, ids[start : start + EXPORT_IDS_PER_REQUEST]))
        return tasks

    def _export_ids(self, project_id: int, ids: list[int]) -> list[dict]:
        response = self._call(
            self.http.get,
            f"/api/projects/{project_id}/export",
            params={"exportType": "JSON", "download_all_tasks": "true", "ids[]": ids},
        )
        if response.status_code >= 400:
            raise ServiceUnavailableError(
                f"Label Studio answered {response.status_code} exporting tasks.",
                "Look at the Label Studio server log, then retry.",
            )
        return list(response.json())

    def _task_pages(self, project_id: int, params: dict[str, Any], page_size: int) -> list[dict]:
        """Every page of ``GET /api/tasks/`` for the project with ``params``."""
        tasks: list[dict] = []
        page = 1
        while True:
            response = self._call(
                self.http.get,
                "/api/tasks/",
                params={"project": project_id, "page": page, "page_size": page_size} | params,
            )
            if response.status_code == 404:  # past the last page
                break
            if response.status_code >= 400:
                raise ServiceUnavailableError(
                    f"Label Studio answered {response.status_code} listing tasks.",
                    "Look at the Label Studio server log, then retry.",
                )
            batch = response.json().get("tasks", [])
            tasks.extend(batch)
            if len(batch) < page_size:
                break
            page += 1
        return tasks

    # -- adopting existing projects (campaigns adopt) ----------------------------------------
    def project_details(self, project_id: int) -> dict[str, Any]:
        """Title, labeling config, overlap and task count of a project someone else built.

        Read as Label Studio stores them (plain REST, one request): the config is the
        office's own XML, parsed by ``campaigns.labelstudio.adopted.config``, never changed here.
        """
        try:
            body = self._rest("GET", f"/api/projects/{int(project_id)}")
        except NotFoundError:
            raise NotFoundError(
                f"Label Studio has no project {project_id}.",
                f"Check the id in the project's URL ({self.url}/projects/<id>/data).",
            ) from None
        if not isinstance(body, dict):
            raise ServiceUnavailableError(
                f"Label Studio answered something other than a project for {project_id}.",
                "Look at the Label Studio server log, then retry.",
            )
        return {
            "title": str(body.get("title") or ""),
            "label_config": body.get("label_config") or "",
            "maximum_annotations": int(body.get("maximum_annotations") or 1),
            "task_number": int(body.get("task_number") or 0),
        }

    def task_data(self, project_id: int, page_size: int = 1000) -> list[dict[str, Any]]:
        """``id`` and ``data`` of every task of the project (the units of an adopted project).

        The same cheap listing as ``existing_keys``: no annotations, no Data Manager columns.
        """
        return self._task_pages(
            project_id, {"fields": "task_only", "include": "id,data"}, page_size
        )

    # -- webhooks (the SDK 2.x has no typed surface for them: plain REST) ------------------
    def webhooks(self, project_id: int) -> list[dict[str, Any]]:
        listed = self._rest("GET", "/api/webhooks/", params={"project": project_id})
        return list(listed.get("results", []) if isinstance(listed, dict) else listed)

    def create_webhook(self, body: dict[str, Any]) -> int:
        return int(self._rest("POST", "/api/webhooks/", json=body)["id"])

    def update_webhook(self, webhook_id: int, body: dict[str, Any]) -> None:
        self._rest("PATCH", f"/api/webhooks/{webhook_id}/", json=body)

    def delete_webhook(self, webhook_id: int) -> None:
        self._rest("DELETE", f"/api/webhooks/{webhook_id}/")

    def _rest(self, method: str, path: str, **kwargs: Any) -> Any:
        """A plain REST call, its errors mapped like the SDK's (see ``_call``)."""
        try:
            response = _with_retries(self.http.request)(method, path, **kwargs)
        except _TRANSIENT as err:
            raise self._unavailable(err) from err
        if response.status_code in (401, 403):
            raise ConfigurationError(
                f"Label Studio refused {method} {path} ({response.status_code}).",
                "Check CAMPAIGNS_LABEL_STUDIO_TOKEN: its user must be allowed to do this.",
            )
        if response.status_code == 404:
            raise NotFoundError(f"Label Studio answered 404 to {method} {path}: {response.text}")
        if response.status_code == 400:
            raise InputFormatError(
                f"Label Studio rejected {method} {path}: {response.text}",
                "A private or local webhook URL needs SSRF_PROTECTION_ENABLED=false in Label "
                "Studio's environment.",
            )
        if response.status_code >= 400:
            raise ServiceUnavailableError(
                f"Label Studio answered {response.status_code} to {method} {path}.",
                "Look at the Label Studio server log, then retry.",
            )
        return response.json() if response.content else None


def _is_sdk_error(err: Exception) -> TypeGuard[ApiError]:
    """Whether ``err`` is the SDK's ``ApiError``, looked up without importing the SDK (an SDK
    error cannot exist unless the SDK was loaded)."""
    module = sys.modules.get("label_studio_sdk.core.api_error")
    return module is not None and isinstance(err, module.ApiError)


def _ls_datetime(value: str) -> str:
    """Label Studio's filters parse exactly ``%Y-%m-%dT%H:%M:%S.%fZ``."""
    from datetime import UTC, datetime

    parsed = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _with_retries(fn: Callable[..., Any]) -> Callable[..., Any]:
    return retry(
        retry=retry_if_exception_type(_TRANSIENT),
        stop=stop_after_attempt(3),
        wait=wait_exponential(multiplier=0.5, max=4),
        reraise=True,
    )(fn)


def _batches(items: Sequence[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
