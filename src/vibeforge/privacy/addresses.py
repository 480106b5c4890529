"""Street addresses in the common Western formats, and dates of birth in context.

No kept library parses addresses of many countries offline (libpostal needs a 2 GB model and
a C library; `usaddress` is US-only and tags any text as an address), so these are patterns:

- number first (US, UK, FR, AU): "742 Evergreen Terrace", "221B Baker Street",
  "12 rue de la Paix", "1600 Pennsylvania Ave NW";
- street first (DE, NL, IT, ES, PL, PT, TR, RU): "Hauptstraße 5", "Keizersgracht 123",
  "Via Roma 10", "C/ Alcalá 20", "ul. Marszałkowska 10/12", "Atatürk Cad. No: 15";
- each followed, when present, by a unit ("Apt 4B", "3º B", "kv. 4") and a postcode and city
  ("10115 Berlin", "London SW1A 2AA", "Washington, DC 20500", "1015 CJ Amsterdam").

A street needs a street word (Street, Ave, Straße/-str., gracht, Via, Calle, rue, ul., Cad …)
and a house number, so "5th street" or "Main Street" alone are not addresses.

Dates of birth are dates (numeric, or with a month name in one of 11 languages) within a
few words after a birth cue ("born", "DOB", "geboren am", "né le", "nato il", "urodzony",
"дата рождения", "出生日期"), or before "doğumluyum". Other dates are left alone.
"""

from __future__ import annotations

import re

from vibeforge.privacy.patterns import Span

_UP = r"[A-ZÀ-ÖØ-ÞĀ-ſА-Я]"  # an upper-case letter, Latin or Cyrillic
_W = r"[^\W\d_]"
_NAME = rf"{_UP}{_W}*(?:[-'’]{_W}+)*\.?"  # a capitalised word of a street name
_NUM = r"\d{1,5}[A-Za-z]?(?:\s?(?:bis|ter))?(?:[/-]\d{1,4}[A-Za-z]?)?"

_EN_TYPES = (
    r"Street|St|Road|Rd|Avenue|Ave|Av|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|"
    r"Terrace|Way|Close|Crescent|Parkway|Pkwy|Highway|Hwy|Square|Sq|Row|Mews|Hill|Gardens|"
    r"Grove|Walk|Kingsway|Circle|Cir|Trail|Broadway"
)
_FR_TYPES = r"rue|avenue|av\.|boulevard|bd|place|allée|impasse|chemin|quai|cours|route"
_EN_NUMBER_FIRST = re.compile(
    rf"(?<![\w/.,-])(?:(?:Flat|Apt|Unit|Suite)\s\w{{1,4}},?\s)?{_NUM}\s"
    rf"(?:(?:{_NAME}|\d{{1,3}}(?:st|nd|rd|th))\s){{0,3}}"
    rf"(?:{_EN_TYPES})\.?(?:\s(?:NW|NE|SW|SE|N|S|E|W))?(?![\w'])"
    rf"|(?<![\w/.,-]){_NUM}\s(?:(?:bis|ter)\s)?(?:{_FR_TYPES})\s(?:(?:de|du|des|la|le|l'|d')\s?)*"
    rf"{_NAME}(?:[\s-]{_NAME}){{0,3}}",
)
# street-first: a capitalised name with a street word inside it or before it, then a number
_STREET_SUFFIX = (
    r"(?:straße|strasse|str\.|weg|gasse|allee|platz|ring|damm|ufer|straat|gracht|laan|plein|kade|"
    r"singel|steeg|dreef|dijk)"
)
_STREET_WORD = (
    r"(?:Via|Viale|Corso|Piazza|Largo|Vicolo|Calle|C/|Avenida|Avda\.|Av\.|Paseo|Plaza|Rua|"
    r"Travessa|Alameda|Praça|Rodovia|ul\.|al\.|os\.|pl\.|Am|An der|Auf dem|Im|Laan van|"
    r"ул\.|улица|пр\.|проспект|пер\.)"
)
_STREET_AFTER = (  # street words after the name: Atatürk Cad., Невский проспект
    r"(?:Cad\.|Caddesi|Cd\.|Sok\.|Sokak|Sokağı|Bulvarı|Mah\.|Mahallesi|"
    r"проспект|улица|переулок|шоссе|бульвар|набережная)"
)
_STREET_FIRST = re.compile(
    rf"(?<![\w-])(?:"
    rf"{_UP}{_W}*{_STREET_SUFFIX}"  # Hauptstraße, Keizersgracht, Lindenallee
    rf"|{_STREET_WORD}\s(?:(?:de|del|della|dei|delle|di|da|das|do|dos|la|las|los|van|der|den)"
    rf"\s)*{_NAME}(?:\s{_NAME}){{0,2}}"  # Via dei Mille, Calle Mayor, ul. Długa
    rf"|{_NAME}(?:\s{_NAME})?\s{_STREET_AFTER}"  # Atatürk Cad., Невский проспект
    rf")(?:,?\s(?:д\.|No:?|Nº|nº|n\.)?\s?){_NUM}(?!\d)",
)
_TAIL = re.compile(
    r"(?:,?\s(?:Apt\.?|apto\.?|Apto\.?|кв\.|Flat|Unit|Suite)\s?\w{1,4}"  # unit
    r"|,\s\d{1,2}º\s?[A-Z]?"  # Spanish floor and door: 3º B
    r")?"
    r"(?:,?\s(?:\d{4}\s?[A-Z]{2}|\d{2}-\d{3}|\d{5}|\d{4})\s" + _NAME + r"(?:\s" + _NAME + r")?"
    r"|,\s" + _NAME + r"(?:\s" + _NAME + r")?(?:,\s[A-Z]{2})?\s(?:\d{5}(?:-\d{4})?|"
    r"[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2})"  # Washington, DC 20500 / London SW1A 2AA
    r"|\s[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}"  # Bristol BS1 4DJ (city already in the street run)
    r"|,\s" + _NAME + r"(?:\s" + _NAME + r")?(?=[\s!.,?)]|$)"  # , Milano / , Rio de Janeiro
    r")?"
)
_CITY_JOINERS = re.compile(r"\s(?:de|do|da)\s")


