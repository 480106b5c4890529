"""Names beyond English: world name lists, particles, titles, cues in 12 languages, Han and
Cyrillic script, names in emoji and hashtags, lowercase names after "my friend"/"with"/"cc"."""

from __future__ import annotations

import pytest

from vibeforge.privacy.scrub import Scrubber


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Gestern mit Jürgen Schäfer beim Bäcker", "Gestern mit <person> beim Bäcker"),
        ("Sjoerd van der Berg zegt dat het regent", "<person> zegt dat het regent"),
        ("Cena con Alessandro Del Piero, che risate", "Cena con <person>, che risate"),
        ("ayer con Carmen del Río en Madrid", "ayer con <person> en Madrid"),
        ("Kawa z Małgorzata Kowalska na rynku", "Kawa z <person> na rynku"),
        ("Frau Böhm vom Bürgeramt war nett", "Frau <person> vom Bürgeramt war nett"),
        ("la Sra. Castillo del banco no contesta", "la Sra. <person> del banco no contesta"),
        ("Вчера ужинал с Дмитрий Иванов", "Вчера ужинал с <person>"),
        ("昨天和王伟一起吃饭，很开心", "昨天和<person>一起吃饭，很开心"),
        ("我的朋友Liu Yang买了新手机", "我的朋友<person>买了新手机"),
        ("Teşekkürler Mehmet!", "Teşekkürler <person>!"),
        ("🎉Jaxon🎉 finally got the job", "🎉<person>🎉 finally got the job"),
        ("#ThankYouTyler for covering my shift", "#ThankYou<person> for covering my shift"),
        ("my friend tyler swears it works", "my friend <person> swears it works"),
        ("having a pint with lachlan and the lads", "having a pint with <person> and the lads"),
        ("il mio amico giuseppe ha un iPhone", "il mio amico <person> ha un iPhone"),
        ("Íñigo and I are going to the Bernabéu", "<person> and I are going to the Bernabéu"),
    ],
)
def test_names_beyond_english(ner_scrubber: Scrubber, text: str, expected: str) -> None:
    assert ner_scrubber.scrub(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "Der Winter in Berlin ist einfach grau",
        "Natale a Firenze, che atmosfera",
        "Le PSG gagne 3-0 contre Marseille",
        "去上海的G7次高铁晚点了30分钟",
        "Lufthansa LH 454 nach San Francisco pünktlich gelandet",
        "Classic Apple. The Apple Store in Denver is shut",
    ],
)
def test_common_words_and_places_are_not_names(ner_scrubber: Scrubber, text: str) -> None:
    assert ner_scrubber.scrub(text).text == text
