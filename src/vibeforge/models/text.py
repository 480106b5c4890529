"""X's weighted character count, and trimming text to a weighted budget.

X counts every code point in the Latin, Greek, Cyrillic, ... ranges (up to U+10FF) and a few
punctuation ranges as 1, everything else (CJK, most emoji) as 2, and any URL as 23, after NFC
normalisation. A post may weigh at most 280.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
# (first, last) code point ranges that weigh 1, from X's twitter-text configuration (v3)
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))


def char_weight(ch: str) -> int:
    """The weight of one code point: 1 in X's light ranges, else 2."""
    cp = ord(ch)
    return 1 if any(lo <= cp <= hi for lo, hi in _LIGHT_RANGES) else 2


def weighted_length(text: str) -> int:
    """X's weighted count of `text`: URLs 23, light code points 1, CJK and emoji 2."""
    if text.isascii() and "://" not in text:
        return len(text)  # the common case, checked every decode step: NFC-stable, all weigh 1
    text = unicodedata.normalize("NFC", text)
    total = 0
    last = 0
    for match in _URL.finditer(text):
        total += sum(char_weight(c) for c in text[last : match.start()]) + URL_WEIGHT
        last = match.end()
    return total + sum(char_weight(c) for c in text[last:])


def fits(text: str, limit: int = MAX_WEIGHTED_LENGTH) -> bool:
    return weighted_length(text) <= limit


# ------------------------------------------------------------ posts cut by a generation limit

MIN_TRIMMED_WORDS = 1  # fewer words left after trimming: the post cannot be saved
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]»]*(?=\s|\Z)")
_WORD = re.compile(r"\w+")
_PARTIAL_WORD = re.compile(r"[\w\ufffd]+\Z")  # U+FFFD: a character cut inside its bytes
_JOINERS = " \t\r\n,;:-–—(/&@#"  # left dangling once a partial word is dropped


def words(text: str) -> int:
    """How many words (runs of letters, digits or _) `text` has."""
    return len(_WORD.findall(text))


def trim_cut(text: str, *, min_words: int = MIN_TRIMMED_WORDS) -> str | None:
    """A post cut by a generation limit, trimmed back to where it could have ended.

    1. up to its last sentence end (". ! ? …", then maybe a closing quote or bracket): the
       whole text when it ends a sentence; used when that keeps `min_words` words;
    2. else without its last word when the text ends inside one (letters, digits, or a
       character cut inside its bytes): "from the aptly n" → "from the aptly"; a text ending
       in an emoji or punctuation keeps its words; joining punctuation left dangling
       (, ; : - – — ( / & @ #) goes too.
    None when fewer than `min_words` words would be left: it cannot be trimmed sensibly.
    """
    text = text.rstrip()
    ends = list(_SENTENCE_END.finditer(text))
    if ends:
        kept = text[: ends[-1].end()]
        if words(kept) >= min_words:
            return kept
    kept = _PARTIAL_WORD.sub("", text).rstrip(_JOINERS)
    return kept if kept and words(kept) >= min_words else None
