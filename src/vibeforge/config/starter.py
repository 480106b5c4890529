"""Starter `vibeforge.yaml` files, one per platform `vibeforge init --platform` offers.

Each names the platform and shows, commented out, a timeline and a bot in that platform's
spelling (X: list ids and handles; Bluesky: AT URIs and domain handles). Secrets never appear:
the comments say which environment variables (or secrets-file keys) hold them.
"""

from __future__ import annotations

from vibeforge.config import DEFAULT_YAML
from vibeforge.errors import ConfigError

_HEAD = """\
# vibeforge configuration. Secrets never go here: use VIBEFORGE_* environment variables
# or $VIBEFORGE_HOME/secrets.yaml.
log_level: INFO
"""

STARTERS: dict[str, str] = {
    "sandbox": DEFAULT_YAML,
    "sandbox-bluesky": _HEAD
    + """\
platform:
  kind: sandbox          # the embedded, offline sandbox...
  face: bluesky          # ...spoken to through its AT Protocol (Bluesky) face
timelines: []
#  - name: airlines
#    kind: list          # list | feed | handles | home
#    source: at://did:plc:.../app.bsky.graph.list/...   # 'vibeforge sandbox info' lists them
bots: []
#  - name: skybot
#    timeline: airlines
#    account: skybot.test   # a sandbox handle: 'vibeforge run' creates the account
#    persona: "a frequent flyer who jokes about delays"
""",
    "bluesky": _HEAD
    + """\
platform:
  kind: bluesky
  # base_url: https://bsky.social      # the default; your PDS's URL if you host one
# Each bot account's app password (Settings > Privacy and security > App passwords), never the
# account's own password: VIBEFORGE_BLUESKY_APP_PASSWORDS="mybot.bsky.social:xxxx-xxxx-xxxx-xxxx"
# (comma-separated pairs), or bluesky_app_passwords in $VIBEFORGE_HOME/secrets.yaml.
timelines: []
#  - name: skytalk
#    kind: list          # list | feed | handles | home
#    source: at://did:plc:.../app.bsky.graph.list/...   # a list's AT URI
#  - name: skyfeed
#    kind: feed
#    source: at://did:plc:.../app.bsky.feed.generator/...
bots: []
#  - name: skybot
#    timeline: skytalk
#    account: mybot.bsky.social
#    persona: "a frequent flyer who jokes about delays"
""",
    "x": _HEAD
    + """\
platform:
  kind: x
  # base_url: https://api.x.com
# VIBEFORGE_X_BEARER_TOKEN reads; VIBEFORGE_X_CLIENT_ID (and _SECRET) let
# 'vibeforge auth x HANDLE' authorize each bot account to post.
timelines: []
#  - name: airlines
#    kind: list          # list | handles | home
#    source: "1500000"   # the List's id (x.com/i/lists/1500000)
bots: []
#  - name: skybot
#    timeline: airlines
#    account: skybot
#    persona: "a frequent flyer who jokes about delays"
""",
}
# the registered platform kind each starter selects (`PlatformSettings.registered_kind`)
KINDS = {"sandbox": "sandbox", "sandbox-bluesky": "sandbox_bluesky", "bluesky": "bluesky", "x": "x"}
NEXT_STEP = {
    "sandbox": "vibeforge timeline add NAME --list ID ('vibeforge sandbox info' lists them)",
    "sandbox-bluesky": "vibeforge timeline add NAME --list AT-URI, then vibeforge bot create "
    "NAME --account NAME.test",
    "bluesky": "put each bot's app password in VIBEFORGE_BLUESKY_APP_PASSWORDS "
    "(handle:password,...), then vibeforge timeline add / bot create (docs/bluesky.md)",
    "x": "set VIBEFORGE_X_BEARER_TOKEN and VIBEFORGE_X_CLIENT_ID, then vibeforge auth x HANDLE",
}


def starter_yaml(platform: str) -> str:
    """The starter config for `platform` (sandbox, sandbox-bluesky, bluesky or x)."""
    try:
        return STARTERS[platform]
    except KeyError:
        raise ConfigError(
            f"unknown platform {platform!r}: choose one of {', '.join(STARTERS)}"
        ) from None
