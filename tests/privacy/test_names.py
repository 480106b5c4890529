"""The name pass: census gazetteer + context rules, alone and inside the scrubber."""

from __future__ import annotations

import pytest

from vibeforge.privacy.names import (
    SURE,
    Gazetteer,
    common_name_words,
    key,
    load_gazetteer,
    name_spans,
)
from vibeforge.privacy.scrub import Scrubber


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


def found(text: str, g: Gazetteer) -> list[str]:
    return [text[s.start : s.end] for s in name_spans(text, g)]


def test_census_and_world_lists_are_loaded_and_normalised(gazetteer: Gazetteer) -> None:
    assert len(gazetteer.first) > 50000 and len(gazetteer.last) > 150000
    assert gazetteer.is_first("Małgorzata") and gazetteer.is_first("Дмитрий")
    assert gazetteer.is_last("Wiśniewska") and gazetteer.is_last("Иванов")
    assert gazetteer.is_common("Die") and gazetteer.is_common("La")  # stop words
    assert gazetteer.is_first("Brittany") and gazetteer.is_last("O'Brien")
    assert gazetteer.is_last("Payne-Stone")  # every part a surname
    assert key("O’Neill") == "oneill"
    assert gazetteer.is_common("Will") and not gazetteer.is_common("Brittany")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Brittany said Lakers stock is up", ["Brittany"]),
        ("Thanks Mark! Seat 28E was perfect", ["Mark"]),
        ("Congrats to coach Guy Davies on win number 841!", ["Guy Davies"]),
        ("(ask for Dawn Ruiz), or write to <email>", ["Dawn Ruiz"]),
        ("Arthur Payne-Stone scored twice tonight", ["Arthur Payne-Stone"]),
        ("my sister Kirsty works for Apple", ["Kirsty"]),
        ("thanks jessica, see you", ["jessica"]),
        ("Did Tom Brady's team win?", ["Tom Brady"]),
        ("Will the flight leave in May? Grace period is over", []),
        ("Classic Apple. The Apple Store in Denver is shut", []),
    ],
)
def test_rules(gazetteer: Gazetteer, text: str, names: list[str]) -> None:
    assert found(text, gazetteer) == names


def test_full_names_and_strong_cues_are_sure(gazetteer: Gazetteer) -> None:
    spans = name_spans("Jessica said hi to my sister Georgia and Krystal Winters", gazetteer)
    assert [s.score >= SURE for s in spans] == [True, True, True]
    (alone,) = name_spans("Brittany was there", gazetteer)
    assert alone.score < SURE  # a bare first name is a guess that a place can veto


def test_common_name_words_are_the_lowercase_ones(gazetteer: Gazetteer) -> None:
    texts = ["will you go", "it will rain", "I will", "Will Smith", "jessica lol"]
    assert common_name_words(texts, gazetteer=gazetteer) == {"will"}  # jessica: once only


def test_scrubber_runs_the_name_pass_with_ner(ner_scrubber: Scrubber) -> None:
    text = "Thanks Reece! Brittany said the lounge in Denver was shut"
    assert ner_scrubber.scrub(text).text == (
        "Thanks <person>! <person> said the lounge in Denver was shut"
    )
    without = ner_scrubber.reconfigured(name_rules=False)
    assert without._gazetteer is ner_scrubber._gazetteer
    assert without.scrub(text).text == text  # no spaCy by default: the name pass is all


def test_places_veto_guesses_but_not_cued_names(
    ner_scrubber: Scrubber, gazetteer: Gazetteer
) -> None:
    # a lone given name after a locative is a place; spaCy's places and teams veto guesses
    assert found("we flew to Savannah today", gazetteer) == []
    assert found("Chelsea won again, what a game", gazetteer) == ["Chelsea"]
    assert ner_scrubber.scrub("Chelsea won again, what a game").text == (
        "Chelsea won again, what a game"
    )
    assert ner_scrubber.reconfigured(veto=False).scrub("Chelsea won again").text == (
        "<person> won again"
    )
    assert ner_scrubber.scrub("my sister Georgia works there").text == (
        "my sister <person> works there"
    )
