"""The installs come from committed locks, and the locks agree with their sources.

`make test` also runs `uv lock --check` (the lock resolves pyproject.toml's ranges as they are
now); these tests check what that command cannot see: the Label Studio lock and the places
that read its one version setting.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from services.local_stack import LABEL_STUDIO_LOCK, LABEL_STUDIO_REQUIREMENTS, label_studio_version

ROOT = Path(__file__).resolve().parents[2]


def _pins(lock_text: str) -> dict[str, str]:
    """name -> version of every requirement line of a `uv pip compile` output."""
    return {
        m.group(1).lower(): m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", lock_text, re.MULTILINE)
    }


def test_label_studio_version_is_set_once_and_locked():
    version = label_studio_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    pins = _pins(LABEL_STUDIO_LOCK.read_text())
    assert pins["label-studio"] == version
    # The known break: Label Studio 1.23.2 dies at start under sentry-sdk 3.
    assert int(pins["sentry-sdk"].split(".")[0]) < 3
    assert len(pins) > 100  # every package under Label Studio, not only its own line


def test_every_locked_requirement_carries_a_hash():
    for lock in (LABEL_STUDIO_LOCK, ROOT / "locks" / "uv.txt"):
        blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.read_text())
        requirements = [b for b in blocks if re.match(r"[A-Za-z0-9_.\-]+==", b)]
        assert requirements, lock
        for block in requirements:
            assert "--hash=sha256:" in block, (lock.name, block.splitlines()[0])


def test_label_studio_lock_was_compiled_from_its_requirements():
    header = LABEL_STUDIO_LOCK.read_text().splitlines()[1]
    assert f"uv pip compile locks/{LABEL_STUDIO_REQUIREMENTS.name}" in header
    assert "--generate-hashes" in header and "--universal" in header
    for line in LABEL_STUDIO_REQUIREMENTS.read_text().splitlines():
        name = re.match(r"^([A-Za-z0-9_.\-]+)", line)
        if name:
            assert name.group(1).lower() in _pins(LABEL_STUDIO_LOCK.read_text())


def test_project_lock_pins_every_dependency_and_pyproject_keeps_ranges():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked = {p["name"]: p for p in lock["package"]}
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    for requirement in requirements:
        name = re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0).lower().replace("_", "-")
        assert name in locked, name
        package = locked[name]
        assert package.get("sdist") or package.get("wheels"), name
        for wheel in package.get("wheels", []):
            assert wheel["hash"].startswith("sha256:"), name
    # Ranges for people who use the package as a library, not exact pins.
    loose = [r for r in project["dependencies"] if "==" not in r]
    assert len(loose) == len(project["dependencies"])


def test_installers_read_the_locks():
    makefile = (ROOT / "Makefile").read_text()
    assert "sync --frozen" in makefile and "--require-hashes -r locks/uv.txt" in makefile
    assert "lock --check" in makefile and "upgrade:" in makefile
    assert "--require-hashes" in (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen" in (ROOT / "Dockerfile").read_text()
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    ls = compose["services"]["label-studio"]
    assert "image" not in ls, "Label Studio is built from the lock, not a floating image"
    dockerfile = (ROOT / ls["build"]["dockerfile"]).read_text()
    assert "--require-hashes -r /tmp/label-studio.txt" in dockerfile
    for name, service in compose["services"].items():
        if "image" in service:
            assert not service["image"].endswith(":latest"), name


def test_readme_names_the_label_studio_version_of_the_setting():
    readme = (ROOT / "README.md").read_text()
    mentioned = set(re.findall(r"Label Studio\s+(\d+\.\d+\.\d+)", readme))
    assert mentioned == {label_studio_version()}
