"""Terms of a post for trend and drift analytics: hashtags, words and two-word phrases.

Tokens are case-folded (NFKC); URLs, @mentions (already pseudonymised at ingest) and numbers are
dropped, and a short English stop list keeps function words out of the trends.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"@\w+")
_TOKEN = re.compile(r"#?[^\W\d_][\w']*", re.UNICODE)

_STOP = """
    a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't
    doing don't down during each few for from further had hadn't has hasn't have haven't having
    he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've
    if in into is isn't it it's its itself let's me more most mustn't my myself no nor not of off
    on once only or other ought our ours ourselves out over own same shan't she she'd she'll
    she's should shouldn't so some such than that that's the their theirs them themselves then
    there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's which while who who's whom why why's with won't would wouldn't you you'd you'll
    you're you've your yours yourself yourselves just get got will also like amp rt via im
    one really still now new
"""
STOPWORDS = frozenset(_STOP.split())

HASHTAG = "hashtag"
TERM = "term"
PHRASE = "phrase"


def words(text: str) -> list[str]:
    """Case-folded word tokens in order; hashtags keep their '#'."""
    text = unicodedata.normalize("NFKC", text)
    text = _MENTION.sub(" ", _URL.sub(" ", text))
    return [t.casefold().strip("'") for t in _TOKEN.findall(text)]


def terms(text: str, *, min_len: int = 3) -> set[tuple[str, str]]:
    """The distinct (kind, term) pairs of one post: hashtags, content words, adjacent pairs."""
    out: set[tuple[str, str]] = set()
    content: list[str | None] = []
    for tok in words(text):
        if tok.startswith("#"):
            if len(tok) > 1:
                out.add((HASHTAG, tok))
            content.append(None)  # a hashtag breaks a phrase
            continue
        if len(tok) < min_len or tok in STOPWORDS:
            content.append(None)
            continue
        out.add((TERM, tok))
        content.append(tok)
    for a, b in itertools.pairwise(content):
        if a is not None and b is not None and a != b:
            out.add((PHRASE, f"{a} {b}"))
    return out


def token_counts(texts: Iterable[str]) -> Counter[str]:
    """Counts of content words and hashtags over many texts (the token distribution)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(
            t for t in words(text) if t.startswith("#") or (len(t) >= 2 and t not in STOPWORDS)
        )
    return counts


def mentions(text: str, term: str) -> bool:
    """Whether `text` contains `term` (one or more words; '#x' and 'x' match each other)."""
    target = [t.lstrip("#") for t in words(term)]
    if not target:
        return False
    seq = [t.lstrip("#") for t in words(text)]
    n = len(target)
    return any(seq[i : i + n] == target for i in range(len(seq) - n + 1))
