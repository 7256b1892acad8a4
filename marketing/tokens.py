"""Signed tokens of the links in campaign e-mails: the open pixel, click redirects and the
one-click unsubscribe. A token names one campaign member (and, for a click, its target);
a forged or altered one is refused, and a click with a forged target never leaves the site."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core import signing

OPEN = "marketing.open"
CLICK = "marketing.click"
UNSUBSCRIBE = "marketing.unsubscribe"
MAX_URL = 2000


@dataclass(frozen=True)
class Click:
    member_id: int
    url: str


def member_token(member_id: int, salt: str) -> str:
    return signing.dumps(member_id, salt=salt, compress=True)


def click_token(member_id: int, url: str) -> str:
    return signing.dumps([member_id, url], salt=CLICK, compress=True)


def read_member(token: str, salt: str) -> int | None:
    """The member a token names, or None when it is not one we signed."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    try:
        value = signing.loads(token, salt=salt)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def read_click(token: str) -> Click | None:
    if not isinstance(token, str) or len(token) > 3000:
        return None
    try:
        value = signing.loads(token, salt=CLICK)
    except signing.BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2):
        return None
    member_id, url = value
    if isinstance(member_id, bool) or not isinstance(member_id, int) or not safe_target(url):
        return None
    return Click(member_id, url)


def safe_target(url: object) -> bool:
    """An absolute http(s) link: what a campaign may link to (no javascript:, no data:)."""
    if not isinstance(url, str) or len(url) > MAX_URL or any(c in url for c in "\r\n\x00\\"):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
