"""Structured identifiers beyond the regex pass: Presidio's recognisers, obfuscated emails,
handles written without the @.

- Presidio's own pattern recognisers, called directly (no AnalyzerEngine, no spaCy: the
  recognisers need no NLP artefacts): emails, phones (libphonenumber, international formats),
  IBANs (per-country formats and the mod-97 check), card numbers (Luhn), IPv4/IPv6 and the
  national ID numbers Presidio validates (US SSN, UK NINO and NHS, ES NIF/NIE, IT codice
  fiscale, PL PESEL, FI, SE, IN Aadhaar/PAN, SG, AU TFN, CA SIN, KR RRN, TR TC kimlik, ZA ID).
  A recogniser runs only on texts with enough digits for what it finds.
- Obfuscated emails ("jane [at] example [dot] com", "jane(at)example.com", "jane＠example．com",
  "j AT example DOT co DOT uk") are normalised to `local@domain` and kept when Presidio's email
  recogniser accepts the normal form (with the domain's suffix checked offline). A bare " at "
  with real dots ("deals at amazon.com") counts only after a mail cue or with a local part
  that does not look like a word ("j.doe", "jane_doe", "jane85").
- Handles without the @ after the words people put before them ("h/t jsmith", "cc jsmith",
  "follow JaneDoe88", "via jsmith").

Every finder works on the original text and returns `Span`s into it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from vibeforge.privacy.patterns import Span

# Presidio entity -> our kind
ENTITY_KINDS = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "IBAN_CODE": "iban",
    "CREDIT_CARD": "card",
    "IP_ADDRESS": "ip",
}
_NATIONAL_IDS = (
    "UsSsnRecognizer",
    "UkNinoRecognizer",
    "NhsRecognizer",
    "EsNifRecognizer",
    "EsNieRecognizer",
    "ItFiscalCodeRecognizer",
    "PlPeselRecognizer",
    "FiPersonalIdentityCodeRecognizer",
    "SePersonnummerRecognizer",
    "InAadhaarRecognizer",
    "SgFinRecognizer",
    "AuTfnRecognizer",
    "CaSinRecognizer",
    "KrRrnRecognizer",
    "TrNationalIdRecognizer",
    "ZaIdNumberRecognizer",
)
# regions whose national formats libphonenumber tries (international "+" numbers always match)
PHONE_REGIONS = ("US", "GB", "DE", "FR", "NL", "IT", "ES", "PL", "BR", "RU", "CN", "TR", "IN")
MIN_SCORE = 0.4  # Presidio's phone matches score 0.4; checksum-validated ones 1.0
_DIGIT = re.compile(r"\d")


@cache
def recognizers() -> tuple[tuple[Any, int, bool], ...]:
    """(recogniser, digits the text needs, needs an '@') for each Presidio recogniser used."""
    from presidio_analyzer import Pattern
    from presidio_analyzer import predefined_recognizers as pr

    from vibeforge.privacy.ner import offline_tld_extractor

    class OfflineEmailRecognizer(pr.EmailRecognizer):
        """Presidio's email recogniser, validating the domain's suffix offline."""

        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline_tld_extractor()(pattern_text).fqdn)

    # Presidio's card recogniser (Luhn-checked), with Mastercard's 2221-2720 range too
    cards = pr.CreditCardRecognizer(
        patterns=[
            *pr.CreditCardRecognizer.PATTERNS,
            Pattern(
                "Mastercard 2-series",
                r"\b(2(?:2[2-9]\d|[3-6]\d{2}|7[01]\d|720))[- ]?(\d{4})[- ]?(\d{4})[- ]?(\d{4})\b",
                0.3,
            ),
        ]
    )

    ids = [(getattr(pr, name)(), 6, False) for name in _NATIONAL_IDS]
    return (
        (OfflineEmailRecognizer(), 0, True),
        (pr.PhoneRecognizer(supported_regions=PHONE_REGIONS), 7, False),
        (pr.IbanRecognizer(), 8, False),
        (cards, 12, False),
        (pr.IpRecognizer(), 2, False),
        *ids,
    )


def presidio_spans(text: str) -> list[Span]:
    """Spans of the Presidio recognisers that apply to `text` (unmerged)."""
    digits = len(_DIGIT.findall(text))
    has_at = "@" in text
    spans = []
    for recognizer, min_digits, needs_at in recognizers():
        if digits < min_digits or (needs_at and not has_at):
            continue
        for r in recognizer.analyze(text, recognizer.supported_entities, None):
            if r.score >= MIN_SCORE and r.end > r.start:
                kind = ENTITY_KINDS.get(r.entity_type, "national_id")
                if kind == "national_id" and _context_before(text, r.start, recognizer.context):
                    kind = "national_id_in_context"
                end = r.end
                if kind == "ip" and _VERSION.search(text, 0, r.start):
                    continue  # "version 1.2.3.4", "iOS 8.1.2.1": not an address
                if kind == "ip" and (port := _PORT.match(text, end)) is not None:
                    end = port.end()  # "198.51.100.7:8080": the port goes with its address
                spans.append(Span(r.start, end, kind, float(r.score)))
    return spans


def _context_before(text: str, start: int, words: list[str] | None) -> bool:
    before = text[max(0, start - 30) : start].casefold()
    return any(w.casefold() in before for w in words or ())


def prefer_ids_in_context(spans: list[Span]) -> list[Span]:
    """A checksum-valid ID after its context word ("PESEL 44051401359") is an ID, not the
    phone the digits also look like; elsewhere a phone outranks it (see `patterns.KINDS`)."""
    ids = [s for s in spans if s.kind == "national_id_in_context"]
    out = []
    for s in spans:
        if s.kind == "national_id_in_context":
            out.append(Span(s.start, s.end, "national_id", s.score))
        elif not (s.kind == "phone" and any(s.start < i.end and i.start < s.end for i in ids)):
            out.append(s)
    return out


_PORT = re.compile(r":\d{1,5}\b")
_VERSION = re.compile(
    r"(?:\b(?:v|ver|version|release|build|update|ios|android|firmware)\.?\s*|\bv)$", re.I
)


# --- obfuscated emails -------------------------------------------------------------------

_OPEN, _CLOSE = r"[\[({<]", r"[\])}>]"
_AT_WORD = rf"(?:\s*{_OPEN}\s*(?:at|@)\s*{_CLOSE}\s*|\s+-at-\s+|\s+(?:at|AT)\s+|\s*[@＠]\s*)"
_DOT_WORD = (
    rf"(?:\s*{_OPEN}\s*(?:dot|\.)\s*{_CLOSE}\s*|\s+-dot-\s+|\s+(?:dot|DOT)\s+|\s?[.．。]\s?)"
)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_OBFUSCATED = re.compile(
    rf"(?<![\w.+-])(?P<local>[\w.+-]{{1,64}})(?P<at>{_AT_WORD})"
    rf"(?P<domain>{_LABEL}(?:{_DOT_WORD}{_LABEL}){{1,4}})(?![\w@＠])"
)
_DOT_SPLIT = re.compile(_DOT_WORD)
_PLAIN_AT = re.compile(r"\s+(?:at|AT)\s+$")
_MAIL_CUE = re.compile(
    r"(?:e-?mail|mail|write|contact|reach|cv|resume|questions|send|address|inbox|dm)"
    r"(?:\s(?:me|us|to))?\W{0,12}$",
    re.IGNORECASE,
)
_WORDLIKE = re.compile(r"[^\W\d_]+")


_AT_HINT = re.compile(r"[@＠\[({<]|\bat\b|-at-", re.IGNORECASE)


def obfuscated_email_spans(text: str) -> list[Span]:
    """Emails written to dodge scrapers, normalised and checked like plain ones."""
    if _AT_HINT.search(text) is None:
        return []
    spans = []
    pos = 0
    while (m := _OBFUSCATED.search(text, pos)) is not None:
        local, at, domain = m.group("local"), m.group("at"), m.group("domain")
        pos = m.start() + 1  # "me at jane(at)x.com": a rejected match may hide the real one
        if not _is_email(local, _DOT_SPLIT.split(domain)):
            continue
        if _PLAIN_AT.fullmatch(at) and not _spelled_dots(domain):
            # "deals at amazon.com": an email only after a mail cue or with an odd local part
            cue = _MAIL_CUE.search(text[max(0, m.start() - 40) : m.start()])
            if cue is None and _WORDLIKE.fullmatch(local):
                continue
        spans.append(Span(m.start(), m.end(), "email"))
        pos = m.end()
    return spans


def _spelled_dots(domain: str) -> bool:
    return any(d.strip() not in (".", "．", "。") for d in _DOT_SPLIT.findall(domain))


def _is_email(local: str, labels: list[str]) -> bool:
    from vibeforge.privacy.ner import offline_tld_extractor

    if local.startswith(".") or local.endswith("."):
        return False
    domain = ".".join(labels)
    parts = offline_tld_extractor()(domain)
    return bool(parts.suffix and parts.domain) and not labels[-1].isdigit()


# --- handles without the @ ---------------------------------------------------------------

_BARE_CUE = re.compile(
    r"(?:^|(?<=[\s(]))(?P<cue>h/t|ht|hat tip(?: to)?|cc:?|via|s/o(?: to)?|shout ?out to|"
    r"follow|ping|tag)\s+(?P<handles>(?:[A-Za-z0-9_.]{2,30}(?:,?\s+|$|(?=[.,!?;:)]))){1,3})",
    re.IGNORECASE,
)
_HANDLE_TOKEN = re.compile(r"[A-Za-z0-9_.]{2,30}")
# after these cues anything handle-shaped is a handle; after "follow", "via" … it must look
# like one (digits, underscores, inner capitals, or name parts run together)
_STRONG_BARE_CUES = {"h/t", "ht", "hat tip", "hat tip to", "cc", "cc:", "s/o", "s/o to"}


def bare_handle_spans(
    text: str, *, is_word: Callable[[str], bool], is_name_run: Callable[[str], bool]
) -> list[Span]:
    """Handles written without the @ after "h/t", "cc", "follow", "via", "s/o to" …

    `is_word(token)`: an ordinary word of the language (not a handle); `is_name_run(token)`:
    name parts run together ("jsmith", "janedoe").
    """
    spans = []
    for m in _BARE_CUE.finditer(text):
        cue = " ".join(m.group("cue").lower().split())
        strong = cue in _STRONG_BARE_CUES
        for t in _HANDLE_TOKEN.finditer(m.group("handles")):
            token = t.group().rstrip(".")
            if _looks_like_handle(token, strong=strong, is_word=is_word, is_name_run=is_name_run):
                start = m.start("handles") + t.start()
                spans.append(Span(start, start + len(token), "handle"))
            else:
                break
    return spans


def _looks_like_handle(
    token: str, *, strong: bool, is_word: Callable[[str], bool], is_name_run: Callable[[str], bool]
) -> bool:
    if len(token) < 3 or token.isdigit():
        return False
    if token[0].isupper() and token[1:].islower():
        return False  # "shoutout to Marieke van Dijk": a name, which the name pass takes whole
    if any(ch.isdigit() for ch in token) or "_" in token:
        return True
    if re.search(r"[a-z][A-Z]", token):  # JaneDoe, TheRealBecca
        return True
    if is_word(token):
        return False
    return strong or is_name_run(token.lower())
