"""ASGI guard in front of the engine's API: Host header, bearer token and body size, checked
before FastAPI (or any JSON parser) sees the request."""
from __future__ import annotations

import json
import re

from maskvat_foley.core.engine.token import check_token

# Names a local client reaches the engine by. A web page the user visits can point a hostname of
# its own at 127.0.0.1 (DNS rebinding); its requests then carry that name in Host and are refused.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_HOST = re.compile(r"(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[^:\[\]]+))(?::\d{1,5})?", re.ASCII)


def host_allowed(header: bytes | None, allowed: frozenset[str]) -> bool:
    """Whether a Host header (name or address, optional port) names one of ``allowed``."""
    if not header:
        return False
    m = _HOST.fullmatch(header.decode("latin-1").strip().lower())
    return bool(m) and (m.group("v6") or m.group("name")) in allowed


async def _send_json(send, status: int, doc: dict, headers: list | None = None) -> None:
    body = json.dumps(doc).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())] + (headers or [])})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: 403 when the Host header is not one of ``allowed_hosts``, 401 without the
    right bearer token, 413 for bodies over ``max_body`` (by Content-Length, or counted while
    reading a chunked body), then replays the body."""

    def __init__(self, app, token: str, max_body: int,
                 allowed_hosts: frozenset[str] = LOOPBACK_HOSTS):
        self.app, self.token, self.max_body = app, token, max_body
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if not host_allowed(headers.get(b"host"), self.allowed_hosts):
            return await _send_json(send, 403, {"error": "Host header not allowed: the engine "
                                                "answers only requests for "
                                                + ", ".join(sorted(self.allowed_hosts))})
        scheme, _, given = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not check_token(given.strip(), self.token):
            return await _send_json(send, 401, {"error": "missing or wrong bearer token "
                                                "(see `maskvat-foley engine token`)"},
                                    [(b"www-authenticate", b"Bearer")])
        too_big = {"error": f"request body over the limit of {self.max_body} bytes"}
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                return await _send_json(send, 400, {"error": "bad Content-Length header"})
            if int(length) > self.max_body:
                return await _send_json(send, 413, too_big)
        chunks, size, more = [], 0, True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunks.append(msg.get("body", b""))
            size += len(chunks[-1])
            more = msg.get("more_body", False)
            if size > self.max_body:
                return await _send_json(send, 413, too_big)
        body, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
