"""The regex pass of the scrubber: spans of handles, URLs, emails and phone numbers.

Spans are found on the original text, merged (overlaps are united, the stronger kind wins),
then replaced right to left by one placeholder per kind, so offsets never shift under us.

Placeholders (one documented convention, chosen to keep posts readable for training):

    handle    @user         (keeps the shape of a mention or a reply)
    url       <url>
    email     <email>
    phone     <phone>
    person    <person>
    location  <location>
    iban      <iban>        (structured.py: Presidio's recognisers)
    card      <card>
    national_id <id>
    ip        <ip>
    address   <address>     (addresses.py)
    dob       <dob>

Placeholders are never detected as PII themselves, so scrubbing is idempotent.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# strongest first: when spans overlap, the merged span takes the strongest kind
KINDS = (
    "email",
    "url",
    "iban",
    "card",
    "ip",
    "address",
    "dob",
    "handle",
    "phone",  # before national_id: a phone that passes the NHS mod-11 check is still a phone
    "national_id",
    "person",
    "location",
)
STRUCTURED = ("email", "url", "handle", "phone")  # the regex pass's kinds
IDENTIFIERS = ("iban", "card", "national_id", "ip", "address", "dob")  # structured.py, addresses.py
PLACEHOLDERS = {
    "handle": "@user",
    "url": "<url>",
    "email": "<email>",
    "phone": "<phone>",
    "person": "<person>",
    "location": "<location>",
    "iban": "<iban>",
    "card": "<card>",
    "national_id": "<id>",
    "ip": "<ip>",
    "address": "<address>",
    "dob": "<dob>",
}
_RANK = {kind: i for i, kind in enumerate(KINDS)}
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,24}\b")
_URL_SCHEME = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`]+", re.IGNORECASE)
_URL_WWW = re.compile(r"(?<![\w.@/])www\.[\w-]+(?:\.[\w-]+)+(?:/[^\s<>\"'`]*)?", re.IGNORECASE)
# bare domains only with common lowercase TLDs: "end.Then", "Node.js", "ASP.NET" are not URLs
_URL_BARE = re.compile(
    r"(?<![\w.@/-])(?:[\w-]+\.)+(?-i:com|net|org|io|co|info|biz|me|ly|gov|edu|app|dev|ai|"
    r"uk|de|fr|es|it|nl|us|ca|au|in|tv|xyz|news|blog|online|site|shop|link)"
    r"\b(?![.-]\w)(?:/[^\s<>\"'`]*)?",
    re.IGNORECASE,
)
# X links a mention glued to "RT" ("RT@jane") as well as one after a non-word character
_HANDLE = re.compile(r"(?:(?<![\w@＠])|(?<=\bRT)|(?<=\bRT:))[@＠]\w{1,50}(?![\w@＠])")
_PHONE = re.compile(
    r"(?<![\w+#/.,$€£-])"
    r"(?:(?:\+|\b00)\d{1,3}[\s.-]?)?"  # country code: +44, 001-
    r"(?:\(\d{1,5}\)[\s.-]?)?"  # area code or trunk prefix in parentheses: (555), (0)
    r"\d{1,12}(?:[\s.-]\d{2,12}){0,4}"  # digit groups with single separators: +31 6 1234
    r"(?:\s?(?:x|ext\.?|extension)\s?\d{1,6})?"  # extension
    r"(?![\w])",
    re.IGNORECASE,
)
_PHONE_EXT = re.compile(r"(?:x|ext\.?|extension)\s?\d{1,6}$", re.IGNORECASE)
_LOCAL_PHONE = re.compile(r"\d{3}-\d{4}")
_TRAILING = re.compile(r"[.,;:!?)\]}'\"…]+$")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of the original text that holds PII of one kind (offsets only, no value)."""

    start: int
    end: int
    kind: str
    score: float = 1.0


def clean_unicode(text: str) -> str:
    """Replace lone surrogates (invalid Unicode that cannot be stored as UTF-8) by U+FFFD."""
    return _SURROGATES.sub("\ufffd", text)


# control characters (Unicode category Cc: C0, DEL, C1) other than tab and newline
_LINE_BREAKS = re.compile(r"\r\n?")
_SPACING_CONTROLS = re.compile(r"[\x0b\x0c\x1c-\x1f\x85]")  # str.isspace: words stay apart
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


def normalise_text(text: str) -> str:
    """Untrusted platform text as the store keeps it, the same on every backend.

    Applied at the ingest boundary to every string of a platform post (text, ids, author id,
    language), before scrubbing, so the scrubber sees what will be stored ("jane\\x00@mail.com"
    is an email once the NUL is gone):

    - `\\r\\n` and a lone `\\r` become `\\n` (one line-break convention);
    - lone surrogates become U+FFFD (`clean_unicode`; they cannot be encoded as UTF-8);
    - control characters that Python counts as whitespace (VT, FF, the separators
      U+001C-U+001F, NEL) become a space, so the words around them stay apart;
    - every other control character (NUL, the rest of C0, DEL, C1) is removed: PostgreSQL
      refuses NUL in text, and none of them is meant to be read.

    Tab, newline and everything outside category Cc are kept. Idempotent.
    """
    text = clean_unicode(text)
    text = _LINE_BREAKS.sub("\n", text)
    text = _SPACING_CONTROLS.sub(" ", text)
    return _CONTROLS.sub("", text)


