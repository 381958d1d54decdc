"""Integration fixtures beyond the root ones: a real MLflow tracking server and registry.

``mlflow server`` (the full package, a test dependency only) with a SQLite backend copied
from a migrated template and its artifacts proxied to the session's real S3 server, started
once per session (a first start migrates the template: about a minute on a loaded machine).
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from services.local_stack import MlflowServer, S3Server, start_mlflow

MLFLOW_BUCKET = "mlflow"


@pytest.fixture(scope="session")
def mlflow_server(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server
) -> Iterator[MlflowServer]:
    boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key=s3_server.secret_key,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    ).create_bucket(Bucket=MLFLOW_BUCKET)
    server = start_mlflow(
        tmp_path_factory.mktemp("mlflow"),
        artifacts_destination=f"s3://{MLFLOW_BUCKET}/artifacts",
        s3=s3_server,
    )
    yield server
    server.stop()
