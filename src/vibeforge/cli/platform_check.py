"""At creation, look a bot's account or a timeline's list up on the configured platform.

`bot create --account` and `timeline add --list` used to succeed silently for names the
platform does not have; the first sign was a loop that never posted or never read. Now:

- a list the platform does not have is an error that names the lists it does have;
- an account on the sandbox that does not exist yet is a note (`vibeforge run` creates the
  bot accounts it needs); one on X that does not exist is an error;
- when the platform cannot be asked (no sandbox world yet, X unreachable, no credentials),
  a note says the name was not checked. `--no-check` skips the lookup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vibeforge.errors import ConfigError
from vibeforge.paths import Home

if TYPE_CHECKING:
    from collections.abc import Callable

    from vibeforge.config import Settings
    from vibeforge.platforms.x import XClient
    from vibeforge.sandbox.remote import RemoteSandbox


def _embedded_lists_and_users(settings: Settings) -> tuple[dict[str, str], set[str]] | None:
    """The embedded sandbox's lists (id → niche) and handles, read from its store; None when
    no world has been seeded yet."""
    from vibeforge.sandbox.store import SandboxStore

    path = Home(settings.home).sandbox_world.database
    if not path.exists():
        return None
    store = SandboxStore(path)  # the store, not a World: a World would re-anchor the clock
    try:
        if store.get_meta("world") is None:
            return None
        lists = {str(r[0]): str(r[1]) for r in store.all("SELECT id, niche FROM lists")}
        users = {str(r[0]).lower() for r in store.all("SELECT username FROM users")}
    finally:
        store.close()
    return lists, users


def _known(lists: dict[str, str]) -> str:
    return ", ".join(f"{i} ({niche})" for i, niche in sorted(lists.items())) or "none"


def check_list(settings: Settings, list_id: str) -> str | None:
    """None when the list exists, a note when it could not be checked; ConfigError if absent."""
    kind, base_url = settings.platform.kind, settings.platform.base_url
    if kind == "sandbox" and base_url is None:
        found = _embedded_lists_and_users(settings)
        if found is None:
            return f"list {list_id} not checked: no sandbox world yet ('vibeforge run' seeds one)"
        lists = found[0]
    elif kind == "sandbox":
        remote = _remote(settings)
        if remote is None:
            return f"list {list_id} not checked: no VIBEFORGE_SANDBOX_ADMIN_TOKEN for {base_url}"
        with remote:
            lists = {i: niche for niche, i in remote.list_ids().items()}
    else:
        return _x_lookup(
            settings,
            lambda c: (
                None
                if c.list_members(list_id=list_id, max_users=1)
                else f"list {list_id} on {kind} has no members, or does not exist"
            ),
            f"list {list_id}",
        )
    if list_id not in lists:
        raise ConfigError(f"the sandbox has no list {list_id}; its lists: {_known(lists)}")
    return None


def check_account(settings: Settings, handle: str) -> str | None:
    """None when the account exists, a note when it will be created or could not be checked;
    ConfigError when X says it does not exist."""
    kind, base_url = settings.platform.kind, settings.platform.base_url
    will_create = f"@{handle} has no sandbox account yet: 'vibeforge run' creates it"
    if kind == "sandbox" and base_url is None:
        found = _embedded_lists_and_users(settings)
        if found is None:
            return will_create
        return None if handle.lower() in found[1] else will_create
    if kind == "sandbox":
        from vibeforge.sandbox.problems import SandboxError

        remote = _remote(settings)
        if remote is None:
            return f"@{handle} not checked: no VIBEFORGE_SANDBOX_ADMIN_TOKEN for {base_url}"
        with remote:
            try:
                remote.user_token(handle)
            except SandboxError as exc:
                if "404" in str(exc):
                    return will_create
                raise
        return None

    def lookup(client: XClient) -> None:
        client.account(handle=handle)  # NotFound when X has no such account

    return _x_lookup(settings, lookup, f"@{handle}")


def _remote(settings: Settings) -> RemoteSandbox | None:
    from vibeforge.sandbox.remote import RemoteSandbox

    token = settings.secrets.sandbox_admin_token
    if token is None or settings.platform.base_url is None:
        return None
    return RemoteSandbox.connect(settings.platform.base_url, token.get_secret_value())


def _x_lookup(settings: Settings, call: Callable[[XClient], str | None], what: str) -> str | None:
    """Ask X (one priced read); NotFound is an error, any other failure a note."""
    from vibeforge.loop.build import platform_context
    from vibeforge.platforms.base import NotFound, PlatformError
    from vibeforge.platforms.registry import platform_factory
    from vibeforge.platforms.x import XClient

    try:
        client = platform_factory(settings.platform.kind)(
            platform_context(settings, home=settings.home, handles=())
        )
    except ConfigError as exc:
        return f"{what} not checked on {settings.platform.kind}: {exc}"
    if not isinstance(client, XClient):  # a platform kind without X's lookups
        return f"{what} not checked: {settings.platform.kind} cannot look it up"
    try:
        return call(client)
    except NotFound as exc:
        raise ConfigError(f"{settings.platform.kind} has no {what} ({exc})") from None
    except PlatformError as exc:
        return f"{what} not checked on {settings.platform.kind}: {exc}"
    finally:
        client.close()
