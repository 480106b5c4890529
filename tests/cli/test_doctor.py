"""`vibeforge doctor` prints what the configured platform's policy asks of the accounts."""

from __future__ import annotations

from pathlib import Path

from vibeforge.loop import platform_kinds  # noqa: F401  (registers the platform kinds)
from vibeforge.platforms.registry import platform_policy


def _one_line(text: str) -> str:
    return " ".join(text.split())  # the console wraps long lines


def test_doctor_tells_an_x_user_what_to_set_by_hand(cli, tmp_path: Path) -> None:
    (tmp_path / "vibeforge.yaml").write_text(
        "platform:\n  kind: x\n"
        "bots:\n  - name: skybot\n    account: skybot\n"
        "loop:\n  learn_from_timeline: true\n",
        encoding="utf-8",
    )
    code, out, err = cli("doctor")
    assert code == 0, err
    out = _one_line(out)
    policy = platform_policy("x")
    assert "set by hand on @skybot" in out
    for item in policy.account_setup:  # printed from the policy, each of them
        assert _one_line(item) in out
    assert "'Automated' label" in out and "person who runs the bot" in out
    for rule in policy.rules():
        assert _one_line(rule) in out
    assert "made_with_ai" in out and "never automated: likes, follows, direct messages" in out
    assert "the bots learn from the timeline: X's Developer Agreement forbids" in out  # opt-in


def test_doctor_on_the_sandbox_has_nothing_to_set_by_hand(cli, tmp_path: Path) -> None:
    (tmp_path / "vibeforge.yaml").write_text("platform:\n  kind: sandbox\n", encoding="utf-8")
    code, out, err = cli("doctor")
    assert code == 0, err
    out = _one_line(out)
    assert "nothing to set by hand" in out and "'Automated' label" not in out
    assert "fleet_duplicate" in out and "wait for a person" not in out
