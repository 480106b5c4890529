"""Guard checks on real text: length by X's counting, near-duplicates, profanity, penalties."""

from __future__ import annotations

import pytest

from vibeforge.learn.guard import GuardConfig, penalties, run_guard, weighted_length


def test_weighted_length_counts_urls_and_wide_characters() -> None:
    assert weighted_length("hello") == 5
    assert weighted_length("see https://example.com/a/very/long/path/that/goes/on") == 4 + 23
    assert weighted_length("日本語") == 6
    assert weighted_length("caf\u0065\u0301") == 4  # NFC: é is one code point
    assert weighted_length("😀") == 2


def test_length_and_empty() -> None:
    ok, long, empty = run_guard(
        ["fine post", "x" * 281, "   "], config=GuardConfig(checks=("length",))
    )
    assert ok.ok and not long.ok and not empty.ok
    assert long.verdicts["length"].detail["weighted_length"] == 281


def test_near_duplicates_of_recent_posts_fail() -> None:
    recent = ["Flight delayed again at JFK, third time this month, thanks for nothing"]
    dup, fresh = run_guard(
        [
            "flight delayed AGAIN at JFK, third time this month, thanks for nothing!",
            "Loving the new lounge snacks on my layover in Denver",
        ],
        config=GuardConfig(checks=("duplicate",)),
        recent=recent,
    )
    assert not dup.ok and dup.verdicts["duplicate"].detail["jaccard"] > 0.6
    assert fresh.ok


def test_toxicity_uses_the_offline_model() -> None:
    [polite] = run_guard(
        ["what a lovely flight, thank you crew"], config=GuardConfig(checks=("toxicity",))
    )
    assert polite.ok and polite.verdicts["toxicity"].detail["profanity"] < 0.5
    rude2 = run_guard(
        ["shut up you stupid idiot, fuck off"], config=GuardConfig(checks=("toxicity",))
    )[0]
    assert not rude2.ok


def test_memorization_and_pii_hooks_and_penalties() -> None:
    class Index:
        def check(self, text):
            class V:
                ok = "copied" not in text
                overlap = 9 if "copied" in text else 0

            return V()

    class Pii:
        def find(self, text):
            return ["email"] if "@" in text else []

    bad, good = run_guard(
        ["copied words write me at a@b.co", "my own words"],
        config=GuardConfig(checks=("regurgitation", "pii", "length")),
        memorization=Index(),
        pii=Pii(),
    )
    assert bad.failed() == ["regurgitation", "pii"] and good.ok
    assert penalties([bad, good]) == [-2.0, -0.0]
    assert bad.as_json()["pii"] == {"ok": False, "found": ["email"]}


def test_bad_config() -> None:
    with pytest.raises(ValueError, match="unknown guard checks"):
        GuardConfig(checks=("vibes",))
    with pytest.raises(ValueError, match="toxicity_threshold"):
        GuardConfig(toxicity_threshold=0)
