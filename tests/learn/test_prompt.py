"""The prompt template: what bots and elders are asked, SFT's contexts, the guard's echo check."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from vibeforge.learn import prompt
from vibeforge.learn.guard import GuardConfig, run_guard
from vibeforge.learn.prompt import (
    TEMPLATE,
    bot_prompt,
    echo_pattern,
    elder_prompt,
    instruction,
    niche_tag,
    strip_tags,
)
from vibeforge.learn.vibe import VibeConfig, sft_examples
from vibeforge.models.testing import tiny_tokenizer

ECHO = GuardConfig(checks=("echo",))
TIMELINE = [  # newest first
    "gate change again, running through terminal B",
    "@user free upgrade on the red-eye, no complaints",
    "x" * 250,
    "delayed two hours and the wifi is down",
    "lost my bag, found a new hobby: waiting",
]


@pytest.fixture(scope="module")
def tok():  # type: ignore[no-untyped-def]
    return tiny_tokenizer()


def test_bot_and_elder_prompts_read_as_the_template_says(tok) -> None:  # type: ignore[no-untyped-def]
    text = tok.decode(bot_prompt(tok, context=TIMELINE[:3]))
    assert text == (
        f"<|im_start|>system\n{TEMPLATE.persona}<|im_end|>\n"
        "<|im_start|>user\nRecent posts on your timeline:\n"
        "- gate change again, running through terminal B\n"
        "- free upgrade on the red-eye, no complaints\n"  # the placeholder is removed
        f"- {'x' * TEMPLATE.context_chars}\n"  # cut to context_chars
        "Write one new short post in the same vibe.<|im_end|>\n<|im_start|>assistant\n"
    )
    mine = tok.decode(bot_prompt(tok, persona="a pilot"))
    assert mine.startswith("<|im_start|>system\na pilot<|im_end|>")
    assert f"user\n{TEMPLATE.instruction}<|im_end|>" in mine
    elder = tok.decode(elder_prompt(tok, niches=["air_travel", "apple"]))
    assert elder.startswith(
        "<|im_start|>system\n[niche: air_travel, apple] You post on social media about "
        "air travel and apple.<|im_end|>"
    )


def test_models_without_a_chat_template_get_a_plain_prompt(tok) -> None:  # type: ignore[no-untyped-def]
    plain = copy.deepcopy(tok)
    plain.chat_template = None
    assert plain.decode(bot_prompt(plain, persona="a pilot")) == (
        f"a pilot\n\n{TEMPLATE.instruction}\nPost:"
    )
    assert plain.decode(bot_prompt(plain)).startswith(TEMPLATE.persona + "\n\n")


def test_sft_shows_each_post_other_timeline_posts_chosen_by_seed(tok) -> None:  # type: ignore[no-untyped-def]
    from vibeforge.models.testing import tiny_base

    base = tiny_base(seed=0)
    config = VibeConfig(persona="a pilot", context_posts=2, seed=3)
    texts = [*TIMELINE[:2], "@user"]  # the last is all placeholder: no example
    examples = sft_examples(base, texts, timeline=TIMELINE, config=config)
    assert len(examples) == 2
    for text, e in zip(texts, examples, strict=False):
        assert len(e.context) == 2 and text not in e.context
        # newest first, as act shows them
        assert sorted(e.context, key=TIMELINE.index) == list(e.context)
        assert e.prompt == bot_prompt(tok, persona="a pilot", context=e.context)
    again = sft_examples(base, texts, timeline=TIMELINE, config=config)
    assert again == examples
    other = sft_examples(base, texts, timeline=TIMELINE, config=dataclasses.replace(config, seed=4))
    assert [e.context for e in other] != [e.context for e in examples]
    bare = sft_examples(base, texts, timeline=[], config=config)
    assert all(e.prompt == bot_prompt(tok, persona="a pilot") for e in bare)


def _template_strings() -> list[str]:
    return [
        instruction(),
        instruction(["a post"]),
        instruction(["a post"]).splitlines()[0],
        instruction(["a post"]).splitlines()[-1],
        niche_tag(["airlines"]) + " my bag is lost",
    ]


def test_the_echo_check_catches_every_instruction_and_tag_of_the_template() -> None:
    texts = [
        *_template_strings(),
        "Write one new short post in the same vibe .",
        "Write one short message in bright red.",
        "write a short tweet about delays",
        "[niche:airlines] lost my bag again",
        "My flight was late again, but the crew wrote a short post about it",
        "a short post would be nice, one more delay and I write a letter",
    ]
    verdicts = run_guard(texts, config=ECHO)
    assert [v.ok for v in verdicts] == [False] * 9 + [True, True]
    assert verdicts[0].verdicts["echo"].detail["echo"].lower() == "write one short post"


def test_the_echo_check_follows_a_changed_template(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    changed = dataclasses.replace(
        TEMPLATE,
        version="test",
        instruction="Compose a witty note for the feed.",
        context_instruction="Lately people said:\n{posts}\nReply with something fresh for them.",
        niche_tag="<<topic={niches}>>",
        echo_variants=(),
    )
    old = _template_strings()
    monkeypatch.setattr(prompt, "TEMPLATE", changed)
    new = [
        instruction(template=changed),
        "Lately people said: nothing",
        "so reply with something fresh",
        niche_tag(["airlines"], template=changed) + " hi",
    ]
    assert not any(v.ok for v in run_guard(new, config=ECHO))
    assert all(v.ok for v in run_guard(old[:4], config=ECHO))  # the old wording is not asked
    assert echo_pattern(changed).pattern != echo_pattern(TEMPLATE).pattern
    assert strip_tags("<<topic=airlines>>  bag lost", template=changed) == "bag lost"


def test_strip_tags_removes_echoed_niche_tags() -> None:
    assert strip_tags("[niche: airlines] lost my bag [niche:apple]") == "lost my bag"
    assert strip_tags("no tags here") == "no tags here"


def test_a_template_must_keep_its_placeholders() -> None:
    with pytest.raises(ValueError, match="posts"):
        dataclasses.replace(TEMPLATE, context_instruction="Recent posts:")
