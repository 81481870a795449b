"""The relay's inbound security: the bearer token both surfaces require, and the Host/Origin allowlist.

The token (`QJOB_TUI_SERVER_TOKEN`) is compared in constant time. The Host/Origin allowlist protects both
surfaces against DNS rebinding and cross-site requests: a web page the operator happens to open cannot make
the relay deploy or uninstall a job. The MCP SDK enforces it on /mcp; the relay's guard (`guard.py`) does on
REST with `OriginCheck`.
"""

from __future__ import annotations

import hmac
import socket

from pydantic import SecretStr

from qjob_tui.config import is_loopback

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_WILDCARDS = {"0.0.0.0", "::", "[::]", ""}


class BearerCheck:
    """Checks `Authorization: Bearer <token>`; every request passes when no token is configured."""

    def __init__(self, token: SecretStr | None) -> None:
        self._expected = f"Bearer {token.get_secret_value()}".encode() if token is not None else None

    @property
    def required(self) -> bool:
        return self._expected is not None

    def allows(self, authorization: bytes | None) -> bool:
        """True when no token is required, or the header carries it (compared in constant time)."""
        if self._expected is None:
            return True
        return authorization is not None and hmac.compare_digest(authorization, self._expected)


def find_header(
    headers: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...], name: bytes
) -> bytes | None:
    """The first value of a header in an ASGI scope (names are lower-case there)."""
    for key, value in headers:
        if key == name:
            return value
    return None


def allowed_host_names(host: str) -> list[str]:
    """The names clients may use in Host/Origin: the loopback names, plus the configured host when it is not
    loopback. Listening on a wildcard address adds this machine's names, the ones remote clients will use."""
    names = list(LOOPBACK_NAMES)
    extra: list[str] = []
    if host in _WILDCARDS:
        extra = [socket.gethostname()]  # no DNS lookup here: a name or address of its own goes in server.host
    elif not is_loopback(host):
        extra = [f"[{host.strip('[]')}]" if ":" in host else host]
    for name in extra:
        if name and name not in names:
            names.append(name)
    return names


def host_allowlist(host: str) -> tuple[list[str], list[str]]:
    """(allowed Host header values, allowed Origin values) for the MCP transport security settings."""
    names = allowed_host_names(host)
    hosts = [value for name in names for value in (name, f"{name}:*")]
    origins = [
        f"{scheme}://{name}{port}" for name in names for scheme in ("http", "https") for port in ("", ":*")
    ]
    return hosts, origins


class OriginCheck:
    """The REST side of the allowlist: a Host that is not one of the allowed names, or an Origin (which every
    browser sends on a cross-site POST, and scripts and curl do not) that is not, is refused."""

    def __init__(self, host: str) -> None:
        self.names = frozenset(name.lower() for name in allowed_host_names(host))

    def allows(self, host: bytes | None, origin: bytes | None) -> bool:
        if host is not None and _hostname(host.decode("latin-1")) not in self.names:
            return False
        if origin is None:
            return True
        scheme, _, rest = origin.decode("latin-1").partition("://")
        return scheme in ("http", "https") and _hostname(rest) in self.names


def _hostname(authority: str) -> str:
    """`localhost:8080` -> `localhost`, `[::1]:8080` -> `[::1]`: the name of a Host or Origin, without port."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[: authority.find("]") + 1]
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority
