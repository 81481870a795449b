"""The process's secrets kept out of every text that leaves it: the Qovery token and URL credentials.

One `Redactor` knows the secrets (the Qovery token, the inbound server token, the user and password of a
`QOVERY_API_URL` like `http://user:pass@host`) and replaces each of them, in any case, with `[redacted]`; the
user info of any http(s) URL goes too. It is applied where Qovery's text comes in (`QoveryClient`: answers,
error messages) and again where text goes out (HTTP responses, audit lines, stderr, the log pane,
notifications), so that an upstream echoing the token, or a message quoting the URL, shows nothing.

A relayed Qovery body keeps its JSON shape: only the secret inside a string is replaced. The common answer,
with no secret in it, stays the bytes as they came (one search over them, no re-encoding).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

MARK = "[redacted]"

# Shorter values cannot be told from ordinary words: replacing every "abc" would garble all output, and no
# real Qovery token, JWT or password worth the name is that short.
MIN_SECRET_LENGTH = 4

# The user info of an http(s) URL (`https://user:pass@host`): whatever stands between `//` and `@` in one
# authority (no space, slash, quote or backslash in between).
_USERINFO = r"(?P<scheme>[Hh][Tt][Tt][Pp][Ss]?://)[^\s/?#@\"'<>\\]+@"
_HEX = frozenset(b"0123456789abcdefABCDEF")
_BACKSLASH = ord("\\")


def url_secrets(url: str) -> list[str]:
    """The secrets a URL carries in its user info: `user:pass`, the password, a user alone (a token) — as
    written and percent-decoded — and the Basic credential an HTTP client makes of them (httpx sends
    `Authorization: Basic base64(user:pass)` for such a URL, which an upstream may echo)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if not at or not userinfo:
        return []
    _, colon, password = userinfo.partition(":")
    found = [userinfo, password] if colon else [userinfo]
    decoded = unquote(userinfo) if colon else unquote(userinfo) + ":"
    basic = base64.b64encode(decoded.encode()).decode()
    return [value for raw in found for value in {raw, unquote(raw)} if value] + [basic]


