"""Guard checks on real text: length by X's counting, near-duplicates, profanity, assistant
phrases, cut posts; the RL rewards of failing samples and the failure shares."""

from __future__ import annotations

import pytest

from vibeforge.learn.guard import (
    GuardConfig,
    GuardResult,
    Verdict,
    failure_shares,
    guarded_rewards,
    run_guard,
)
from vibeforge.learn.rl import group_advantages


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
    # the copy is ranked last though the reward model liked it best
    rewards = guarded_rewards([90.0, 20.0, 50.0], [copied, emailed, fine])
    assert rewards[2] == 50.0 and max(rewards[:2]) < 20.0


def test_bad_config() -> None:
    with pytest.raises(ValueError, match="unknown guard checks"):
        GuardConfig(checks=("vibes",))
    with pytest.raises(ValueError, match="toxicity_threshold"):
        GuardConfig(toxicity_threshold=0)
    with pytest.raises(ValueError, match="not a regex"):
        GuardConfig(assistant_patterns=("(unclosed",))
    with pytest.raises(ValueError, match="penalty"):
        GuardConfig(penalty=0)
    with pytest.raises(ValueError, match="finish reasons"):
        run_guard(["a", "b"], finish_reasons=["eos"])


ASSISTANT = GuardConfig(checks=("assistant",))


def test_assistant_style_text_fails() -> None:
    assistant = [
        "I'm sorry, but I can't help with that.",
        "I’m sorry, I can’t write that",  # curly apostrophes
        "As an AI, I don't have opinions on airlines",
        "As a language model I cannot fly",
        "I cannot assist with that request.",
        "I can't help with creating posts about that",
        "Sure! Here's a post about my flight: landed early!",
        "Here is a tweet about the lounge",
        "here's your caption: wheels up",
        "I don't support that kind of language",
        "AS AN AI LANGUAGE MODEL",
        "Window seat, no delays. I hope this helps!",
    ]
    posts = [
        "I can't help but laugh at this airline",
        "lost my bag again lol, the AI chatbot on the app was no help",
        "Here's a thread on why JFK terminal 1 is a maze 🧵",
        "great day at the lounge, sorry not sorry",
        "they said sorry for the delay and gave us cookies",
    ]
    verdicts = run_guard(assistant + posts, config=ASSISTANT)
    assert [v.ok for v in verdicts] == [False] * len(assistant) + [True] * len(posts)
    assert verdicts[0].verdicts["assistant"].detail["assistant"] == "I'm sorry"
    assert "assistant" in GuardConfig().checks and "truncated" in GuardConfig().checks


def test_more_assistant_patterns_can_be_configured() -> None:
    config = GuardConfig(checks=("assistant",), assistant_patterns=(r"\bhappy to help\b",))
    helped, plain = run_guard(["Happy to help with your trip!", "happy landing"], config=config)
    assert not helped.ok and plain.ok
    assert run_guard(["Happy to help with your trip!"], config=ASSISTANT)[0].ok


def test_posts_cut_by_a_generation_limit_fail_when_the_reasons_are_known() -> None:
    config = GuardConfig(checks=("truncated",))
    texts = ["landed early", "from the aptly n", "over the cap wi", "trimmed back to this"]
    reasons = ["eos", "max_tokens", "length", "trimmed"]
    verdicts = run_guard(texts, config=config, finish_reasons=reasons)
    assert [v.ok for v in verdicts] == [True, False, False, True]
    assert verdicts[1].verdicts["truncated"].detail == {"finish": "max_tokens"}
    [unknown] = run_guard(["from the aptly n"], config=config)  # no reasons: skipped
    assert unknown.ok and "skipped" in unknown.verdicts["truncated"].detail


def _result(*failed: str) -> GuardResult:
    names = ("assistant", "truncated", "toxicity")
    verdicts = {n: Verdict(n not in failed) for n in names}
    return GuardResult(not failed, verdicts)


def test_a_guard_failure_gets_the_lowest_advantage_even_when_predicted_best() -> None:
    texts = [
        "As an AI, I can't write posts",  # the reward model's favourite: 90
        "gate changed twice, coffee spilled, still smiling",
        "landed early, a small miracle",
        "free upgrade on the red-eye!",
    ]
    predicted = [90.0, 42.0, 40.0, 20.0]
    results = run_guard(texts, config=GuardConfig(checks=("length", "assistant", "echo")))
    assert [r.ok for r in results] == [False, True, True, True]
    adv = group_advantages(guarded_rewards(predicted, results))
    assert adv[0] == min(adv) and adv[0] < 0
    assert adv[1] > adv[2] > adv[3] > adv[0]  # the passing ones keep the model's order


def test_every_failure_ranks_below_every_pass_and_more_failures_lower() -> None:
    results = [
        _result(),
        _result("assistant"),
        _result("assistant", "truncated"),
        _result(),
        _result("toxicity"),
        _result("assistant", "truncated", "toxicity"),
    ]
    for predicted in ([20.0, 90.0, 95.0, 30.0, 21.0, 99.0], [5.0, 5.0, 5.0, 5.0, 5.0, 5.0]):
        rewards = guarded_rewards(predicted, results)
        assert rewards[0] == predicted[0] and rewards[3] == predicted[3]  # passing: unchanged
        passing, one, two, three = (
            [rewards[0], rewards[3]],
            [rewards[1], rewards[4]],
            rewards[2],
            rewards[5],
        )
        assert max(one) < min(passing) and two < min(one) and three < two
    # a failing sample falls at least `penalty` below a flat group
    assert guarded_rewards([5.0, 5.0], [_result(), _result("toxicity")]) == [5.0, 4.0]
    assert guarded_rewards(
        [5.0, 5.0], [_result(), _result("toxicity")], config=GuardConfig(penalty=3.0)
    ) == [5.0, 2.0]
    # all failing the same checks: the reward model still orders them
    all_cut = guarded_rewards([10.0, 30.0, 20.0], [_result("truncated")] * 3)
    assert all_cut[1] > all_cut[2] > all_cut[0]
    assert guarded_rewards([], []) == []


def test_failure_shares_per_check_over_the_texts_each_ran_on() -> None:
    texts = [
        "I'm sorry, but I can't help with that.",
        "from the aptly n",
        "shut up you stupid idiot, fuck off",
        "landed early, a small miracle",
    ]
    results = run_guard(
        texts,
        config=GuardConfig(checks=("assistant", "truncated", "toxicity", "echo", "regurgitation")),
        finish_reasons=["eos", "max_tokens", "eos", "eos"],
    )
    shares = failure_shares(results)
    assert shares == {
        "assistant": 0.25,
        "truncated": 0.25,
        "toxicity": 0.25,
        "echo": 0.0,
        "any": 0.75,
    }  # regurgitation was skipped (no index): not reported
    assert failure_shares(run_guard(texts[:1], config=GuardConfig(checks=("truncated",)))) == {
        "any": 0.0
    }
    assert failure_shares([]) == {}
