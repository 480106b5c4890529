"""Posts cut by a generation limit are trimmed to a sentence or word end, tokens with them."""

from __future__ import annotations

import pytest

from vibeforge.models.generate import Generation, trim_generation
from vibeforge.models.testing import tiny_tokenizer
from vibeforge.models.text import trim_cut


@pytest.mark.parametrize(
    ("cut", "kept"),
    [
        (
            "Loved the lounge at DEN. The staff even named a cocktail after the aptly n",
            "Loved the lounge at DEN.",
        ),  # the last complete sentence
        ('She said "never again!" and then the gate ag', 'She said "never again!"'),
        ("Three hours on the tarmac and counting", "Three hours on the tarmac and"),
        ("from the aptly n", "from the aptly"),  # no sentence end: drop the partial word
        (
            "boarding now, bags checked, coffee in hand, gate",
            "boarding now, bags checked, coffee in hand",
        ),
        ("window seat, no delays 🛫", "window seat, no delays 🛫"),  # ends in an emoji: whole
        ("best crew ever #delta #fl", "best crew ever #delta"),
        ("3.5 hours late, the caf\ufffd", "3.5 hours late, the"),  # a character cut in its bytes
        ("Home at last!", "Home at last!"),  # ends a sentence: whole
        ("!!! the aptly n", "!!! the aptly"),  # a sentence end with no words is not enough
    ],
)
def test_a_cut_post_ends_at_its_last_sentence_or_whole_word(cut: str, kept: str) -> None:
    assert trim_cut(cut) == kept


def test_too_little_left_cannot_be_trimmed() -> None:
    assert trim_cut("supercalifragil") is None  # one partial word: nothing left
    assert trim_cut("\ufffd\ufffd") is None
    assert trim_cut("ok then we", min_words=3) is None  # "ok then" is 2 words
    assert trim_cut("ok then we go", min_words=3) == "ok then we"


def _gen(tok, text: str, reason: str) -> Generation:
    ids = tok.encode(text, add_special_tokens=False)
    return Generation(
        text=text,
        token_ids=ids,
        logprobs=[-float(i) for i in range(len(ids))],
        prompt_ids=[1, 2],
        finish_reason=reason,
    )


def test_trimming_a_generation_cuts_its_tokens_to_the_published_text() -> None:
    tok = tiny_tokenizer()
    cut = _gen(tok, "Gate changed again. Now the lounge is packed and the aptly n", "max_tokens")
    trimmed = trim_generation(cut, tok)
    assert trimmed is not None and trimmed.finish_reason == "trimmed"
    assert trimmed.text == "Gate changed again."
    # the trace RL's off-policy update learns from decodes to exactly what is published
    assert tok.decode(trimmed.token_ids, skip_special_tokens=True) == trimmed.text
    assert trimmed.logprobs == cut.logprobs[: len(trimmed.token_ids)]
    assert trimmed.prompt_ids == cut.prompt_ids

    capped = _gen(tok, "no sentence end here but a half wor", "length")  # the X-weighted cap
    trimmed = trim_generation(capped, tok)
    assert trimmed is not None and trimmed.text == "no sentence end here but a half"
    assert tok.decode(trimmed.token_ids, skip_special_tokens=True) == trimmed.text


def test_finished_posts_are_left_alone_and_hopeless_cuts_give_none() -> None:
    tok = tiny_tokenizer()
    done = _gen(tok, "landed early, a miracle and th", "eos")  # the model ended it: as it is
    assert trim_generation(done, tok) is done
    assert trim_generation(_gen(tok, "aaaaaaaa", "max_tokens"), tok) is None
