"""A sandbox served by another process, driven through its admin API (RemoteSandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vibeforge.loop.build import RuntimeSpec
from vibeforge.sandbox import start_sandbox
from vibeforge.sandbox.problems import SandboxError
from vibeforge.sandbox.remote import RemoteSandbox


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    with start_sandbox(home=tmp_path_factory.mktemp("served"), world="tiny", seed=0, speed=0) as sb:
        yield sb


def test_it_has_the_face_the_loop_uses(served) -> None:
    with RemoteSandbox.connect(served.base_url, served.admin_token) as remote:
        assert remote.app_token == served.app_token
        assert remote.list_ids() == served.list_ids()
        token = remote.create_account("remotebot", niche="airlines", followers=20)
        assert remote.user_token("remotebot") == token == served.user_token("remotebot")
        before = served.world.now_ms()
        remote.advance(hours=2)
        assert served.world.now_ms() - before == 2 * 3_600_000
        with pytest.raises(SandboxError, match="404"):
            remote.user_token("nobody_here")


def test_a_wrong_token_or_no_server_says_what_to_fix(served, tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="VIBEFORGE_SANDBOX_ADMIN_TOKEN"):
        RemoteSandbox.connect(served.base_url, "not-the-admin-token")
    with pytest.raises(SandboxError, match=r"no sandbox answers at http://127\.0\.0\.1:9"):
        RemoteSandbox.connect("http://127.0.0.1:9", "x")


def test_the_loop_posts_through_a_remote_sandbox(served, tmp_path: Path) -> None:
    """A runtime built on RemoteSandbox reads and posts on the served world."""
    from vibeforge.store import make_engine, session_scope, upgrade
    from vibeforge.store import queries as q

    db_url = f"sqlite:///{tmp_path / 'v.db'}"
    upgrade(make_engine(db_url))
    with RemoteSandbox.connect(served.base_url, served.admin_token) as remote:
        remote.create_account("farbot", niche="apple")
        with session_scope(make_engine(db_url)) as s:
            from vibeforge.domain import Bot

            q.create_bot(s, bot=Bot(name="farbot", account="farbot", base_model="tiny-test"))
        spec = RuntimeSpec.for_sandbox(remote, db_url=db_url, home=tmp_path, key="k" * 32)
        rt = spec()
        ref = rt.platform.publish(account="farbot", text="hello from afar", idempotency_key="i1")
        row = served.world.store.one("SELECT text FROM posts WHERE id = ?", (int(ref.id),))
        assert row[0] == "hello from afar"
