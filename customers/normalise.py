"""Normalised forms of e-mails, phones and names: what duplicates are matched on."""

from __future__ import annotations

import difflib
import heapq
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

_email_validator = EmailValidator(message="Enter a valid e-mail address.")
_non_word = re.compile(r"[^\w\s]", re.UNICODE)
_spaces = re.compile(r"\s+")
_legal_suffixes = {"ltd", "limited", "inc", "llc", "gmbh", "plc", "sa", "sarl", "bv", "ag", "co", "corp"}
# Words many company names share: they say what a company does, not which one it is.
# "Nordic Logistics" and "Baltic Logistics" are not alike; a name match never rests on them.
COMMON_NAME_WORDS = frozenset(
    {
        "and", "the", "of", "und", "et", "de", "la", "le", "der", "die", "das", "y",
        "logistics", "logistic", "logistik", "transport", "transports", "freight", "shipping",
        "solutions", "services", "service", "systems", "group", "holding", "holdings",
        "international", "global", "technologies", "technology", "tech", "trading", "consulting",
        "partners", "industries", "industry", "company", "enterprises", "manufacturing",
        "engineering", "software", "digital", "foods", "food", "retail", "supply", "supplies",
        "distribution", "media", "energy", "healthcare", "design", "studio", "associates",
        "ventures", "capital", "products", "europe", "uk", "usa",
    }
)  # fmt: skip


def normalise_email(raw: str) -> str:
    value = (raw or "").strip().lower()
    if len(value) > 254:
        raise ValidationError("An e-mail address has at most 254 characters.")
    _email_validator(value)
    return value


def normalise_phone(raw: str, region: str | None = None) -> str:
    """E.164, e.g. "+442079460000"; national numbers are read in the default region."""
    value = (raw or "").strip()
    if not value or len(value) > 40:
        raise ValidationError("Enter a valid phone number.")
    try:
        number = phonenumbers.parse(value, region or settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError("Enter a valid phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("Enter a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_search_key(raw: str) -> str | None:
    """The E.164 form of something typed in a search box, if it reads as a phone."""
    digits = re.sub(r"[^\d+]", "", raw or "")
    if len(digits.lstrip("+")) < 6:
        return None
    try:
        return normalise_phone(raw)
    except ValidationError:
        return None


def name_key(name: str) -> str:
    """Accent-free, lower-case, punctuation-free, sorted tokens without legal suffixes.

    "Müller GmbH" and "muller" share a key; so do "Smith, John" and "John Smith".
    """
    folded = unicodedata.normalize("NFKD", name or "")
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    tokens = [t for t in _spaces.split(_non_word.sub(" ", folded)) if t and t not in _legal_suffixes]
    return " ".join(sorted(tokens))[:202]


def distinctive_key(key: str) -> str:
    """A `name_key` without the words many names share (the key itself when that would
    leave nothing: "Global Logistics" is all common words, and still a name)."""
    tokens = [t for t in key.split() if t not in COMMON_NAME_WORDS]
    return " ".join(tokens) if tokens else key


def name_neighbour_keys(key: str) -> list[tuple[str, str]]:
    """The (key, value) rows a `name_key` is filed under for the duplicates panel's
    sorted-neighbourhood lookup (`customers.NameNeighbour`): its distinctive key as it
    is ("k") and reversed ("kr", so that names alike at the end meet too), and for a
    name of several distinctive words, per word the other words as they are ("f:<word>")
    and reversed ("r:<word>"): "bethany myers" is filed under f:bethany as "myers",
    next to "miles" and "mylan". A name is looked up by reading a few rows on each
    side of its own value under each of its keys, a bounded read whatever the size of
    the base. No rows for an empty key."""
    own = distinctive_key(key)
    if not own:
        return []
    rows = {("k", own), ("kr", own[::-1])}
    words = sorted(set(own.split()))
    if len(words) > 1:
        for word in words:
            rest = " ".join(other for other in words if other != word)
            rows.add((f"f:{word}", rest))
            rows.add((f"r:{word}", rest[::-1]))
    return sorted(rows)


def name_similarity(key: str, other: str) -> float:
    """How alike two `name_key`s are (0..1), on their distinctive words only."""
    return difflib.SequenceMatcher(None, distinctive_key(key), distinctive_key(other)).ratio()


def most_similar_names(
    key: str, candidates: Iterable[tuple[int, str]], *, at_least: float, limit: int
) -> list[int]:
    """The ids of the `limit` candidates (id, `name_key`) most like `key`, with a
    `name_similarity` of at least `at_least`, the most alike first (a tie: the higher id
    first). The same answer as scoring every candidate and sorting, without computing
    the ratio of a candidate whose upper bound (the letters the two share, as
    `SequenceMatcher.quick_ratio` counts them) cannot reach the threshold or the
    `limit`-th best found so far."""
    if limit <= 0:
        return []
    own = distinctive_key(key)
    own_letters = Counter(own)
    matcher = difflib.SequenceMatcher(None, own, "")
    best: list[tuple[float, int]] = []  # a min-heap of the best `limit` (ratio, id)
    for pk, other_key in candidates:
        bar = at_least if len(best) < limit else max(at_least, best[0][0])
        other = distinctive_key(other_key)
        length = len(own) + len(other)
        if length and 2.0 * sum((own_letters & Counter(other)).values()) / length < bar:
            continue
        matcher.set_seq2(other)
        ratio = matcher.ratio()
        if ratio < bar:
            continue
        if len(best) < limit:
            heapq.heappush(best, (ratio, pk))
        elif (ratio, pk) > best[0]:
            heapq.heapreplace(best, (ratio, pk))
    return [pk for _, pk in sorted(best, reverse=True)]
