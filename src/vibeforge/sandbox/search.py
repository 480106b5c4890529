"""X's search query language, the common part: keywords, "exact phrases", #hashtags,
@mentions, `from:`, `to:`, `is:retweet|reply|quote|verified`, `has:links|mentions|hashtags|media|
images|videos|geo`, `lang:`, `conversation_id:`, negation with `-`, `OR` and parentheses.

Keywords match whole tokens, case-insensitively (a keyword of several tokens, `don't`, is a
phrase of them); terms side by side must all match; `OR` binds looser than that. As on X, a
query needs one standalone term that is not negated (is:/has:/lang: only narrow), and errors
are 400s naming the `query` parameter. The sandbox's posts are English: `lang:en` matches all.
Reposts are posts of their own, as on X (reposts.py): `is:retweet` matches them,
`-is:retweet` leaves them out, `retweets_of:user` matches the reposts of that user's posts, and
their text (`RT @user: ...`) matches keywords as any other. Its media are images (posted with
X's `media.media_ids` or a Bluesky images embed): `has:media` and `has:images` match the posts
that carry one, `has:videos` none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from vibeforge.sandbox.problems import ApiError, invalid
from vibeforge.sandbox.text import HASHTAG_RE, MENTION_RE, URL_RE

MAX_QUERY = 4096  # the spec's maxLength of `query`
_TOKEN = re.compile(r"\w+")
_LEXEME = re.compile(r'\s+|\(|\)|-?"[^"]*"|-?[^\s()"]+')
_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
IS_VALUES = frozenset({"retweet", "reply", "quote", "verified", "nullcast"})
_MEDIA_OPERATORS = frozenset({"has:media", "has:images"})
HAS_VALUES = frozenset(
    {"links", "mentions", "hashtags", "media", "images", "videos", "geo", "cashtags"}
)


@dataclass(frozen=True, slots=True)
class Doc:
    """What a query looks at in one post."""

    tokens: tuple[str, ...]  # lowercase word tokens of the text
    author: str  # the author's username, lowercase
    reply_to_author: str | None  # the replied-to post's author, lowercase
    is_reply: bool
    is_quote: bool
    conversation_id: int
    mentions: frozenset[str]  # lowercase, without @
    hashtags: frozenset[str]  # lowercase, without #
    links: bool
    media: bool = False  # carries an image
    is_retweet: bool = False  # a repost (a post of its own on X)
    retweet_of_author: str | None = None  # the reposted post's author, lowercase


def doc(
    *,
    text: str,
    author: str,
    reply_to_author: str | None,
    reply_to: int | None,
    quote_of: int | None,
    post_id: int,
    media: bool = False,
    repost_of: int | None = None,
    repost_of_author: str | None = None,
) -> Doc:
    return Doc(
        tokens=tuple(_TOKEN.findall(text.lower())),
        author=author.lower(),
        reply_to_author=reply_to_author.lower() if reply_to_author else None,
        is_reply=reply_to is not None,
        is_quote=quote_of is not None,
        conversation_id=reply_to or post_id,
        mentions=frozenset(m[1:].lower() for m in MENTION_RE.findall(text)),
        hashtags=frozenset(h[1:].lower() for h in HASHTAG_RE.findall(text)),
        links=URL_RE.search(text) is not None,
        media=media,
        is_retweet=repost_of is not None,
        retweet_of_author=repost_of_author.lower() if repost_of_author else None,
    )


Match = Callable[[Doc], bool]


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: `match(doc)`, and two prefilters: the authors `from:` names if every
    match needs one of them (else None), and the words every match contains; `media`: whether
    it tests for media (only then is each post's media looked up)."""

    match: Match
    authors: frozenset[str] | None
    words: frozenset[str]
    media: bool = False


def _error(message: str) -> ApiError:
    return invalid(
        f"There were errors processing your request: {message}", parameter="query", value=""
    )


def _phrase(words: tuple[str, ...]) -> Match:
    n = len(words)
    if n == 1:
        word = words[0]
        return lambda d: word in d.tokens
    return lambda d: any(d.tokens[i : i + n] == words for i in range(len(d.tokens) - n + 1))


@dataclass(slots=True)
class _Term:
    match: Match
    standalone: bool  # counts as a standalone term (is:/has:/lang: do not)
    negated: bool
    authors: frozenset[str] | None  # from: names this term requires
    words: frozenset[str] = frozenset()  # lowercase words every match of this term contains


def _operator(name: str, value: str, raw: str) -> tuple[Match, bool, frozenset[str] | None]:
    if name in ("from", "to", "retweets_of"):
        handle = value.lstrip("@")
        if not _HANDLE.fullmatch(handle):
            raise _error(f"invalid username in '{raw}'")
        who = handle.lower()
        if name == "from":
            return (lambda d: d.author == who), True, frozenset({who})
        if name == "to":
            return (lambda d: d.reply_to_author == who), True, None
        return (lambda d: d.retweet_of_author == who), True, None
    if name == "is":
        if value not in IS_VALUES:
            raise _error(f"Reference to invalid operator 'is:{value}'")
        pick: dict[str, Match] = {
            "reply": lambda d: d.is_reply,
            "quote": lambda d: d.is_quote,
            "retweet": lambda d: d.is_retweet,
        }
        return pick.get(value, lambda d: False), False, None
    if name == "has":
        if value not in HAS_VALUES:
            raise _error(f"Reference to invalid operator 'has:{value}'")
        checks: dict[str, Match] = {
            "links": lambda d: d.links,
            "mentions": lambda d: bool(d.mentions),
            "hashtags": lambda d: bool(d.hashtags),
            "media": lambda d: d.media,
            "images": lambda d: d.media,  # the sandbox's media are all images
        }
        return checks.get(value, lambda d: False), False, None
    if name == "lang":
        if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?|und", value):
            raise _error(f"invalid language in '{raw}'")
        english = value == "en"
        return (lambda d: english), False, None
    if name == "conversation_id":
        if not re.fullmatch(r"[0-9]{1,19}", value):
            raise _error(f"invalid id in '{raw}'")
        cid = int(value)
        return (lambda d: d.conversation_id == cid), True, None
    if name == "url":
        words = tuple(_TOKEN.findall(value.strip('"').lower()))
        return (_phrase(words) if words else (lambda d: False)), True, None
    raise _error(f"Reference to invalid operator '{name}'")


