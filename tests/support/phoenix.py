"""A real OTLP receiver for the export tests: Arize Phoenix (``phoenix serve``) on 127.0.0.1, and a
throwaway PostgreSQL cluster on loopback for its team set-up.

Phoenix pins ``anthropic<2`` (ctxtop's test venv has 2.x) and weighs ~850 MB, so it is not in the ``test``
extra: the README's second set-up command installs it into ``.venv-phoenix`` from
``tests/phoenix-requirements.txt``. Nothing is installed at test time: without it the tests skip with that
command, and under ``CI=true`` they fail. ``CTXTOP_PHOENIX=/path/to/phoenix`` uses another install.

Phoenix starts with its telemetry, its agent assistant and external resources off, and everything on
127.0.0.1 (HTTP and gRPC on free ports), its working dir (SQLite) in a temporary directory.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "tests" / "phoenix-requirements.txt"
PHOENIX_VERSION = REQUIREMENTS.read_text().split("==", 1)[1].strip()
STARTUP_TIMEOUT = 180.0
INSTALL = "python3 -m venv .venv-phoenix && .venv-phoenix/bin/pip install -r tests/phoenix-requirements.txt"


def ensure_phoenix() -> Path:
    """The ``phoenix`` executable of the set-up (``.venv-phoenix``); a skip (a failure under CI) without it."""
    given = os.environ.get("CTXTOP_PHOENIX")
    exe = Path(given) if given else REPO / ".venv-phoenix" / "bin" / "phoenix"
    if exe.exists():
        return exe
    message = (
        f"Arize Phoenix is not installed at {exe}: run `{INSTALL}` (the README's second set-up command does)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {message}")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Phoenix:
    """One ``phoenix serve`` process; ``stop``/``start`` keep its working dir and database."""

    def __init__(self, exe: Path, workdir: Path, database_url: str | None = None) -> None:
        self.exe = exe
        self.workdir = workdir
        self.database_url = database_url
        self.port = free_port()
        self.grpc_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "phoenix.log"
        self.startup_seconds = 0.0
        self.stop_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOENIX_", "OTEL_"))}
        env.update(
            PHOENIX_WORKING_DIR=str(self.workdir), PHOENIX_HOST="127.0.0.1", PHOENIX_PORT=str(self.port),
            PHOENIX_GRPC_PORT=str(self.grpc_port), PHOENIX_TELEMETRY_ENABLED="false",
            PHOENIX_DISABLE_AGENT_ASSISTANT="true", PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
            HF_HUB_OFFLINE="1", DO_NOT_TRACK="1",
        )  # fmt: skip
        if self.database_url:
            env["PHOENIX_SQL_DATABASE_URL"] = self.database_url
        started = time.monotonic()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(self.exe), "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = started + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"phoenix exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        self.startup_seconds = time.monotonic() - started
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"phoenix did not start in {STARTUP_TIMEOUT:.0f} s:\n{self.log.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        """SIGTERM (Phoenix drains its queue of accepted spans), SIGKILL if it has not exited in 15 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        started = time.monotonic()
        os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: our process group only
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.stop_seconds = time.monotonic() - started

    def spans(self, project: str) -> list[dict]:
        """Every span of a project, through Phoenix's REST API (paginated)."""
        out: list[dict] = []
        cursor = None
        while True:
            query = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
            url = (
                f"{self.url}/v1/projects/{urllib.parse.quote(project)}/spans?{urllib.parse.urlencode(query)}"
            )
            try:
                with urllib.request.urlopen(url, timeout=10) as resp:
                    body = json.load(resp)
            except urllib.error.HTTPError as exc:
                if exc.code == 404:  # no span yet: the project does not exist
                    return []
                raise
            out += body["data"]
            cursor = body.get("next_cursor")
            if not cursor:
                return out

    def wait_for_spans(self, project: str, count: int, timeout: float = 150.0) -> list[dict]:
        """Phoenix inserts accepted spans from a queue: wait until ``count`` are readable (and no more come)."""
        deadline = time.monotonic() + timeout
        spans: list[dict] = []
        while time.monotonic() < deadline:
            spans = self.spans(project)
            if len(spans) >= count:
                time.sleep(0.5)  # anything more still queued would show now
                return self.spans(project)
            time.sleep(0.3)
        return spans


# ---------------------------------------------------------------------- PostgreSQL


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    # Debian's postgresql package keeps the server binaries off PATH.
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


class Postgres:
    """A throwaway cluster on 127.0.0.1 (trust auth, its own socket dir). initdb refuses root: as root the
    cluster belongs to the ``postgres`` user."""

    def __init__(self) -> None:
        initdb = _pg_bin("initdb")
        pg_ctl = _pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            message = (
                "PostgreSQL server binaries (initdb, pg_ctl) not found (.ci/run installs Debian's postgresql)"
            )
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.root = Path(tempfile.mkdtemp(prefix="ctxtop-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root, and there is no postgres user to own the cluster")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://phoenix@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str]) -> None:
        proc = subprocess.run(self.prefix + args, capture_output=True, text=True, timeout=120, cwd=self.root)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {proc.stdout}\n{proc.stderr}")

    def start(self) -> None:
        self._run(
            [self.initdb, "-D", str(self.data), "-U", "phoenix", "--auth=trust", "-E", "UTF8", "--no-sync"]
        )
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        self._run(
            [self.pg_ctl, "-D", str(self.data), "-l", str(self.root / "pg.log"), "-o", options, "-w", "start"]
        )

    def stop(self) -> None:
        try:
            self._run([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
