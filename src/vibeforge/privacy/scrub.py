"""De-personalisation at the ingest boundary: only scrubbed text reaches the store.

Passes over each batch of posts, on the original text:

1. the structured pass (always on): the regex pass (`patterns.py`: @handles, URLs, emails,
   phones), Presidio's recognisers called directly (`structured.py`: phones in international
   formats, IBANs, card numbers, IP addresses, national IDs, emails), obfuscated emails and
   handles without the @ (`structured.py`), street addresses and dates of birth in context
   (`addresses.py`);
2. the name pass (`ner=True`): gazetteers of given names and surnames of many countries with
   context rules (`names.py`), names in Han script (`names_zh.py`), keeping the timeline's
   public vocabulary when one is given (`vocabulary.py`);
3. a veto (`veto=True`): the name pass's weaker guesses (a bare given name without a cue) are
   dropped where spaCy's NER model sees an organisation, a place or a product ("Samsung",
   "Chelsea", "France"). spaCy runs only on the posts that have such a guess;
4. optionally (`spacy=True`, or `locations=True`) the spaCy NER model through Presidio on
   every post, for person names the gazetteer lacks and for places. It costs most of the
   scrubber's time and its mistakes ("Pfizer", "RT") alter clean posts, so it is off by
   default.

Passes 2 and 3 read the structured pass's output (placeholders in place), and their spans are
mapped back onto the original text.

The spans of all passes are united and replaced by placeholders (see `patterns.PLACEHOLDERS`:
`@user`, `<url>`, `<email>`, `<phone>`, `<iban>`, `<card>`, `<id>`, `<ip>`, `<address>`,
`<dob>`, `<person>`, `<location>`). A `ScrubResult` carries the scrubbed text and how many of
each kind were replaced, never the values themselves.

    scrubber = Scrubber(ScrubConfig(ner=True))
    [r.text for r in scrubber.scrub_many(["thanks @jane_doe, call John at 555-201-7788"])]
    # ['thanks @user, call <person> at <phone>']
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from vibeforge.errors import VibeforgeError
from vibeforge.privacy import patterns
from vibeforge.privacy.patterns import Span

if TYPE_CHECKING:
    from vibeforge.privacy.vocabulary import Vocabulary


class ScrubInputError(VibeforgeError):
    """A text handed to the scrubber is not a string or is too long."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScrubConfig:
    ner: bool = True  # replace person names; False: the structured pass only
    spacy: bool = False  # with ner: also spaCy's NER model (slow; see the module docstring)
    veto: bool = True  # spaCy's organisations and places veto the name pass's guesses
    locations: bool = False  # also replace places (spaCy GPE/LOC) by <location>; runs spaCy
    name_rules: bool = True  # with ner: the gazetteer + context name pass (names.py)
    min_score: float = 0.4  # Presidio results below this score are ignored
    batch_size: int = 64  # texts per spaCy pipe batch
    max_chars: int = 100_000  # longer texts are refused (X's longest posts are 25,000)

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score ({self.min_score}) must be in [0, 1]; 0.4 is the default")
        if self.batch_size < 1:
            raise ValueError(f"batch_size ({self.batch_size}) must be >= 1; try 64")
        if self.max_chars < 280:
            raise ValueError(f"max_chars ({self.max_chars}) must be >= 280 (one X post)")

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds this configuration replaces."""
        kinds = [*patterns.STRUCTURED, *patterns.IDENTIFIERS]
        if self.ner:
            kinds.append("person")
            if self.locations:
                kinds.append("location")
        return tuple(kinds)


@dataclass(frozen=True, slots=True)
class ScrubResult:
    """A scrubbed text and the number of replacements per kind (never the replaced values)."""

    text: str
    counts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self.counts))

    @property
    def changed(self) -> bool:
        return bool(self.counts)


class Scrubber:
    """Batched de-personalisation; safe to share between threads once loaded."""

    def __init__(self, config: ScrubConfig | None = None) -> None:
        self.config = config or ScrubConfig()
        self._analyzer: Any = None
        self._nlp_engine: Any = None
        self._gazetteer: Any = None
        self._lock = threading.Lock()

    @property
    def uses_spacy(self) -> bool:
        return self.config.ner and (self.config.spacy or self.config.locations)

    def load(self) -> Scrubber:
        """Load the name lists (and spaCy if configured) now, not on the first batch."""
        if self.uses_spacy and self._analyzer is None:
            with self._lock:
                if self._analyzer is None:
                    from vibeforge.privacy.ner import load_analyzer

                    self._analyzer, self._nlp_engine = load_analyzer()
        if self.config.ner and self.config.name_rules and self._gazetteer is None:
            from vibeforge.privacy.names import load_gazetteer

            self._gazetteer = load_gazetteer()
        return self

    def reconfigured(self, **changes: Any) -> Scrubber:
        """A scrubber with other settings that shares this one's loaded model (no reload)."""
        other = Scrubber(replace(self.config, **changes))
        other._analyzer, other._nlp_engine = self._analyzer, self._nlp_engine
        other._gazetteer = self._gazetteer
        return other

    def scrub(self, text: str, *, vocabulary: Vocabulary | None = None) -> ScrubResult:
        return self.scrub_many([text], vocabulary=vocabulary)[0]

    def scrub_many(
        self, texts: Sequence[str], *, vocabulary: Vocabulary | None = None
    ) -> list[ScrubResult]:
        """Scrub a batch of texts; the output is aligned with the input.

        `vocabulary`: the public vocabulary of the timeline the texts come from (see
        `vocabulary.Vocabulary`); names it holds are kept.
        """
        cleaned = self._check(texts)
        results = []
        for text, spans in zip(cleaned, self._spans(cleaned, vocabulary), strict=True):
            out, counts = patterns.replace_spans(text, spans)
            results.append(ScrubResult(out, MappingProxyType(dict(counts))))
        return results

    def spans_many(
        self, texts: Sequence[str], *, vocabulary: Vocabulary | None = None
    ) -> list[list[Span]]:
        """Merged PII spans of each text (offsets into the text after `clean_unicode`)."""
        return self._spans(self._check(texts), vocabulary)

    def find(self, text: str) -> list[str]:
        """Kinds of PII still present in `text` (empty when clean): the guard's PII re-check."""
        return sorted({s.kind for s in self.spans_many([text])[0]})

    def _check(self, texts: Sequence[str]) -> list[str]:
        if isinstance(texts, str):
            raise ScrubInputError("scrub_many takes a list of texts, not one string")
        out = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ScrubInputError(f"text #{i} is {type(text).__name__}, not str")
            if len(text) > self.config.max_chars:
                raise ScrubInputError(
                    f"text #{i} has {len(text):,} characters, over max_chars "
                    f"({self.config.max_chars:,}); raise ScrubConfig.max_chars or split it"
                )
            out.append(patterns.clean_unicode(text))
        return out

    def _spans(self, texts: list[str], vocabulary: Vocabulary | None) -> list[list[Span]]:
        if self.config.ner and texts:
            self.load()
        found = [patterns.merge(self._structured(t)) for t in texts]
        if not (self.config.ner and texts):
            return found
        # names read the structured pass's output, so "mail a@b.co https://x.y" is never a name
        masked = [patterns.replace_spans(t, s)[0] for t, s in zip(texts, found, strict=True)]
        extra: list[list[Span]] = [[] for _ in masked]
        vetoes: list[list[Span]] = [[] for _ in masked]
        if self.uses_spacy:
            extra, vetoes = self._ner_spans(masked, vocabulary)
        if self.config.name_rules:
            from vibeforge.privacy.names import GUESS, SURE, name_spans
            from vibeforge.privacy.names_zh import han_name_spans

            extra = [
                more
                + han_name_spans(t)
                + [
                    n
                    for n in name_spans(t, self._gazetteer, vocabulary=vocabulary)
                    if n.score >= SURE or not _overlaps(n, where)
                    # candidates wait for spaCy's word (the veto); the full NER run has its own
                    if n.score >= GUESS or (self.config.veto and not self.uses_spacy)
                ]
                for t, more, where in zip(masked, extra, vetoes, strict=True)
            ]
        if self.config.veto and not self.uses_spacy:
            extra = _veto_guesses(masked, extra, batch_size=self.config.batch_size)
        return [
            patterns.merge(spans + patterns.map_back(text, more, spans))
            for text, spans, more in zip(texts, found, extra, strict=True)
        ]

    def _structured(self, text: str) -> list[Span]:
        from vibeforge.privacy import addresses, structured

        spans = patterns.regex_spans(text)
        spans += structured.presidio_spans(text)
        spans += structured.obfuscated_email_spans(text)
        spans += addresses.address_spans(text)
        spans += addresses.dob_spans(text)
        g = self._gazetteer
        spans += structured.bare_handle_spans(
            text,
            is_word=g.is_word if g is not None else _is_stop_word,
            is_name_run=g.is_name_run if g is not None else _never,
        )
        return patterns.drop_placeholders(text, structured.prefer_ids_in_context(spans))

    def _ner_spans(
        self, texts: list[str], vocabulary: Vocabulary | None
    ) -> tuple[list[list[Span]], list[list[Span]]]:
        """(PII spans, place spans) of each text; places veto the name pass's guesses."""
        from vibeforge.privacy.ner import ENTITY_KINDS, LANGUAGE

        self.load()
        kinds = self.config.kinds
        wanted = {e for e, kind in ENTITY_KINDS.items() if kind in kinds}
        if self.config.name_rules:
            wanted.add("LOCATION")  # spaCy runs for people anyway; places cost nothing more
        entities = sorted(wanted)
        out, vetoes = [], []
        batches = self._nlp_engine.process_batch(
            texts, language=LANGUAGE, batch_size=self.config.batch_size
        )
        for text, artifacts in batches:
            results = self._analyzer.analyze(
                text=text,
                language=LANGUAGE,
                entities=entities,
                nlp_artifacts=artifacts,
                score_threshold=self.config.min_score,
            )
            spans = [
                Span(r.start, r.end, ENTITY_KINDS[r.entity_type], float(r.score))
                for r in results
                if r.end > r.start
                and not _unlikely_name(r.entity_type, text[r.start : r.end], vocabulary)
            ]
            spans = patterns.drop_placeholders(text, spans)
            out.append([s for s in spans if s.kind in kinds])
            vetoes.append([s for s in spans if s.kind == "location"])
        return out, vetoes


