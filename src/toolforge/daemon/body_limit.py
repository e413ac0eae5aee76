"""A cap on request bodies, enforced before they are read whole.

Every body the daemon accepts is small (a tool and its tests are capped at
`MAX_SOURCE_BYTES` each). A request that declares a longer body is answered 413 at once,
without reading it; one that does not declare its length (chunked) is cut off as soon as
it passes the cap. Either way the answer is the daemon's usual JSON error.
"""

from __future__ import annotations

import json
from typing import Any

from toolforge.library.incoming import MAX_SOURCE_BYTES

# Two capped files, JSON-escaped (up to 6 bytes per character), and room for the rest.
MAX_BODY_BYTES = 16 * MAX_SOURCE_BYTES

Scope = dict[str, Any]
Message = dict[str, Any]


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Pure ASGI middleware (no buffering of its own)."""

    def __init__(self, app: Any, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not _is_number(declared) or int(declared) > self.max_bytes):
            await self._refuse(send, int(declared) if _is_number(declared) else None)
            return
        received = 0
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message: Message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if not exceeded:  # the app's own answer to a cut-off body is replaced below
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            pass
        if exceeded:
            await self._refuse(send, None)

    async def _refuse(self, send: Any, size: int | None) -> None:
        told = f" ({size:,} bytes)" if size is not None else ""
        body = json.dumps({
            "error": "too_large",
            "message": f"request body over the {self.max_bytes:,} byte cap{told}",
            "hint": f"tool and test files are capped at {MAX_SOURCE_BYTES:,} bytes each",
        }).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _is_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes '²' and '①', which int() refuses."""
    return text.isascii() and text.isdigit()
