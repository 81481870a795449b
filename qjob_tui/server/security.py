"""The relay's inbound security: the bearer token both surfaces require, and the one Host/Origin rule.

The token (`QJOB_TUI_SERVER_TOKEN`) is compared in constant time. The Host/Origin rule (`OriginCheck`) protects
both surfaces against DNS rebinding and cross-site requests: a web page the operator happens to open cannot
make the relay deploy or uninstall a job. The guard (`guard.py`) applies it to REST and MCP alike; the MCP
SDK's own check is off, so that both surfaces give the same answer to the same request.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import socket

from pydantic import SecretStr

# The names a loopback client uses; the configured host (and, on a wildcard address, this machine's name)
# joins them.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_WILDCARDS = {"0.0.0.0", "::", "[::]", ""}
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PORT = re.compile(r"[0-9]{0,5}")


class BearerCheck:
    """Checks `Authorization: Bearer <token>`; every request passes when no token is configured."""

    def __init__(self, token: SecretStr | None) -> None:
        self._expected = token.get_secret_value().encode() if token is not None else None

    @property
    def required(self) -> bool:
        return self._expected is not None

    def allows(self, authorization: bytes | None) -> bool:
        """True when no token is required, or the header carries it: `Bearer <token>`, the scheme in any case
        (HTTP's auth schemes are case-insensitive, and some clients send `bearer`), the token exactly and
        compared in constant time."""
        if self._expected is None:
            return True
        if authorization is None:
            return False
        scheme, _, credentials = authorization.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(credentials, self._expected)


def find_header(
    headers: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...], name: bytes
) -> bytes | None:
    """The first value of a header in an ASGI scope (names are lower-case there)."""
    for key, value in headers:
        if key == name:
            return value
    return None


def host_value(text: str) -> str | None:
    """A host as a value to compare: a DNS name in lower case (`LOCALHOST` is `localhost`), an IP address in its
    canonical form (`[0:0::1]` is `::1`); None when `text` is neither (a trailing dot, `127.1`, `_`, `%`...)."""
    if text.startswith("[") and text.endswith("]"):
        try:
            return str(ipaddress.IPv6Address(text[1:-1]))
        except ValueError:
            return None
    if ":" in text:
        return None  # an IPv6 address in a Host or Origin is always bracketed
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        pass
    name = text.lower()
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        return None
    return name


def split_authority(text: str) -> tuple[str, int | None] | None:
    """`host[:port]` (RFC 3986 authority without user info) as (host value, port); None when malformed."""
    host, colon, port = text.rpartition(":") if not text.endswith("]") else (text, "", "")
    if not colon:
        host = text
    elif not _PORT.fullmatch(port) or (port and not 0 < int(port) <= 65535):
        return None
    value = host_value(host)
    if value is None:
        return None
    return value, int(port) if colon and port else None


def configured_hosts(host: str) -> frozenset[str]:
    """The host values clients may name in Host/Origin: the loopback names, the configured host (always: the
    relay is told to listen there, so that is the name its clients use), and this machine's name on a wildcard
    address (the name remote clients use; any other goes in server.host)."""
    names = set(LOOPBACK_HOSTS)
    extra = socket.gethostname() if host in _WILDCARDS else host  # no DNS lookup: no surprise at start
    value = host_value(extra if ":" not in extra or extra.startswith("[") else f"[{extra}]")
    if value is not None:
        names.add(value)
    return frozenset(names)


class OriginCheck:
    """The one Host/Origin rule of both surfaces (DNS rebinding and cross-site requests).

    Host must be given once and name one of `configured_hosts`; Origin, which every browser sends on a cross-site
    request and scripts and agents do not, may be absent, but when given (once) it must be `http` or `https`
    and name one of them too. Each is parsed and compared as values (scheme, host, port): `LOCALHOST:8080` is
    `localhost`, `[0::1]` is `::1`; `localhost.evil`, `127.0.0.1.nip.io`, `null`, an empty Origin, a path
    or user info in an Origin are refused. Any port is allowed: a tunnel or a forwarded port (ssh -L) changes
    it, and the name is what a rebinding attack cannot fake.
    """

    def __init__(self, host: str) -> None:
        self.hosts = configured_hosts(host)

    def allows(self, hosts: list[bytes], origins: list[bytes]) -> bool:
        """`hosts`/`origins`: every value of the request's Host and Origin headers, in order."""
        if len(hosts) != 1 or len(origins) > 1:
            return False
        host = split_authority(hosts[0].decode("latin-1"))
        if host is None or host[0] not in self.hosts:
            return False
        if not origins:
            return True
        scheme, separator, rest = origins[0].decode("latin-1").partition("://")
        if not separator or scheme.lower() not in ("http", "https") or "@" in rest:
            return False
        origin = split_authority(rest)
        return origin is not None and origin[0] in self.hosts
