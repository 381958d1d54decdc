"""A local stack whose second server fails to start leaves nothing running, and says why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.local_stack import (
    LocalStack,
    StackError,
    _lock_digest,
    alive,
    start_label_studio,
    start_s3,
)

pytestmark = pytest.mark.integration


def _broken_label_studio(venv: Path) -> Path:
    """A Label Studio install whose server dies at start (as 1.23.2 did under sentry-sdk 3)."""
    binary = venv / "bin" / "label-studio"
    binary.parent.mkdir(parents=True)
    binary.write_text(
        "#!/bin/sh\necho \"TypeError: Unknown option 'send_default_pii'\" >&2\nexit 1\n"
    )
    binary.chmod(0o755)
    (venv / "bin" / "python").symlink_to(os.path.realpath("/usr/bin/env"))
    (venv / "lock.sha256").write_text(_lock_digest() + "\n")
    return venv


def test_a_failed_start_stops_the_servers_already_started(tmp_path: Path):
    venv = _broken_label_studio(tmp_path / "ls-venv")
    with pytest.raises(StackError) as failed, LocalStack() as stack:
        s3 = stack.start("the S3 server", start_s3, tmp_path / "s3")
        assert alive(s3.pid)
        stack.start("Label Studio", start_label_studio, tmp_path / "ls", venv=venv, timeout=30)
    message = str(failed.value)
    assert message.startswith("Label Studio failed to start")
    assert "now stopped: the S3 server" in message
    assert "Unknown option 'send_default_pii'" in message  # the end of its log
    assert not alive(s3.pid)
    # A rerun on the same data directory starts cleanly.
    with LocalStack() as stack:
        again = stack.start("the S3 server", start_s3, tmp_path / "s3")
        assert alive(again.pid)
    assert not alive(again.pid)  # leaving the block without keep() stops it