def regex_spans(text: str, *, kinds: Iterable[str] = STRUCTURED) -> list[Span]:
    """Every handle, URL, email and phone span the regex pass finds (unmerged)."""
    wanted = set(kinds)
    spans: list[Span] = []
    if "email" in wanted:
        spans += [Span(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
    if "url" in wanted:
        for pattern in (_URL_SCHEME, _URL_WWW, _URL_BARE):
            for m in pattern.finditer(text):
                end = m.start() + len(_TRAILING.sub("", m.group()))
                if end > m.start():
                    spans.append(Span(m.start(), end, "url"))
    if "handle" in wanted:
        spans += [Span(m.start(), m.end(), "handle") for m in _HANDLE.finditer(text)]
    if "phone" in wanted:
        spans += [Span(m.start(), m.end(), "phone") for m in _PHONE.finditer(text) if _is_phone(m)]
    return drop_placeholders(text, spans)


def _is_phone(match: re.Match[str]) -> bool:
    body = _PHONE_EXT.sub("", match.group()).strip()
    digits = sum(ch.isdigit() for ch in body)
    if 9 <= digits <= 15:
        return True
    return _LOCAL_PHONE.fullmatch(body) is not None  # US local numbers: 555-0123


def drop_placeholders(text: str, spans: Iterable[Span]) -> list[Span]:
    """Spans that are not just one of our own placeholders (keeps scrubbing idempotent)."""
    marks = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
    if not marks:
        return list(spans)
    return [s for s in spans if not any(a <= s.start and s.end <= b for a, b in marks)]


def merge(spans: Iterable[Span]) -> list[Span]:
    """Unite overlapping spans; the merged span keeps the strongest kind (see KINDS)."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, span.kind, key=_RANK.__getitem__)
            merged[-1] = Span(
                last.start, max(last.end, span.end), kind, max(last.score, span.score)
            )
        else:
            merged.append(span)
    return merged


def replace_spans(text: str, spans: list[Span]) -> tuple[str, Counter[str]]:
    """Replace merged spans by their placeholders; return the new text and counts per kind."""
    counts: Counter[str] = Counter()
    out = text
    for span in reversed(spans):
        out = out[: span.start] + PLACEHOLDERS[span.kind] + out[span.end :]
        counts[span.kind] += 1
    return out, counts


_EDGE = " \t\r\n.,;:!?'\"()[]{}…-"


def trim(text: str, span: Span) -> Span | None:
    """The span without surrounding spaces and punctuation; None if nothing word-like is left."""
    start, end = span.start, span.end
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    if not any(ch.isalnum() for ch in text[start:end]):
        return None
    return Span(start, end, span.kind, span.score)


def map_back(text: str, spans: Iterable[Span], replaced: list[Span]) -> list[Span]:
    """Map spans found on `replace_spans(text, replaced)` back onto `text`.

    Parts of a span that fall on a placeholder are cut away; what is left of it (in the plain
    stretches between placeholders) is mapped to the original offsets and trimmed.
    """
    # plain stretches of the replaced text: (start, end, offset to add to reach `text`)
    plain: list[tuple[int, int, int]] = []
    pos = shift = 0  # pos: start of the current plain stretch in the replaced text
    for span in replaced:
        start = span.start - shift  # where the placeholder begins in the replaced text
        plain.append((pos, start, shift))
        shift += (span.end - span.start) - len(PLACEHOLDERS[span.kind])
        pos = start + len(PLACEHOLDERS[span.kind])
    plain.append((pos, len(text) - shift, shift))
    out: list[Span] = []
    for span in spans:
        for a, b, delta in plain:
            start, end = max(span.start, a), min(span.end, b)
            if start < end:
                piece = trim(text, Span(start + delta, end + delta, span.kind, span.score))
                if piece is not None:
                    out.append(piece)
    return out


_LEADING_MENTIONS = re.compile(r"^(?:\s*(?:\.?@user)\b[\s:,]*)+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?;:)])")


def postable(text: str) -> str:
    """Scrubbed text as a bot may learn from or post it: no placeholders left.

    A post that opens with a chain of replied-to handles loses them ("@user @user thanks!" ->
    "thanks!"); other placeholders (`<url>`, `<person>`, `@user` inside a sentence) are dropped
    with the space before them. Bots trained on raw placeholders post them literally. Control
    characters become spaces: a model can generate a NUL, which PostgreSQL refuses and no
    platform should be sent, and a cut at one (act trims posts at word ends) stays a word end.
    """
    text = normalise_text(_CONTROLS.sub(" ", text))
    text = _LEADING_MENTIONS.sub("", text)
    text = _PLACEHOLDER.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = re.sub(r"\(\s*\)", " ", text)
    return " ".join(text.split())
