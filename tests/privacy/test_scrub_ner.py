"""The NER pass (Presidio + the packaged spaCy model): names, locations, offline behaviour."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

import pytest

from vibeforge.privacy.ner import offline_tld_extractor, spacy_model_dir
from vibeforge.privacy.scrub import Scrubber


def test_names_are_replaced_with_the_structured_kinds(ner_scrubber: Scrubber) -> None:
    result = ner_scrubber.scrub("thanks @jane_doe, call John Smith at 555-201-7788")
    assert result.text == "thanks @user, call <person> at <phone>"
    assert dict(result.counts) == {"handle": 1, "person": 1, "phone": 1}


def test_titled_names_are_caught(ner_scrubber: Scrubber) -> None:
    text = "had coffee with Dr Jason Thorpe before boarding"
    assert ner_scrubber.scrub(text).text == "had coffee with Dr <person> before boarding"
    spacy = ner_scrubber.reconfigured(spacy=True)  # Presidio's title rule takes the title too
    assert spacy.scrub(text).text == "had coffee with <person> before boarding"


def test_ner_does_not_swallow_structured_spans(ner_scrubber: Scrubber) -> None:
    # the small model tags "j.s@example.co.uk https://t.co/abc" as a PERSON on the raw text
    text = "or mail j.s@example.co.uk https://t.co/abc."
    assert ner_scrubber.scrub(text).text == "or mail <email> <url>."


def test_seat_and_flight_numbers_are_not_people(ner_scrubber: Scrubber) -> None:
    text = "Thanks! Seat 9F was perfect on flight AA2913."
    assert ner_scrubber.scrub(text).text == text


def test_locations_only_when_configured(ner_scrubber: Scrubber) -> None:
    text = "Landed in Paris after six hours in Chicago."
    assert ner_scrubber.scrub(text).text == text
    with_places = ner_scrubber.reconfigured(locations=True)  # shares the loaded model
    assert with_places._nlp_engine is ner_scrubber._nlp_engine
    out = with_places.scrub(text)
    assert out.text == "Landed in <location> after six hours in <location>."
    assert dict(out.counts) == {"location": 2}


def test_find_is_the_guards_pii_recheck(ner_scrubber: Scrubber) -> None:
    assert ner_scrubber.find("@user loved <person>'s take, see <url>") == []
    assert ner_scrubber.find("ask Maria Garcia at maria@gmail.com") == ["email", "person"]


def test_batches_larger_than_batch_size_stay_aligned(ner_scrubber: Scrubber) -> None:
    texts = [
        f"post {i} by @writer{i}" if i % 2 else f"Meet Sarah Jones, day {i}" for i in range(150)
    ]
    out = ner_scrubber.scrub_many(texts)
    assert len(out) == 150
    assert out[1].text == "post 1 by @user"
    assert out[0].text == "Meet <person>, day 0"


def test_email_validation_uses_the_bundled_suffix_list_offline(
    monkeypatch: pytest.MonkeyPatch, ner_scrubber: Scrubber
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)  # tldextract's default resolves first
    offline_tld_extractor.cache_clear()
    assert offline_tld_extractor()("mail.example.co.uk").suffix == "co.uk"
    assert ner_scrubber.scrub("write ops@mail.example.co.uk").text == "write <email>"


def test_model_is_found_in_the_installed_package() -> None:
    folder = spacy_model_dir()
    assert (folder / "config.cfg").exists()
    assert (folder / "ner").is_dir()


@pytest.mark.slow
def test_loading_from_scratch_needs_no_network() -> None:
    """A fresh process with sockets disabled loads Presidio + spaCy and scrubs an email."""
    code = textwrap.dedent(
        """
        import socket
        def refuse(*a, **k):
            raise OSError("network disabled by the test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from vibeforge.privacy.scrub import Scrubber, ScrubConfig
        print(Scrubber(ScrubConfig(ner=True)).scrub("Ask John Smith: js@corp.example.com").text)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "Ask <person>: <email>"
