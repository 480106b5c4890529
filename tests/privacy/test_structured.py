"""Structured identifiers beyond the regex pass: Presidio's recognisers, obfuscated emails,
handles without the @, addresses, dates of birth; and what must stay (RT, ellipses, prices)."""

from __future__ import annotations

import pytest

from vibeforge.privacy.scrub import Scrubber


@pytest.mark.parametrize(
    "email",
    [
        "jane [at] example [dot] com",
        "jane(at)example.com",
        "jane at example dot com",
        "jane @ example . com",
        "jane＠example.com",
        "jane＠example．com",
        "jane {at} example {dot} co {dot} uk",
        "jane AT example DOT com",
        "jane (at) example (dot) com",
        "jane<at>example<dot>org",
        "jane [@] example [.] com",
        "j.doe -at- example -dot- de",
    ],
)
def test_obfuscated_emails_are_replaced_whole(regex_scrubber: Scrubber, email: str) -> None:
    assert regex_scrubber.scrub(f"write to {email} please").text == "write to <email> please"


def test_a_bare_at_needs_a_mail_cue_or_an_odd_local_part(regex_scrubber: Scrubber) -> None:
    assert regex_scrubber.scrub("great deals at amazon.com today").text == (
        "great deals at <url> today"
    )
    assert regex_scrubber.scrub("email me: jane at gmail.com").text == "email me: <email>"
    assert regex_scrubber.scrub("j.doe85 at gmail.com").text == "<email>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IBAN DE89 3704 0044 0532 0130 00 pls", "IBAN <iban> pls"),
        ("iban: GB82WEST12345698765432", "iban: <iban>"),
        ("card 4111 1111 1111 1111 declined", "card <card> declined"),
        ("charged on 2221 0000 0000 0009!", "charged on <card>!"),
        ("server at 2001:db8::ff00:42:8329 is down", "server at <ip> is down"),
        ("ssh 203.0.113.45:8080 now", "ssh <ip> now"),
        ("PESEL 44051401359 do formularza", "PESEL <id> do formularza"),
        ("codice fiscale RSSMRA85T10A562S", "codice fiscale <id>"),
        ("mi DNI es 12345678Z", "mi DNI es <id>"),
        ("bel me op +31 6 12345678", "bel me op <phone>"),
        ("ruf an: +49 (0)151 2345 6789", "ruf an: <phone>"),
    ],
)
def test_presidio_recognisers_find_identifiers(
    regex_scrubber: Scrubber, text: str, expected: str
) -> None:
    assert regex_scrubber.scrub(text).text == expected


def test_checksums_are_checked(regex_scrubber: Scrubber) -> None:
    # one digit off: the Luhn and mod-97 checks fail, so these stay (as order numbers would)
    assert regex_scrubber.scrub("ref 4111 1111 1111 1112").text == "ref 4111 1111 1111 1112"
    assert "<iban>" not in regex_scrubber.scrub("DE89 3704 0044 0532 0130 01").text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("party at 742 Evergreen Terrace tonight", "party at <address> tonight"),
        ("moved to 221B Baker Street, London NW1 6XE!", "moved to <address>!"),
        ("Wir sind umgezogen: Hauptstraße 5, 10115 Berlin", "Wir sind umgezogen: <address>"),
        (
            "we zijn verhuisd naar Keizersgracht 123, 1015 CJ Amsterdam",
            "we zijn verhuisd naar <address>",
        ),
        ("festa da me, Via Roma 10, 00184 Roma", "festa da me, <address>"),
        ("colis bloqué au 12 rue de la Paix, 75002 Paris", "colis bloqué au <address>"),
        ("paczka czeka na ul. Długa 17/4", "paczka czeka na <address>"),
    ],
)
def test_street_addresses(regex_scrubber: Scrubber, text: str, expected: str) -> None:
    assert regex_scrubber.scrub(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("born on 03/12/1990, now I feel old", "born on <dob>, now I feel old"),
        ("DOB: 1990-03-12", "DOB: <dob>"),
        ("geboren am 12. März 1990", "geboren am <dob>"),
        ("née le 4 juillet 1988", "née le <dob>"),
        ("出生日期：1990年3月12日", "出生日期：<dob>"),
    ],
)
def test_dates_of_birth_in_context(regex_scrubber: Scrubber, text: str, expected: str) -> None:
    assert regex_scrubber.scrub(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("h/t jsmith for the link", "h/t @user for the link"),
        ("cc jane_doe92 you were right", "cc @user you were right"),
        ("follow TheRealBecca for more", "follow @user for more"),
        ("follow jsmith for more", "follow @user for more"),
        ("A study in timing. RT@Dragons_Blood lol", "A study in timing. RT@user lol"),
    ],
)
def test_handles_without_the_at(ner_scrubber: Scrubber, text: str, expected: str) -> None:
    assert ner_scrubber.scrub(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "follow me for more",
        "follow the money",
        "RT if your flight got delayed too lol",
        "self driving cars....and nobody asked for them",
        "Waited 45 mins for the 7:15...and it never came",
        "Paid $1,299.99 and €19,99 and R$ 9.999 for this",
        "UA 508 boarding at 10:45, gate B12; LH 454 at 19:30 Uhr",
        "concert moved to 03/12/2026, doors at 7",
        "version 1.2.3.4 ships in 2026",
        "Christmas Eve flight to Denver, wish me luck",
        "Alitalia AZ 610 per New York cancellato",
    ],
)
def test_the_vibe_stays(ner_scrubber: Scrubber, text: str) -> None:
    assert ner_scrubber.scrub(text).text == text
