"""Run an app under uvicorn in a background thread on a free loopback port.

For load tests, smoke tests and fuzzing: a real server with real sockets, in
the same process as the caller, that stops when the ``with`` block ends.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class BackgroundServer:
    """``with BackgroundServer(app) as server: httpx.get(server.url + "/health")``.

    Args:
        app: an ASGI app (e.g. from :func:`laconic.serving.create_app`).
        host: bind address; loopback only by default.
        port: 0 picks a free port.
        startup_timeout: seconds to wait for the socket to listen.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 30.0) -> None:
        import uvicorn

        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", access_log=False)
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # not the main thread
        self._thread = threading.Thread(target=self._server.run, name="laconic-uvicorn", daemon=True)
        self._timeout = startup_timeout
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + self._timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                raise RuntimeError("the background server did not start")
            time.sleep(0.01)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = sockets[0].getsockname()[1]
        return self

    def alive(self) -> bool:
        return self._thread.is_alive()

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
