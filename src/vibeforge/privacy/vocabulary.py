"""A timeline's public vocabulary: capitalised words that many distinct authors write.

De-personalisation removes what identifies a private person, not what a niche talks about.
A word that at least `min_authors` distinct (pseudonymous) authors of a timeline write
capitalised ("Delta", "Brady", "Coachella", "Frank" the café) is the niche's vocabulary: the
name pass keeps it, unless a relationship cue says it is someone's private person
("my friend Tom", "my sister Georgia"). A full name is kept only when each of its words is.

Words are stored as keyed digests (BLAKE2b with the timeline's key), never as text, so a
persisted vocabulary does not hold the private names it counted below the threshold; author
ids are the pseudonyms ingest already uses.

    vocab = Vocabulary(key=b"...")
    vocab.observe_many((post.author_id, post.text) for post in raw_posts)  # before scrubbing
    scrubber.scrub_many(texts, vocabulary=vocab)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_CAPITALISED = re.compile(r"(?<![\w@＠])#?([^\W\d_][\w'’-]*)")
_CAMEL_PART = re.compile(r"[A-Z][a-z]+|[A-Z]+(?![a-z])")
DEFAULT_MIN_AUTHORS = 5


@dataclass
class Vocabulary:
    """Counts of distinct authors per capitalised word (as digests) of one timeline."""

    key: bytes = b"vibeforge-vocabulary"  # use the pseudonym key where it is persisted
    min_authors: int = DEFAULT_MIN_AUTHORS  # authors that make a word public
    _authors: dict[bytes, set[bytes]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.min_authors < 2:
            raise ValueError(
                f"min_authors ({self.min_authors}) must be >= 2: one author's word is not "
                "a niche's vocabulary; 5 is the default"
            )

    def digest(self, word: str) -> bytes:
        return hashlib.blake2b(key_form(word).encode(), key=self.key[:64], digest_size=8).digest()

    def observe(self, author: str, text: str) -> None:
        """Count the capitalised words (and the parts of CamelCase hashtags) of one post."""
        who = hashlib.blake2b(author.encode(), digest_size=8).digest()
        for word in capitalised_words(text):
            self._authors.setdefault(self.digest(word), set()).add(who)

    def observe_many(self, posts: Iterable[tuple[str, str]]) -> Vocabulary:
        for author, text in posts:
            self.observe(author, text)
        return self

    def authors(self, word: str) -> int:
        """How many distinct authors wrote `word` capitalised."""
        return len(self._authors.get(self.digest(word), ()))

    def is_public(self, word: str) -> bool:
        return self.authors(word) >= self.min_authors

    @classmethod
    def from_counts(
        cls, counts: dict[str, int], *, min_authors: int = DEFAULT_MIN_AUTHORS
    ) -> Vocabulary:
        """A vocabulary from known author counts per word (tests, a persisted summary)."""
        vocab = cls(min_authors=min_authors)
        for word, n in counts.items():
            vocab._authors[vocab.digest(word)] = {i.to_bytes(8, "big") for i in range(n)}
        return vocab


def key_form(word: str) -> str:
    return word.casefold().replace("’", "'").removesuffix("'s")


def capitalised_words(text: str) -> set[str]:
    """Capitalised words of a text, and the capitalised parts of its CamelCase hashtags."""
    out: set[str] = set()
    for m in _CAPITALISED.finditer(text):
        word = m.group(1)
        if word[0].isupper():
            out.add(word)
            if m.group().startswith("#"):
                out.update(p for p in _CAMEL_PART.findall(word) if len(p) > 1)
    return out
