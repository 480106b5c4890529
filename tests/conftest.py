"""Shared fixtures: a real PostgreSQL server started by the tests, and fresh databases.

PostgreSQL comes from the Debian package (`.ci/run` installs it). The session fixture runs
initdb into a temporary folder and starts a private server on a free loopback port; each test
that asks for `db_url` gets a brand-new database on it, or a new SQLite file. Without the
PostgreSQL binaries the postgres cases are skipped locally and fail in CI (CI=true).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# The tiny test models are a model plugin (vibeforge.models.testing), registered by name the way
# real plugins are; set here so this process and every `vibeforge` process a test starts see them.
os.environ["VIBEFORGE_PLUGINS"] = "vibeforge.models.testing"


def _pg_bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(root, pw.pw_uid, pw.pw_gid)

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w", "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres", autocommit=True
        ) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _pg_bindir()
    if bindir is None:
        if IN_CI:
            pytest.fail(
                "PostgreSQL binaries not found; .ci/run must install the postgresql package"
            )
        pytest.skip("PostgreSQL not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="vibeforge-pg-"))
    server = PostgresServer(bindir, root)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        pytest.fail(f"could not start PostgreSQL: {exc.stderr.decode()[-2000:]}\n{log[-2000:]}")
    yield server
    try:
        server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A blank database: a new SQLite file, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vibeforge.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
def engine(db_url: str):  # type: ignore[no-untyped-def]
    """An engine on a blank database migrated to head."""
    from vibeforge.store import make_engine, upgrade

    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def wait_for():  # type: ignore[no-untyped-def]
    """Poll a predicate until true or a deadline (for subprocess and server tests)."""

    def _wait(predicate, timeout: float = 30.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return False

    return _wait


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):  # type: ignore[no-untyped-def]
    """Run `vibeforge ARGS` in-process inside an empty project folder; return (code, out, err)."""
    import os

    from vibeforge.cli.app import main

    monkeypatch.chdir(tmp_path)
    for var in list(os.environ):
        if var.startswith("VIBEFORGE_") and var != "VIBEFORGE_PLUGINS":
            monkeypatch.delenv(var)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@contextmanager
def served_sandbox(home: Path) -> Iterator[tuple[str, str]]:
    """`vibeforge sandbox serve` (tiny world, frozen clock) in a process of its own, as a user
    runs it beside the loop: yields (base URL, admin token) and stops it afterwards."""
    import json
    import sys

    import httpx

    from vibeforge.sandbox.server import free_port

    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBEFORGE_")}
    env["VIBEFORGE_HOME"] = str(home)
    exe = str(Path(sys.executable).parent / "vibeforge")
    args = ["sandbox", "serve", "--port", str(port), "--world", "tiny", "--speed", "0"]
    proc = subprocess.Popen(
        [exe, *args], cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).json().get("seeded") is True:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the served sandbox did not come up in 120 s"
            time.sleep(0.2)
        info = subprocess.run(
            [exe, "sandbox", "info", "--json"], cwd=home, env=env, capture_output=True, text=True
        )
        assert info.returncode == 0, info.stderr
        yield url, json.loads(info.stdout)["admin_token"]
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