def shown_url(url: str) -> str:
    """The URL without its user info, for a header, a start line or a health answer."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(_USERINFO, r"\g<scheme>", url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class Redactor:
    """Replaces the process's secrets, and the user info of http(s) URLs, in text, bytes and JSON."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        kept = {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}
        # A secret is also searched as JSON writes it inside a string (`"` and `\` escaped, non-ASCII as
        # \uXXXX), so that an encoded audit line or response is searched as it is.
        variants = {form for secret in kept for form in _json_forms(secret)} | kept
        alternation = "|".join(re.escape(form) for form in sorted(variants, key=len, reverse=True))
        pattern = f"{_USERINFO}|(?P<secret>{alternation})" if alternation else _USERINFO
        self.secrets = tuple(sorted(kept))
        self._text = re.compile(pattern, re.IGNORECASE)
        self._bytes = re.compile(pattern.encode(), re.IGNORECASE)
        # The regular expression costs about 30 us on a 450-byte answer (it tries the alternation at every
        # position); a lower-cased copy searched for each form costs about 1 us. The expression runs only when
        # that finds something: the common answer, with no secret and no URL user info, never meets it.
        self._lowered = tuple(form.lower().encode() for form in variants)
        self._text_prefilter = all(form.isascii() for form in variants)  # str.lower() is exact on ASCII only

    @classmethod
    def for_qovery(cls, token: str, api_url: str = "", *others: str | None) -> Redactor:
        """The secrets of a Qovery client: its token and the credentials in its URL (and any `others`)."""
        return cls([token, *url_secrets(api_url), *(other for other in others if other)])

    # -- plain text ------------------------------------------------------------------------------------

    def text(self, text: str) -> str:
        """`text` with every secret replaced; the same object when there is none."""
        if not self.found(text):
            return text
        return self._text.sub(_replace_text, text)

    def found(self, text: str | bytes) -> bool:
        """Whether `text` holds a secret (or URL user info)."""
        if isinstance(text, bytes):
            return self._may_hold(text) and self._bytes.search(text) is not None
        if self._text_prefilter and text.isascii():
            return self._may_hold(text.encode()) and self._text.search(text) is not None
        return self._text.search(text) is not None

    def _may_hold(self, raw: bytes) -> bool:
        """A cheap first look: False only when `raw` cannot hold a secret nor an http(s) URL's user info."""
        if b"@" in raw and b"://" in raw:
            return True
        lowered = raw.lower()
        return any(form in lowered for form in self._lowered)

    # -- JSON ------------------------------------------------------------------------------------------

    def encoded(self, raw: bytes, *, same_length: bool = False) -> bytes:
        """Encoded JSON (or any bytes) with every secret replaced, keeping the JSON valid: a match that starts
        inside an escape sequence (`\\n`, `\\u00..`) is not the secret there, and is left alone. `same_length`:
        masked with `*`s instead of MARK (for a part of a body whose length was already announced)."""
        if not self.found(raw):
            return raw

        def replace(match: re.Match[bytes]) -> bytes:
            if match["secret"] is not None and _inside_escape(raw, match.start()):
                return match[0]
            scheme = match["scheme"] or b""
            hidden = match[0][len(scheme) : -1 if scheme else None]
            mark = b"*" * len(hidden) if same_length else MARK.encode()
            return scheme + mark + b"@" if scheme else mark

        return self._bytes.sub(replace, raw)

    def data(self, value: Any) -> Any:
        """A JSON value (dicts, lists, strings...) with every secret in its strings and keys replaced."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(key) if isinstance(key, str) else key: self.data(v) for key, v in value.items()}
        if isinstance(value, list):
            return [self.data(item) for item in value]
        return value

    def body(self, raw: bytes, data: Any) -> tuple[bytes, Any]:
        """A relayed body (its bytes and their decoded JSON, None when not JSON) without secrets.

        Unchanged, the very same objects, unless a secret is in them; then the bytes are re-encoded from the
        redacted JSON (its shape kept) or, when they are not JSON, redacted as they are."""
        if not raw:
            return raw, data
        hit = self.found(raw)
        if not hit and data is not None and b"\\" in raw:
            # An escape (`\u0071ov_...`) can spell a secret that the bytes do not show: look at the strings.
            hit = self._holds_secret(data)
        if not hit:
            return raw, data
        if data is None:
            return self.encoded(raw), None
        clean = self.data(data)
        try:
            return json.dumps(clean, ensure_ascii=False, separators=(",", ":")).encode(), clean
        except (ValueError, TypeError, RecursionError):  # cannot happen for decoded JSON; never relay raw
            return self.encoded(raw), clean

    def _holds_secret(self, data: Any) -> bool:
        try:
            canonical = json.dumps(data, ensure_ascii=False)  # no escapes but `"`, `\` and control characters
        except (ValueError, TypeError, RecursionError):
            return True  # cannot be checked: treat it as holding one, and re-encode what can be
        return self.found(canonical)


def _replace_text(match: re.Match[str]) -> str:
    return match["scheme"] + MARK + "@" if match["scheme"] is not None else MARK


def _json_forms(secret: str) -> set[str]:
    return {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}


def _odd_backslashes_before(raw: bytes, end: int) -> bool:
    count = 0
    while end - count > 0 and raw[end - count - 1] == _BACKSLASH:
        count += 1
    return count % 2 == 1


def _inside_escape(raw: bytes, start: int) -> bool:
    """Whether position `start` of JSON text is the letter after a backslash, or within a `\\uXXXX`."""
    if _odd_backslashes_before(raw, start):
        return True
    for digits in range(4):  # `\u`, then 0 to 3 hex digits, then `start`
        at = start - digits  # where those digits begin
        if at < 2 or (digits and raw[at] not in _HEX):
            return False
        if raw[at - 1] == ord("u") and _odd_backslashes_before(raw, at - 1):
            return True
    return False
