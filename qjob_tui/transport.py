"""httpx's requests sent through aiohttp's connection pool: the Qovery client's transport.

`QoveryClient` keeps `httpx.AsyncClient` as its API (headers, URLs, timeouts, errors); this transport carries
each request over one `aiohttp.ClientSession`. Measured in bench/relay.py --stacks: httpx's own transport
spends about three times the CPU per relayed call (httpcore's pool and h11 in pure Python), which capped the
relay's throughput. It uses httpx's public transport interface (`httpx.AsyncBaseTransport`) only.

What it keeps of httpx's behaviour, because the client's guarantees rest on it:

- each failure raised as the httpx exception that says what happened (a refused connection is a
  `ConnectError`, a dropped one a `RemoteProtocolError` or `ReadError`, a late answer a timeout), so that
  the client tells "unreachable" from "timed out" as before;
- a POST is sent once: aiohttp retries a request on a stale pooled connection only for idempotent methods;
- the bytes on the wire are httpx's: its headers (aiohttp adds none of its own), its encoded URL, its body;
  the response body arrives undecoded and httpx decodes it (a lying Content-Encoding is httpx's DecodingError);
- cookies are httpx's business: aiohttp keeps none; proxies from the environment are never used;
- an answer that has no body by definition (204, 304) is Qovery's answer even when bytes follow it, and
  its connection is never reused (`_NoBodyAnswers`): stray bytes cannot be read as the next answer.

The request's deadline is the client's (`asyncio.timeout` around the whole exchange, in `qovery.py`): when it
cancels a request, aiohttp closes that connection, so no late answer is ever read as another request's.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any, cast

import aiohttp
import httpx
import yarl
from aiohttp.client_proto import ResponseHandler

# Headers aiohttp would otherwise add on its own (an empty POST would go out as application/octet-stream).
_NOT_AUTOMATIC = ("Content-Type", "User-Agent", "Accept", "Accept-Encoding")


_NO_BODY_STATUS_LINES = (b"204", b"304")


class _NoBodyAnswers(ResponseHandler):
    """aiohttp's connection protocol, except that a 204 or 304 is the last answer on its connection.

    Such an answer is complete at its blank line (RFC 9110 6.4.1), so bytes after it are an upstream's
    mistake. In the same read, aiohttp would parse them as the next answer, fail, and lose the 204 with it:
    the caller would be told 502 for an action Qovery executed. In a later read, they would wait on the
    pooled connection for the next request, which would read them as its answer. So the head alone is parsed,
    what follows it is dropped, and the connection is closed after the answer, whatever came with it: one new
    connection per 204 is the price of never reading one exchange's bytes as another's."""

    def data_received(self, data: bytes) -> None:
        if data[:7] == b"HTTP/1." and data[9:12] in _NO_BODY_STATUS_LINES:
            self.force_close()
            end = data.find(b"\r\n\r\n")
            if end != -1:
                data = data[: end + 4]
        super().data_received(data)


class _Connector(aiohttp.TCPConnector):
    """aiohttp's TCP connector with `_NoBodyAnswers` as its connections' protocol."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # aiohttp names no public way to choose the protocol (a private attribute, since 3.0);
        # tests/server/test_upstream_exchange.py fails if this stops taking effect.
        self._factory = cast(
            "functools.partial[ResponseHandler]", functools.partial(_NoBodyAnswers, loop=self._loop)
        )


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one aiohttp session: a pool of at most `max_connections` keep-alive connections.

    The session is opened on the first request (aiohttp binds it to the running event loop) and closed by
    `aclose()`.
    """

    def __init__(
        self,
        *,
        max_connections: int = 100,
        keepalive_expiry_s: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry_s = keepalive_expiry_s
        self._ssl = ssl_context  # made with the first https request (see _tls)
        self._session: aiohttp.ClientSession | None = None

    def _tls(self) -> ssl.SSLContext:
        """httpx's context (certifi's roots), so that the transport trusts what httpx's own would. Made when first
        needed: loading the roots costs about 30 ms, which an http:// upstream (the demo, the simulator) never
        needs, and which would otherwise delay the first states."""
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context(trust_env=False)
        return self._ssl

    def _open(self) -> aiohttp.ClientSession:
        # Every https request names its context (_tls); the connector's own default is never used.
        connector = _Connector(limit=self._max_connections, keepalive_timeout=self._keepalive_expiry_s)
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=_NOT_AUTOMATIC,
            auto_decompress=False,
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session = self._session or self._open()
        timeout: dict[str, float | None] = request.extensions.get("timeout", {})
        body = await request.aread()
        try:
            async with session.request(
                request.method,
                yarl.URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                data=body or None,
                allow_redirects=False,
                ssl=self._tls() if request.url.scheme == "https" else True,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),  # a pooled connection, or a new one, within this
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            ) as response:
                content = await response.read()
                status, headers, reason = response.status, response.raw_headers, response.reason
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(_text(exc, "no connection in time"), request=request) from exc
        except aiohttp.SocketTimeoutError as exc:
            raise httpx.ReadTimeout(_text(exc, "no answer in time"), request=request) from exc
        except TimeoutError as exc:  # aiohttp's `connect` limit: no pooled connection came free in time
            raise httpx.PoolTimeout(_text(exc, "no free connection in time"), request=request) from exc
        except aiohttp.ClientConnectorError as exc:  # refused, no route, DNS, TLS
            raise httpx.ConnectError(_connect_text(exc), request=request) from exc
        except (
            aiohttp.ServerDisconnectedError,
            aiohttp.ClientPayloadError,
            aiohttp.ClientResponseError,
        ) as exc:
            # closed before or during the answer, a truncated body, an answer that is not HTTP
            raise httpx.RemoteProtocolError(_text(exc, "the answer was cut off"), request=request) from exc
        except ValueError as exc:
            # aiohttp refuses to send a header with a line break, or a URL it cannot parse (aiohttp.InvalidURL).
            raise httpx.LocalProtocolError(
                _text(exc, "the request could not be sent"), request=request
            ) from exc
        except aiohttp.ClientError as exc:  # a reset connection and the other socket errors
            raise httpx.ReadError(_text(exc, "connection lost"), request=request) from exc
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if reason:
            extensions["reason_phrase"] = reason.encode("latin-1", "replace")
        # As a stream, so that httpx decodes it (Content-Encoding) the way it decodes its own transport's.
        return httpx.Response(
            status, headers=list(headers), stream=httpx.ByteStream(content), extensions=extensions
        )

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def _text(exc: BaseException, fallback: str) -> str:
    return str(exc).strip() or fallback


def _connect_text(exc: aiohttp.ClientConnectorError) -> str:
    """Where the connection failed and why, in our words: aiohttp's own text shows its TLS setting as a repr
    (`ssl:<ssl.SSLContext object at 0x7f...>`), which says nothing to a user."""
    cause: BaseException = (
        exc.certificate_error if isinstance(exc, aiohttp.ClientConnectorCertificateError) else exc.os_error
    )
    why = (
        (cause.strerror if isinstance(cause, OSError) else None) or str(cause).strip() or type(cause).__name__
    )
    return f"cannot connect to {exc.host}:{exc.port}: {why}"
