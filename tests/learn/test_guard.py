"""Guard checks on real text: length by X's counting, near-duplicates, profanity, penalties."""

from __future__ import annotations

import pytest

from vibeforge.learn.guard import GuardConfig, penalties, run_guard


def test_length_and_empty() -> None:
    ok, long, empty = run_guard(
        ["fine post", "x" * 281, "   "], config=GuardConfig(checks=("length",))
    )
    assert ok.ok and not long.ok and not empty.ok
    assert long.verdicts["length"].detail["weighted_length"] == 281


def test_posts_that_repeat_the_prompts_instruction_fail() -> None:
    from vibeforge.learn.prompt import instruction

    texts = [
        instruction([]),
        "Write one new short post in the same vibe .",
        "Write one short message in bright red.",
        "[niche: airlines] lost my bag again",
        "My flight was late again, but the crew wrote a short post about it",
        "a short post would be nice, one more delay and I write a letter",
    ]
    verdicts = run_guard(texts, config=GuardConfig(checks=("echo",)))
    assert [v.ok for v in verdicts] == [False, False, False, False, True, True]
    assert verdicts[0].verdicts["echo"].detail["echo"].lower() == "write one short post"


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


def test_regurgitation_and_pii_with_the_real_index_and_scrubber(tmp_path) -> None:
    from vibeforge.privacy.memorization import MemorizationIndex
    from vibeforge.privacy.scrub import Scrubber, ScrubConfig

    ingested = "the new terminal at denver finally has enough power outlets for every single gate"
    index = MemorizationIndex.open(tmp_path / "index")
    index.add([ingested])
    copied, emailed, fine = run_guard(
        [
            "wow " + ingested,
            "DM me at jane.doe@example.com about the lounge",
            "power outlets at gates are the real luxury of modern travel",
        ],
        config=GuardConfig(checks=("regurgitation", "pii", "length")),
        memorization=index,
        pii=Scrubber(ScrubConfig(ner=False)),
    )
    assert (
        copied.failed() == ["regurgitation"]
        and copied.verdicts["regurgitation"].detail["longest_match"] >= 8
    )
    assert emailed.failed() == ["pii"] and emailed.as_json()["pii"] == {
        "ok": False,
        "found": ["email"],
    }
    assert fine.ok
    assert penalties([copied, emailed, fine]) == [-1.0, -1.0, -0.0]


def test_bad_config() -> None:
    with pytest.raises(ValueError, match="unknown guard checks"):
        GuardConfig(checks=("vibes",))
    with pytest.raises(ValueError, match="toxicity_threshold"):
        GuardConfig(toxicity_threshold=0)
