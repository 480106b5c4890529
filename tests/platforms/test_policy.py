"""Platform policies: each registered kind files one; X's states what its developer rules ask."""

from __future__ import annotations

import pytest

from vibeforge.errors import ConfigError
from vibeforge.loop import platform_kinds  # noqa: F401  (registers the platform kinds)
from vibeforge.platforms.policy import PlatformPolicy
from vibeforge.platforms.registry import known_platforms, platform_policy


def test_every_kind_registers_a_policy_and_x_states_its_rules() -> None:
    assert set(known_platforms()) >= {"x", "bluesky", "sandbox", "sandbox_bluesky"}
    x = platform_policy("x")
    assert x.name == "x"
    assert x.ai_label and "made_with_ai" in x.ai_label_how
    assert x.replies_need_approval
    assert not x.learn_from_timeline and "train" in x.why_no_timeline_learning
    assert x.fleet_duplicate_cosine == 0.9 and x.fleet_duplicate_days == 7
    assert set(x.never_automated) == {"likes", "follows", "direct messages"}
    automated = [s for s in x.account_setup if "'Automated' label" in s]
    assert automated and "person who runs the bot" in automated[0]  # names its operator
    for kind in ("sandbox", "sandbox_bluesky", "bluesky"):
        p = platform_policy(kind)
        assert p.learn_from_timeline and not p.replies_need_approval
        assert p.ai_label and p.fleet_duplicate_cosine == 0.9  # the guard runs everywhere
    assert "bot" in platform_policy("bluesky").ai_label_how


def test_rules_say_what_the_loop_enforces() -> None:
    rules = "\n".join(platform_policy("x").rules())
    assert "made_with_ai" in rules
    assert "cosine 0.9" in rules and "7 days" in rules and "fleet_duplicate" in rules
    assert "wait for a person" in rules
    assert "learn_from_timeline: true" in rules  # the opt-in, named
    assert "likes, follows, direct messages" in rules
    sandbox = "\n".join(platform_policy("sandbox").rules())
    assert "wait for a person" not in sandbox and "learn from the timelines" in sandbox


def test_unknown_kind_and_bad_values_raise() -> None:
    with pytest.raises(ConfigError, match="unknown platform 'mastodon'"):
        platform_policy("mastodon")
    with pytest.raises(ValueError, match=r"fleet_duplicate_cosine \(1.5\) must be in \(0, 1\]"):
        PlatformPolicy(name="p", fleet_duplicate_cosine=1.5)
    with pytest.raises(ValueError, match="fleet_duplicate_days"):
        PlatformPolicy(name="p", fleet_duplicate_days=0)
    with pytest.raises(ValueError, match="say why"):
        PlatformPolicy(name="p", learn_from_timeline=False)
    assert PlatformPolicy(name="p", fleet_duplicate_cosine=None).rules()  # no guard: allowed
