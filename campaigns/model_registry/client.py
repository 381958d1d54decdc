"""The only code that speaks to MLflow: runs, their dataset inputs, registered versions' tags.

``mlflow-skinny`` (the light client: tracking, registry and ``mlflow.entities`` datasets,
none of the server's or the flavours' dependencies) through ``MlflowClient`` only: the
fluent ``mlflow.start_run`` keeps an active run in process-wide state, which a long-lived
API process must not share between jobs.

Requests time out after ``CAMPAIGNS_MLFLOW_TIMEOUT`` seconds and are retried once, without
MLflow's default back-off (seven retries, minutes): an unreachable server must cost the
nightly run seconds, not half an hour. MLflow reads these limits, and the credentials, from
its environment variables at each request; :meth:`RegistryClient._environment` sets them
for the duration of a call and restores them.

Idempotence: a run carries its record's key as a tag. A finished run with the key means the
record is logged: nothing is added. A run of the record's scope (same campaign and model
version, say) left unfinished because the server went away mid-run is deleted when the next
one is logged, so the runs the UI shows are all complete.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from campaigns.model_registry.options import RegistryOptions, VersionRef
from campaigns.model_registry.records import (
    DATASET_CONTEXT_TAG,
    KEY_TAG,
    OPTIONAL_VERSION_TAGS,
    SCOPE_TAG,
    DatasetRecord,
    Evaluation,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

Step = Callable[[str], None]
_MAX_TAG = 5000
_MAX_PARAM = 6000


@dataclass
class Logged:
    """What one record became in MLflow."""

    run_id: str
    run_url: str
    created: bool
    registered: str | None = None  # "NAME/VERSION" of the registered version it evaluates
    version_url: str | None = None
    version_tagged: bool = False
    version_note: str | None = None  # why no registered version was tagged


class RegistryClient:
    """An MLflow tracking server and its model registry, as this project uses them."""

    def __init__(self, options: RegistryOptions) -> None:
        self.options = options
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = None

    # -- plumbing ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _environment(self) -> Iterator[None]:
        wanted = {
            "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, math.ceil(self.options.timeout))),
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
            "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
            # MLflow writes "View run ... at URL" on standard output when a run ends: the
            # commands print their own line, and a --json output must stay JSON.
            "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
            "MLFLOW_TRACKING_USERNAME": self.options.username,
            "MLFLOW_TRACKING_PASSWORD": self.options.password,
            "MLFLOW_TRACKING_TOKEN": self.options.token,
        }
        saved = {k: os.environ.get(k) for k in wanted}
        try:
            for key, value in wanted.items():
                if value is not None:
                    os.environ[key] = value
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            from mlflow import MlflowClient

            uri = self.options.tracking_uri
            self._client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        return self._client

    def experiment_id(self) -> str:
        if self._experiment_id is None:
            found = self.client.get_experiment_by_name(self.options.experiment)
            self._experiment_id = (
                found.experiment_id
                if found is not None
                else self.client.create_experiment(self.options.experiment)
            )
        return self._experiment_id

    def check(self) -> None:
        """Reach the server (and pass its authentication): raises MLflow's error if not."""
        with self._environment():
            self.experiment_id()

    # -- registered versions -----------------------------------------------------------------
    def find_version(self, ref: VersionRef) -> ModelVersion | None:
        """The registered version ``ref`` names, or None when the registry has none."""
        from mlflow.exceptions import MlflowException

        if ref.run_id is not None:
            found = self.client.search_model_versions(f"run_id = '{ref.run_id}'", max_results=5)
            return max(found, key=lambda v: int(v.version)) if found else None
        try:
            return self.client.get_model_version(ref.name or "", ref.version or "")
        except MlflowException as err:
            if err.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise

    def _tag_version(self, version: ModelVersion, evaluation: Evaluation, logged: Logged) -> bool:
        """Tag the version with the record's figures, unless a later evaluation already did."""
        prefix = evaluation.version_tag_prefix
        current = version.tags or {}
        if current.get(f"{prefix}_run_id") == logged.run_id:
            return False
        ours = evaluation.version_tags.get(f"{prefix}_date", "")
        if current.get(f"{prefix}_date", "") > ours:
            return False  # a newer evaluation's figures stay the latest
        optional = {f"{prefix}_{name}" for name in OPTIONAL_VERSION_TAGS}
        for stale in sorted(optional & set(current) - set(evaluation.version_tags)):
            self.client.delete_model_version_tag(version.name, version.version, stale)
        tags = {
            **evaluation.version_tags,
            f"{prefix}_run_id": logged.run_id,
            f"{prefix}_run": logged.run_url,
        }
        for key, value in tags.items():
            self.client.set_model_version_tag(version.name, version.version, key, value[:_MAX_TAG])
        return True

    # -- runs --------------------------------------------------------------------------------
    def log(self, evaluation: Evaluation, on_step: Step | None = None) -> Logged:
        """Log the record as one run (unless it is already), then tag its registered version."""
        step = on_step or (lambda _name: None)
        with self._environment():
            experiment = self.experiment_id()
            logged = self._existing(experiment, evaluation)
            if logged is None:
                logged = self._create(experiment, evaluation, step)
            if evaluation.model_version:
                self._link_version(evaluation, logged)
                step("version tagged")
        return logged

    def _existing(self, experiment: str, evaluation: Evaluation) -> Logged | None:
        """The finished run of this record; deletes the unfinished runs of its scope."""
        from mlflow.entities import ViewType

        # Keys and scopes are hex digests: nothing of the user's text enters the filter.
        runs = self.client.search_runs(
            [experiment],
            filter_string=f"tags.`{SCOPE_TAG}` = '{evaluation.scope}'",
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=1000,
        )
        for run in runs:
            if run.data.tags.get(KEY_TAG) == evaluation.key and run.info.status == "FINISHED":
                return Logged(
                    run.info.run_id, self.options.run_url(experiment, run.info.run_id), False
                )
        for run in runs:  # left unfinished when the server went away: this run replaces it
            if run.info.status != "FINISHED":
                self.client.delete_run(run.info.run_id)
        return None

    def _create(self, experiment: str, evaluation: Evaluation, step: Step) -> Logged:
        from mlflow.entities import Metric, Param

        run = self.client.create_run(
            experiment, tags=evaluation.run_tags(), run_name=evaluation.run_name
        )
        run_id = run.info.run_id
        step("run created")
        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, 0) for k, v in evaluation.metrics.items()]
        metrics += [Metric(k, v, ts, s) for k, v, s, ts in evaluation.history]
        params = [Param(k, v[:_MAX_PARAM]) for k, v in evaluation.params.items()]
        for start in range(0, max(len(metrics), len(params), 1), 100):
            self.client.log_batch(
                run_id, metrics=metrics[start : start + 100], params=params[start : start + 100]
            )
        step("figures logged")
        if evaluation.dataset is not None:
            self._log_dataset(run_id, evaluation.dataset)
            step("dataset logged")
        if evaluation.artifacts:
            with tempfile.TemporaryDirectory(prefix="campaigns-mlflow-") as folder:
                for name, data in evaluation.artifacts.items():
                    (Path(folder) / name).write_bytes(data)
                self.client.log_artifacts(run_id, folder)
            step("artifacts logged")
        self.client.set_terminated(run_id, "FINISHED")
        step("run finished")
        return Logged(run_id, self.options.run_url(experiment, run_id), True)

    def _log_dataset(self, run_id: str, record: DatasetRecord) -> None:
        from mlflow.entities import Dataset, DatasetInput, InputTag

        dataset = Dataset(
            name=record.name,
            digest=record.digest,
            source_type=record.source_type,
            source=json.dumps({"uri": record.source_uri}),
            schema=record.schema_json(),
            profile=json.dumps(record.profile()),
        )
        context = InputTag(DATASET_CONTEXT_TAG, record.context)
        self.client.log_inputs(run_id, datasets=[DatasetInput(dataset, [context])])

    def _link_version(self, evaluation: Evaluation, logged: Logged) -> None:
        ref = self.options.registered_version(evaluation.model_version)
        if ref is None:
            logged.version_note = (
                f"model version {evaluation.model_version!r} names no registered version "
                + (
                    "(not an MLflow run id)"
                    if self.options.version_match == "run_id"
                    else "(set CAMPAIGNS_MLFLOW_MODEL_NAME, or log versions as NAME/VERSION)"
                )
            )
            return
        version = self.find_version(ref)
        if version is None:
            logged.version_note = f"{ref.describe()} is not in the model registry"
            return
        logged.registered = f"{version.name}/{version.version}"
        logged.version_url = self.options.version_url(version.name, version.version)
        self.client.set_tag(logged.run_id, "registered_model_version", logged.registered)
        logged.version_tagged = self._tag_version(version, evaluation, logged)