def _term(lexeme: str) -> _Term:
    negated = lexeme.startswith("-") and len(lexeme) > 1
    body = lexeme[1:] if negated else lexeme
    authors: frozenset[str] | None = None
    required: tuple[str, ...] = ()
    if body.startswith('"'):
        words = tuple(_TOKEN.findall(body.strip('"').lower()))
        if not words:
            raise _error(f"empty phrase {body}")
        match, standalone, required = _phrase(words), True, words
    elif body.startswith("#") and len(body) > 1:
        tag = body[1:].lower()
        match, standalone = (lambda d: tag in d.hashtags), True
    elif body.startswith("@") and len(body) > 1:
        name = body[1:].lower()
        match, standalone = (lambda d: name in d.mentions), True
    elif ":" in body and not body.startswith(":"):
        op, _, value = body.partition(":")
        if not value:
            raise _error(f"operator '{op}:' needs a value")
        match, standalone, authors = _operator(op.lower(), value, body)
    else:
        words = tuple(_TOKEN.findall(body.lower()))
        if not words:  # punctuation alone matches nothing X indexes
            raise _error(f"no viable term at '{body[:40]}'")
        match, standalone, required = _phrase(words), True, words
    if negated:
        inner = match
        match, authors, required = (lambda d: not inner(d)), None, ()
    return _Term(
        match=match,
        standalone=standalone,
        negated=negated,
        authors=authors,
        words=frozenset(required),
    )


class _Parser:
    def __init__(self, lexemes: list[str]) -> None:
        self.lexemes, self.at = lexemes, 0

    def peek(self) -> str | None:
        return self.lexemes[self.at] if self.at < len(self.lexemes) else None

    def any_of(self) -> _Term:
        terms = [self.all_of()]
        while self.peek() == "OR":
            self.at += 1
            if self.peek() in (None, ")", "OR"):
                raise _error("'OR' needs a term on each side")
            terms.append(self.all_of())
        if len(terms) == 1:
            return terms[0]
        matches = [t.match for t in terms]
        authors: frozenset[str] | None = frozenset()
        for t in terms:
            authors = None if authors is None or t.authors is None else authors | t.authors
        return _Term(
            match=lambda d: any(m(d) for m in matches),
            standalone=all(t.standalone for t in terms),
            negated=all(t.negated for t in terms),
            authors=authors,
        )

    def all_of(self) -> _Term:
        terms: list[_Term] = []
        while (lex := self.peek()) is not None and lex not in (")", "OR"):
            self.at += 1
            if lex in ("(", "-("):
                inner = self.any_of()
                if self.peek() != ")":
                    raise _error("missing ')'")
                self.at += 1
                if lex == "-(":
                    m = inner.match
                    inner = _Term(
                        match=lambda d, m=m: not m(d),  # type: ignore[misc]
                        standalone=inner.standalone,
                        negated=True,
                        authors=None,
                    )
                terms.append(inner)
            else:
                terms.append(_term(lex))
        if not terms:
            raise _error(f"no viable alternative at '{self.peek() or 'the end'}'")
        if len(terms) == 1:
            return terms[0]
        matches = [t.match for t in terms]
        required = [t.authors for t in terms if t.authors is not None]
        return _Term(
            match=lambda d: all(m(d) for m in matches),
            standalone=any(t.standalone and not t.negated for t in terms),
            negated=all(t.negated for t in terms),
            authors=frozenset.intersection(*required) if required else None,
            words=frozenset().union(*(t.words for t in terms)),
        )


def parse(query: str) -> Query:
    """The query, or a 400 saying what is wrong with it."""
    if len(query) > MAX_QUERY:
        raise _error(f"the query is {len(query)} characters; at most {MAX_QUERY}")
    if query.count('"') % 2:
        raise _error("unbalanced quote")
    lexemes = [x for x in _LEXEME.findall(query) if not x.isspace()]
    # '-(' opens a negated group
    merged: list[str] = []
    for lex in lexemes:
        if lex == "(" and merged and merged[-1] == "-":
            merged[-1] = "-("
        else:
            merged.append(lex)
    parser = _Parser(merged)
    term = parser.any_of()
    if parser.peek() is not None:
        raise _error(f"no viable alternative at '{parser.peek()}'")
    if term.negated or not term.standalone:
        raise _error(
            "the query needs at least one term that is not negated and not only is:, has: "
            "or lang: (they narrow other terms)"
        )
    media = any(lex.lstrip("-(").lower() in _MEDIA_OPERATORS for lex in merged)
    return Query(match=term.match, authors=term.authors, words=term.words, media=media)
