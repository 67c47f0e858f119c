"""ASGI middleware: cap request bodies and count responses by endpoint and status.

The body cap sits below FastAPI so an oversized body is refused (413) before
any JSON parsing, whether or not the client sent a Content-Length.
"""

from __future__ import annotations

import json
from typing import Any

from laconic.serving.metrics import ServiceMetrics


async def _send_json(send: Any, status: int, body: dict) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class GuardMiddleware:
    """Refuse bodies over ``max_body_bytes`` with 413; record every response in ``metrics``.

    Args:
        app: the ASGI app to wrap.
        metrics: where request counts go.
        max_body_bytes: the largest accepted request body.
        known_paths: paths counted by name.
    """

    def __init__(self, app: Any, metrics: ServiceMetrics, max_body_bytes: int, known_paths: set[str]) -> None:
        self.app = app
        self.known_paths = known_paths  # other paths count as "other": fuzzers must not grow the counters
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"] if scope["path"] in self.known_paths else "other"
        endpoint = f"{scope['method']} {path}"
        status_box = [500]

        async def counting_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
            await send(message)

        too_big = {"error": f"request body larger than {self.max_body_bytes} bytes"}
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                await _send_json(counting_send, 400, {"error": "invalid Content-Length header"})
                self.metrics.record_request(endpoint, status_box[0])
                return
            if length > self.max_body_bytes:
                await _send_json(counting_send, 413, too_big)
                self.metrics.record_request(endpoint, status_box[0])
                return

        # Read the body here (bounded), then replay it to the app.
        chunks: list[bytes] = []
        size = 0
        more = scope["method"] not in ("GET", "HEAD")
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _send_json(counting_send, 413, too_big)
                self.metrics.record_request(endpoint, status_box[0])
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            await self.app(scope, replay, counting_send)
        finally:
            self.metrics.record_request(endpoint, status_box[0])
