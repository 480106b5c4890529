"""Text rules X applies: weighted length (twitter-text v3) and the style/spam/toxicity features
the audience reacts to. Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23  # every URL counts as a t.co link
URL_RE = re.compile(r"https?://\S+", re.IGNORECASE)
MENTION_RE = re.compile(r"(?<!\w)@\w{1,15}")
HASHTAG_RE = re.compile(r"(?<!\w)#\w+")
WORD_RE = re.compile(r"[a-z0-9']+")
# code points twitter-text v3 counts as 1 (weight 100 of 200); everything else counts 2
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
# a small, documented lexicon: enough to mark abusive posts without shipping a classifier
TOXIC_WORDS = frozenset(
    (
        "fuck",
        "fucking",
        "fucked",
        "shit",
        "bitch",
        "bastard",
        "asshole",
        "idiot",
        "idiots",
        "stupid",
        "dumb",
        "moron",
        "retard",
        "cunt",
        "dick",
        "crap",
        "damn",
        "hate",
        "sucks",
    )
)


def weighted_length(text: str) -> int:
    """Length as X counts it: NFC, URLs as 23, CJK and emoji as 2, the rest as 1."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    for url in URL_RE.findall(text):
        total += URL_WEIGHT
        text = text.replace(url, "", 1)
    for ch in text:
        cp = ord(ch)
        total += 1 if any(lo <= cp <= hi for lo, hi in _LIGHT_RANGES) else 2
    return total


def normalise(text: str) -> str:
    """What two posts must share to be exact duplicates: words, without links or case."""
    return " ".join(WORD_RE.findall(URL_RE.sub(" ", text.lower())))


@dataclass(frozen=True, slots=True)
class Style:
    question: bool
    exclamation: bool
    urls: int
    mentions: int
    hashtags: int
    chars: int
    caps_ratio: float
    spam: float  # 0..1
    toxic: float  # 0..1


def style(text: str) -> Style:
    letters = [c for c in text if c.isalpha()]
    caps = sum(c.isupper() for c in letters) / len(letters) if letters else 0.0
    urls = len(URL_RE.findall(text))
    mentions = len(MENTION_RE.findall(text))
    hashtags = len(HASHTAG_RE.findall(text))
    words = WORD_RE.findall(text.lower())
    repeated = bool(re.search(r"(.)\1{5,}", text)) or (
        len(words) >= 6 and len(set(words)) / len(words) < 0.5
    )
    spam = min(
        1.0,
        0.4 * (hashtags > 3)
        + 0.4 * (mentions > 3)
        + 0.4 * (caps > 0.7 and len(letters) > 10)
        + 0.4 * repeated
        + 0.3 * (urls > 1),
    )
    toxic_hits = sum(w in TOXIC_WORDS for w in words)
    return Style(
        question="?" in text,
        exclamation="!" in text,
        urls=urls,
        mentions=mentions,
        hashtags=hashtags,
        chars=len(text),
        caps_ratio=caps,
        spam=spam,
        toxic=min(1.0, 0.5 * toxic_hits),
    )
