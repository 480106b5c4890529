"""De-personalisation at the ingest boundary: only scrubbed text reaches the store.

Passes over each batch of posts, on the original text:

1. a regex pass (always on, microseconds a post) for @handles, URLs, emails and phone numbers;
2. an NER pass (`ner=True`) through Presidio and spaCy for person names (and locations when
   `locations=True`), with Presidio's own email, phone, URL and @handle recognizers as a second
   opinion on the structured kinds. spaCy is loaded lazily, once per Scrubber, on first use;
3. a name pass (`ner=True` and `name_rules=True`): a census-name gazetteer with context rules
   (`names.py`) for the names the small model misses ("Thanks Mark!", "Brittany said").

Passes 2 and 3 read the regex pass's output (placeholders in place), and their spans are
mapped back onto the original text.

The spans of both passes are united and replaced by placeholders (see `patterns.PLACEHOLDERS`:
`@user`, `<url>`, `<email>`, `<phone>`, `<person>`, `<location>`). A `ScrubResult` carries the
scrubbed text and how many of each kind were replaced, never the values themselves.

    scrubber = Scrubber(ScrubConfig(ner=True))
    [r.text for r in scrubber.scrub_many(["thanks @jane_doe, call John at 555-201-7788"])]
    # ['thanks @user, call <person> at <phone>']
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from vibeforge.errors import VibeforgeError
from vibeforge.privacy import patterns
from vibeforge.privacy.patterns import Span


class ScrubInputError(VibeforgeError):
    """A text handed to the scrubber is not a string or is too long."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScrubConfig:
    ner: bool = True  # run Presidio + spaCy for names; False: the regex pass only (fast)
    locations: bool = False  # also replace places (spaCy GPE/LOC) by <location>
    name_rules: bool = True  # with ner: also the gazetteer + context name pass (names.py)
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
        kinds = list(patterns.STRUCTURED)
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

    def load(self) -> Scrubber:
        """Load the NER model now (it is otherwise loaded on the first NER batch)."""
        if self.config.ner and self._analyzer is None:
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

    def scrub(self, text: str) -> ScrubResult:
        return self.scrub_many([text])[0]

    def scrub_many(self, texts: Sequence[str]) -> list[ScrubResult]:
        """Scrub a batch of texts; the output is aligned with the input."""
        cleaned = self._check(texts)
        results = []
        for text, spans in zip(cleaned, self._spans(cleaned), strict=True):
            out, counts = patterns.replace_spans(text, spans)
            results.append(ScrubResult(out, MappingProxyType(dict(counts))))
        return results

    def spans_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """Merged PII spans of each text (offsets into the text after `clean_unicode`)."""
        return self._spans(self._check(texts))

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

    def _spans(self, texts: list[str]) -> list[list[Span]]:
        found = [patterns.merge(patterns.regex_spans(t)) for t in texts]
        if not (self.config.ner and texts):
            return found
        # NER reads the regex pass's output, so "mail a@b.co https://x.y" is never one "name"
        masked = [patterns.replace_spans(t, s)[0] for t, s in zip(texts, found, strict=True)]
        extra, vetoes = self._ner_spans(masked)
        if self.config.name_rules:
            from vibeforge.privacy.names import SURE, name_spans

            extra = [
                more
                + [
                    n
                    for n in name_spans(t, self._gazetteer)
                    if n.score >= SURE or not _overlaps(n, where)
                ]
                for t, more, where in zip(masked, extra, vetoes, strict=True)
            ]
        return [
            patterns.merge(spans + patterns.map_back(text, more, spans))
            for text, spans, more in zip(texts, found, extra, strict=True)
        ]

    def _ner_spans(self, texts: list[str]) -> tuple[list[list[Span]], list[list[Span]]]:
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
                if r.end > r.start and not _unlikely_name(r.entity_type, text[r.start : r.end])
            ]
            spans = patterns.drop_placeholders(text, spans)
            out.append([s for s in spans if s.kind in kinds])
            vetoes.append([s for s in spans if s.kind == "location"])
        return out, vetoes


def _overlaps(span: Span, others: list[Span]) -> bool:
    return any(span.start < o.end and o.start < span.end for o in others)


def _unlikely_name(entity: str, value: str) -> bool:
    # the small model tags seat, gate and flight numbers ("Seat 9F", "UA508") as people
    return entity == "PERSON" and any(ch.isdigit() for ch in value)