def _veto_guesses(
    texts: list[str], spans: list[list[Span]], *, batch_size: int
) -> list[list[Span]]:
    """Drop guessed names that spaCy sees as an organisation, place or product, and keep
    candidates only where it sees a person; spaCy runs only on texts with either."""
    from vibeforge.privacy.names import GUESS, SURE
    from vibeforge.privacy.ner import entity_spans

    todo = [i for i, found in enumerate(spans) if any(s.score < SURE for s in found)]
    if not todo:
        return spans
    entities = entity_spans([texts[i] for i in todo], batch_size=batch_size)
    out = list(spans)
    for i, (others, people) in zip(todo, entities, strict=True):
        out[i] = [
            s
            for s in spans[i]
            if s.score >= SURE
            or (s.score >= GUESS and not _hits(s, others))
            or (s.score < GUESS and _hits(s, people))
        ]
    return out


def _hits(span: Span, ranges: list[tuple[int, int]]) -> bool:
    return any(span.start < b and a < span.end for a, b in ranges)


def _overlaps(span: Span, others: list[Span]) -> bool:
    return any(span.start < o.end and o.start < span.end for o in others)


def _unlikely_name(entity: str, value: str, vocabulary: Vocabulary | None) -> bool:
    if entity != "PERSON":
        return False
    # the small model tags seat, gate and flight numbers ("Seat 9F", "UA508") as people,
    # and "RT"; a name whose every word is the timeline's vocabulary is public
    words = value.split()
    if any(ch.isdigit() for ch in value) or value.isupper():
        return True
    return vocabulary is not None and all(vocabulary.is_public(w) for w in words)


def _is_stop_word(word: str) -> bool:
    from vibeforge.privacy.name_lists import key, stop_words

    return key(word) in stop_words()


def _never(word: str) -> bool:
    return False
