"""The name pass's word lists: given names and surnames of many countries, and stop words.

- US census first names and surnames from the PyPI package `names` (MIT);
- given names and surnames of 105 countries from the PyPI package `names-dataset` (MIT; 730k
  first and 980k last names with their rank per country, aggregated from a 2021 dump of public
  Facebook profiles: only name frequencies, nothing linked to a person). Its long tail is
  noisy ("Apple", "The", "Good" are someone's first name somewhere), so only names ranked in
  the top `FIRST_RANK` / `LAST_RANK` of some country are kept. Reading its pickles costs
  ~10 s and ~1 GB once; the kept sets are cached as a small text file (see `cache_dir`);
- stop words of the languages the scrubber sees (spaCy's lists, already installed): a stop
  word is never a name on its own ("Die", "La", "Il", "The");
- the most common Chinese surnames, for names in Han script (see `names_zh.py`).
"""

from __future__ import annotations

import gzip
import importlib.metadata
import importlib.resources
import importlib.util
import os
import pickle
from functools import cache
from pathlib import Path

from vibeforge.errors import VibeforgeError

FIRST_RANK = 3000  # a given name in some country's top 3,000
COMMON_RANK = 400  # a given name in some country's top 400: a name even at a sentence start
LAST_RANK = 3000  # a surname in some country's top 3,000
STOP_LANGUAGES = ("en", "de", "nl", "it", "pl", "fr", "es", "pt", "ru", "tr", "sv", "da")
_CENSUS = {"first": ("dist.male.first", "dist.female.first"), "last": ("dist.all.last",)}


class GazetteerUnavailableError(VibeforgeError):
    """The name lists (PyPI packages `names` and `names-dataset`) are not installed."""


def key(word: str) -> str:
    """Lookup form: casefolded, without apostrophes ("O'Brien" -> "obrien", as in the census)."""
    return word.casefold().replace("'", "").replace("’", "")


def census_names() -> dict[str, frozenset[str]]:
    try:
        root = importlib.resources.files("names")
        return {
            kind: frozenset(
                key(line.split()[0])
                for f in files
                for line in root.joinpath(f).read_text(encoding="utf-8").splitlines()
                if line.strip()
            )
            for kind, files in _CENSUS.items()
        }
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise GazetteerUnavailableError(
            "the name gazetteer needs the PyPI package `names` (census name lists); "
            "run `pip install names` or scrub with ScrubConfig(ner=False)"
        ) from exc


def cache_dir() -> Path:
    """Where the kept names-dataset sets are cached: $VIBEFORGE_CACHE_DIR, else
    $XDG_CACHE_HOME/vibeforge, else ~/.cache/vibeforge."""
    explicit = os.environ.get("VIBEFORGE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vibeforge"


def world_names() -> dict[str, dict[str, int]]:
    """Given names and surnames ranked high in some country (names-dataset), with their best
    rank in any country, cached."""
    try:
        version = importlib.metadata.version("names-dataset")
    except importlib.metadata.PackageNotFoundError as exc:
        raise GazetteerUnavailableError(
            "the multilingual name lists need the PyPI package `names-dataset`; "
            "run `pip install names-dataset` or scrub with ScrubConfig(ner=False)"
        ) from exc
    path = cache_dir() / f"names-dataset-{version}-f{FIRST_RANK}-l{LAST_RANK}.tsv.gz"
    if path.exists():
        first, _, last = gzip.decompress(path.read_bytes()).decode("utf-8").partition("\n\n")
        return {"first": _ranks(first), "last": _ranks(last)}
    spec = importlib.util.find_spec("names_dataset")
    assert spec is not None and spec.origin is not None
    folder = Path(spec.origin).parent / "v3"
    kept: dict[str, dict[str, int]] = {}
    for kind, file, limit in (
        ("first", "first_names.pkl.gz", FIRST_RANK),
        ("last", "last_names.pkl.gz", LAST_RANK),
    ):
        with gzip.open(folder / file, "rb") as f:
            table = pickle.load(f)  # the package's own data file, read as its reader does
        best: dict[str, int] = {}
        for name, info in table.items():
            ranks = [r for r in info["rank"].values() if r is not None and r <= limit]
            if ranks and " " not in name:
                k = key(name)
                best[k] = min(best.get(k, limit), *ranks)
        kept[kind] = best
        del table
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "\n\n".join(
            "\n".join(f"{n}\t{r}" for n, r in sorted(kept[kind].items()))
            for kind in ("first", "last")
        )
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(gzip.compress(body.encode("utf-8")))
        tmp.replace(path)
    except OSError:
        pass  # a read-only home: the lists are rebuilt next time
    return kept


def _ranks(block: str) -> dict[str, int]:
    out = {}
    for line in block.split("\n"):
        name, _, rank = line.partition("\t")
        if name:
            out[name] = int(rank)
    return out


@cache
def stop_words() -> frozenset[str]:
    """Stop words of `STOP_LANGUAGES` (spaCy's lists), in lookup form."""
    import importlib

    words: set[str] = set()
    for lang in STOP_LANGUAGES:
        module = importlib.import_module(f"spacy.lang.{lang}.stop_words")
        words |= {key(w) for w in module.STOP_WORDS}
    return frozenset(words)


# the ~100 most common Chinese surnames (they cover most of China's population)
CHINESE_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严覃武戴莫孔向汤"
)