def address_spans(text: str) -> list[Span]:
    """Street addresses (with their unit, postcode and city when written after them)."""
    if not any(ch.isdigit() for ch in text):
        return []
    spans = []
    for pattern in (_EN_NUMBER_FIRST, _STREET_FIRST):
        for m in pattern.finditer(text):
            end = m.end()
            tail = _TAIL.match(text, end)
            if tail is not None and tail.end() > end:
                end = tail.end()
                # "Rio de Janeiro": a city of three words joined by de/do/da
                city = re.match(r"\s(?:de|do|da)\s" + _NAME, text[end:])
                if city is not None:
                    end += city.end()
            spans.append(Span(m.start(), end, "address"))
    return spans


# --- dates of birth ----------------------------------------------------------------------

_MONTHS = (
    r"January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|"
    r"Januar|Februar|März|Mai|Juni|Juli|Oktober|Dezember|"
    r"janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre|"
    r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|"
    r"gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|"
    r"januari|februari|maart|mei|augustus|oktober|"
    r"janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|novembro|dezembro|"
    r"stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września|października|"
    r"listopada|grudnia|"
    r"января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря|"
    r"Ocak|Şubat|Mart|Nisan|Mayıs|Haziran|Temmuz|Ağustos|Eylül|Ekim|Kasım|Aralık"
)
_DATE = (
    r"(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})"  # 12.03.1990, 03/12/90
    r"|\d{4}-\d{1,2}-\d{1,2}"  # 1990-03-12
    r"|\d{4}\s?年\s?\d{1,2}\s?月\s?\d{1,2}\s?日"  # 1990年3月12日
    rf"|\d{{1,2}}\.?\s(?:de\s)?(?:{_MONTHS})\.?,?\s(?:de\s)?\d{{4}}"  # 12 March 1990, 12. März
    rf"|(?:{_MONTHS})\.?\s\d{{1,2}}(?:st|nd|rd|th)?,?\s\d{{4}})"  # March 12, 1990
)
_DOB_CUE = (
    r"(?:born(?:\son)?|b\.|d\.?o\.?b\.?|date\sof\sbirth|birth\s?day(?:\sis)?|bday(?:\sis)?|"
    r"geboren(?:\sam|\sop)?|geburtsdatum|geboortedatum|"
    r"n[ée]e?\sle|date\sde\snaissance|nac[ií]\sel|nacid[oa]\sel|fecha\sde\snacimiento|"
    r"nat[oa]\sil|data\sdi\snascita|nasci\sem|nascid[oa]\sem|data\sde\snascimento|"
    r"urodzon[ya]|urodził[ae]m\ssię|data\surodzenia|"
    r"родил(?:ся|ась)|дата\sрождения|doğum\starihi|出生日期|生日是|生日)"
)
_DOB_AFTER_CUE = re.compile(
    rf"{_DOB_CUE}\W{{0,3}}(?:\w+\s){{0,2}}?(?P<date>{_DATE})", re.IGNORECASE
)
_DOB_BEFORE_CUE = re.compile(rf"(?P<date>{_DATE})\s?(?:doğumluyum|doğumlu)", re.IGNORECASE)


def dob_spans(text: str) -> list[Span]:
    """Dates that follow a birth cue (or precede "doğumluyum"): the date only."""
    if not any(ch.isdigit() for ch in text):
        return []
    spans = []
    for pattern in (_DOB_AFTER_CUE, _DOB_BEFORE_CUE):
        for m in pattern.finditer(text):
            spans.append(Span(m.start("date"), m.end("date"), "dob"))
    return spans
