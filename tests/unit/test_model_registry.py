"""What goes to MLflow, how a model_version finds its registered version, and the failure
modes: a closed port and a server refusing the credentials are warnings, never errors.

The MLflow server itself is exercised in tests/integration/test_model_registry_server.py."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow as pa
import pytest

from campaigns.config import Settings
from campaigns.model_registry.feedback import Feedback, _log_all, explain, shown_uri
from campaigns.model_registry.options import RegistryOptions, VersionRef, registry_options
from campaigns.model_registry.records import (
    KEY_TAG,
    SCOPE_TAG,
    DatasetRecord,
    dataset_evaluation,
    figure_metrics,
    gold_evaluations,
    table_digest,
    trend_evaluations,
    version_tags,
)
from services.local_stack import free_port


def _options(**overrides) -> RegistryOptions:
    values = {
        "tracking_uri": "http://127.0.0.1:1",
        "experiment": "annotation-campaigns",
        "model_name": "codif-ape",
        "version_match": "name_version",
        "timeout": 2.0,
    } | overrides
    return RegistryOptions(**values)


def test_the_registry_is_off_unless_a_tracking_uri_is_set():
    assert registry_options(Settings(_env_file=None)) is None
    options = registry_options(
        Settings(_env_file=None, mlflow_tracking_uri="http://m:5000", mlflow_model_name="m")
    )
    assert options is not None and options.model_name == "m" and options.timeout == 30.0


@pytest.mark.parametrize(
    ("logged", "expected"),
    [
        ("7", VersionRef(name="codif-ape", version="7")),
        (" 12 ", VersionRef(name="codif-ape", version="12")),
        ("other-model/3", VersionRef(name="other-model", version="3")),
        ("models:/other model/4", VersionRef(name="other model", version="4")),
        ("2.1.0", None),  # a semantic version is no registry version number
        ("7'; DROP TABLE x", None),
        ("", None),
    ],
)
def test_a_model_version_names_its_registered_version(logged, expected):
    assert _options().registered_version(logged) == expected


def test_a_bare_version_needs_the_model_name():
    assert _options(model_name=None).registered_version("7") is None


def test_matching_by_run_id_takes_only_run_ids():
    options = _options(version_match="run_id")
    run = "0123456789abcdef0123456789abcdef"
    assert options.registered_version(run) == VersionRef(run_id=run)
    assert options.registered_version("7") is None
    assert options.registered_version(run[:-1] + "'") is None


def test_figures_become_metrics_with_their_bounds_and_nan_is_left_out():
    rows = [
        {"figure": "accuracy", "estimate": 0.9, "ci_low": 0.8, "ci_high": 0.95},
        {"figure": "accuracy_manual", "estimate": math.nan, "ci_low": None, "ci_high": 0.5},
    ]
    assert figure_metrics(rows) == {
        "accuracy": 0.9,
        "accuracy_ci_low": 0.8,
        "accuracy_ci_high": 0.95,
        "accuracy_manual_ci_high": 0.5,
    }


def test_version_tags_carry_the_figure_its_bounds_campaign_and_date():
    tags = version_tags(
        {"estimate": 0.91234, "ci_low": 0.87, "ci_high": 0.94, "n": 312},
        prefix="gold",
        campaign="sept-gold",
        on=date(2026, 10, 2),
    )
    assert tags == {
        "gold_campaign": "sept-gold",
        "gold_date": "2026-10-02",
        "gold_accuracy": "0.9123",
        "gold_accuracy_ci_low": "0.8700",
        "gold_accuracy_ci_high": "0.9400",
        "gold_accuracy_95ci": "91.2% [87.0%, 94.0%]",
        "gold_units": "312",
    }


def _proportions(estimate: float) -> pa.Table:
    return pa.table({
        "figure": ["accuracy", "top_1_accuracy"],
        "estimate": [estimate, estimate],
        "ci_low": [estimate - 0.1, estimate - 0.1],
        "ci_high": [estimate + 0.05, estimate + 0.05],
        "n": [40, 40],
    })  # fmt: skip


def _gold(versions: list[str | None]) -> pa.Table:
    return pa.table({
        "request_id": [f"r{i}" for i in range(len(versions))],
        "gold_code": ["47.11Z"] * len(versions),
        "model_version": pa.array(versions, pa.string()),
    })  # fmt: skip


def _evaluations(gold: pa.Table, **kwargs):
    return gold_evaluations(
        campaign_id=3,
        campaign_name="sept-gold",
        export_version=kwargs.pop("export_version", "20261001T000000Z"),
        computed_on=date(2026, 10, 2),
        summary={"design": "srs"},
        proportions=_proportions(0.9),
        threshold_curve=pa.table({"threshold": [0.5, 0.8], "accuracy": [0.9, 0.95]}),
        per_class=pa.table({"code": ["47.11Z"], "f1": [0.8]}),
        report_html=b"<html></html>",
        gold=gold,
        gold_uri="s3://bucket/root/exports/campaign=3/version=v/gold.parquet",
        params={"design": "srs", "threshold": 0.8, "sample_id": "s1"},
        **kwargs,
    )


def test_one_version_logs_the_campaign_figures_with_its_gold_as_dataset():
    [evaluation] = _evaluations(_gold(["7", "7"]))
    assert evaluation.model_version == "7"
    assert evaluation.metrics["accuracy_ci_low"] == pytest.approx(0.8)
    assert evaluation.params["threshold"] == "0.8" and evaluation.params["scope"] == "campaign"
    assert set(evaluation.artifacts) == {
        "threshold_curve.csv",
        "per_class.csv",
        "report.html",
        "summary.json",
    }
    assert evaluation.artifacts["threshold_curve.csv"].startswith(b'"threshold","accuracy"')
    dataset = evaluation.dataset
    assert dataset is not None and dataset.source_type == "s3" and dataset.rows == 2
    assert dataset.context == "evaluation" and dataset.profile()["campaigns"] == ["sept-gold"]
    assert evaluation.version_tags["gold_accuracy"] == "0.9000"
    tags = evaluation.run_tags()
    assert tags["model_version"] == "7" and len(tags[KEY_TAG]) == 40 and SCOPE_TAG in tags


def test_the_key_follows_the_gold_not_the_export_version():
    gold = _gold(["7", "7"])
    [first] = _evaluations(gold)
    [again] = _evaluations(gold, export_version="20261002T000000Z")
    assert again.key == first.key  # the nightly's new export of the same gold: no new run
    [changed] = _evaluations(_gold(["7", "7", "7"]))
    assert changed.key != first.key and changed.scope == first.scope


def test_several_versions_get_one_run_each_with_their_own_figures():
    domains = {"7": _proportions(0.8), "8": _proportions(0.95), "unknown": _proportions(0.5)}
    runs = _evaluations(_gold(["7", "8", None]), domain_proportions=domains)
    assert [r.model_version for r in runs] == ["7", "8", "unknown"]
    assert [r.metrics["accuracy"] for r in runs] == [0.8, 0.95, 0.5]
    assert len({r.key for r in runs}) == 3
    assert {r.params["scope"] for r in runs} == {"model version domain"}


def test_the_digest_follows_the_content():
    assert table_digest(_gold(["7"])) == table_digest(_gold(["7"]))
    assert table_digest(_gold(["7"])) != table_digest(_gold(["8"]))


def test_a_trend_logs_each_version_accuracy_as_a_history():
    table = pa.table({
        "period": [date(2026, 8, 1), date(2026, 9, 1), date(2026, 9, 1), date(2026, 9, 1)],
        "model_version": ["7", "7", "all", "7"],
        "figure": ["accuracy", "accuracy", "accuracy", "auto_coding_rate"],
        "estimate": [0.9, 0.85, 0.86, 0.6],
        "ci_low": [0.85, 0.8, 0.81, 0.55],
        "ci_high": [0.94, 0.9, 0.9, 0.65],
        "n": [50, 60, 60, 60],
    })  # fmt: skip
    [run] = trend_evaluations(
        table=table, period="month", blind_only=False, campaigns=[1, 2], computed_on=date.today()
    )
    accuracy = [(v, step) for name, v, step, _ in run.history if name == "accuracy"]
    assert accuracy == [(0.9, 0), (0.85, 1)]
    assert run.version_tags["gold_trend_month_accuracy"] == "0.8500"
    assert run.version_tag_prefix == "gold_trend_month"


def test_a_training_set_is_a_dataset_keyed_by_name_and_digest():
    record = DatasetRecord("training-x", "abc", "s3://b/t.parquet", 10, "training", ("x",))
    moved = DatasetRecord("training-x", "abc", "s3://b/t2.parquet", 10, "training", ("x",))
    first = dataset_evaluation(record, kind="training-set", params={"nomenclature": "NAF"})
    assert first.key == dataset_evaluation(moved, kind="training-set", params={}).key
    assert "model_version" not in first.run_tags()
    assert first.params["rows"] == "10" and first.params["nomenclature"] == "NAF"


def test_credentials_in_the_tracking_uri_are_never_shown():
    assert shown_uri("https://bob:s3cret@mlflow.example.org:8443/x") == (
        "https://mlflow.example.org:8443/x"
    )
    assert shown_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_a_server_that_is_down_is_a_warning_in_seconds():
    options = _options(tracking_uri=f"http://127.0.0.1:{free_port()}")
    [evaluation] = _evaluations(_gold(["7"]))
    import mlflow.tracking  # noqa: F401  (its import, seconds on a loaded machine, is not timed)

    started = time.monotonic()
    feedback = _log_all(options, [evaluation, evaluation], "campaign sept-gold", None)
    assert time.monotonic() - started < 10
    assert feedback.logged == []
    [warning] = feedback.warnings  # asked once, not once per record
    assert "cannot be reached" in warning and "the figures are stored" in warning


class _Refusing(BaseHTTPRequestHandler):
    """A server behind an authenticating proxy, without the credentials: 401 to everything."""

    def _refuse(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="mlflow"')
        self.send_header("Content-Length", "12")
        self.end_headers()
        self.wfile.write(b"Unauthorized")

    do_GET = do_POST = _refuse

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://bob:wrong@127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_refused_credentials_are_a_warning_that_says_what_to_set(refusing_server):
    options = _options(tracking_uri=refusing_server, username="bob", password="wrong")
    [evaluation] = _evaluations(_gold(["7"]))
    feedback = _log_all(options, [evaluation], "campaign sept-gold", None)
    [warning] = feedback.warnings
    assert "refuses the credentials" in warning and "CAMPAIGNS_MLFLOW_TRACKING_USERNAME" in warning
    assert "wrong" not in warning and "bob" not in warning


def test_an_unexpected_error_says_what_failed():
    warning = explain(_options(), ValueError("bad value"), "campaign x")
    assert (
        warning
        == "MLflow at http://127.0.0.1:1 failed for campaign x: bad value (the figures are stored)."
    )
    assert Feedback().lines() == []


def test_a_dataset_on_the_storage_root_is_read_for_its_digest_then_logged(tmp_path):
    from campaigns.model_registry.feedback import feed_transition_dataset
    from campaigns.storage import Storage

    settings = Settings(_env_file=None, storage_root=str(tmp_path / "store"))
    storage = Storage.from_settings(settings)
    table = pa.table({"text": ["boulangerie"], "code": ["10.71C"]})
    uri = storage.write_table(table, "transition/naf25/dataset.parquet")
    assert feed_transition_dataset(settings, storage, "naf25", uri, 1, []) is None  # off
    down = settings.model_copy(update={"mlflow_tracking_uri": f"http://127.0.0.1:{free_port()}"})
    feedback = feed_transition_dataset(down, storage, "naf25", uri, 1, ["naf25-b1"])
    assert feedback is not None and feedback.logged == []
    [warning] = feedback.warnings  # the file was read: the failure is the server's
    assert "cannot be reached" in warning and "transition dataset naf25" in warning
