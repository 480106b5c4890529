"""A timeline's public vocabulary: words many distinct authors write capitalised are kept."""

from __future__ import annotations

import pytest

from vibeforge.privacy.scrub import Scrubber
from vibeforge.privacy.vocabulary import Vocabulary, capitalised_words


def timeline(word_posts: int) -> Vocabulary:
    posts = [(f"author{i}", f"Brady threw again, {i} yards") for i in range(word_posts)]
    posts += [(f"author{i}", "Tom Brady knows") for i in range(word_posts)]
    posts += [("one_fan", "Kirsty Winters said Kirsty Winters is the best")] * 20
    return Vocabulary(min_authors=5).observe_many(posts)


def test_counts_distinct_authors_not_posts() -> None:
    vocab = timeline(6)
    assert vocab.authors("Brady") == 6 and vocab.is_public("brady")
    assert vocab.authors("Kirsty") == 1 and not vocab.is_public("Kirsty")  # 20 posts, 1 author
    assert not timeline(4).is_public("Brady")


def test_words_are_stored_as_keyed_digests() -> None:
    vocab = timeline(6)
    assert all(isinstance(k, bytes) and len(k) == 8 for k in vocab._authors)
    assert "Brady" not in repr(vars(vocab))
    other = Vocabulary(key=b"another-timeline-key").observe_many([("a", "Brady")])
    assert other.digest("Brady") != vocab.digest("Brady")


def test_hashtag_parts_count() -> None:
    assert capitalised_words("go #TomBrady and Delta!") >= {"TomBrady", "Tom", "Brady", "Delta"}


def test_scrubber_keeps_public_names_but_not_private_ones(ner_scrubber: Scrubber) -> None:
    vocab = timeline(6)
    text = "Tom Brady knew. Kirsty Winters said so"
    assert ner_scrubber.scrub(text).text == "<person> knew. <person> said so"
    assert ner_scrubber.scrub(text, vocabulary=vocab).text == "Tom Brady knew. <person> said so"
    # a relationship cue makes even a public word a private person
    assert ner_scrubber.scrub("my friend Tom said hi", vocabulary=vocab).text == (
        "my friend <person> said hi"
    )
    # a full name is kept only when each of its words is public
    assert ner_scrubber.scrub("Sarah Brady said hi", vocabulary=vocab).text == ("<person> said hi")


def test_thanks_to_a_public_brand_is_kept(ner_scrubber: Scrubber) -> None:
    vocab = Vocabulary.from_counts({"Frank": 12})
    assert ner_scrubber.scrub("Thanks Frank for the flat white").text != (
        "Thanks Frank for the flat white"
    )
    assert ner_scrubber.scrub("Thanks Frank for the flat white", vocabulary=vocab).text == (
        "Thanks Frank for the flat white"
    )


def test_min_authors_checks_itself() -> None:
    with pytest.raises(ValueError, match="min_authors"):
        Vocabulary(min_authors=1)
