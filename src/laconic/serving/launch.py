"""Open the index and the model named in a :class:`ServeConfig` and run uvicorn.

With ``workers > 1`` uvicorn starts separate processes that each import an app
factory; the settings travel to them in an environment variable, and each
worker maps the same index files (one copy in the page cache) and loads its own
encoder.
"""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI

from laconic.errors import ConfigError
from laconic.serving.app import create_app
from laconic.serving.config import ServeConfig

ENV_CONFIG = "LACONIC_SERVE_CONFIG"

log = logging.getLogger("laconic.serving")


def build_app(config: ServeConfig) -> FastAPI:
    """Open ``config.index`` memory-mapped, load ``config.model`` (if any), build the app."""
    if not config.index:
        raise ConfigError("serve needs an index directory (--index)")
    from laconic.index import SparseIndex

    index = SparseIndex.open(config.index)
    encoder = None
    if config.model:
        from laconic.cli.model_options import load_encoder

        encoder = load_encoder(
            config.model, tokenizer=config.tokenizer, profile=config.profile, device=config.device,
            backend=config.backend, int8=config.int8,
        )
        encoder.eval()
    documents = None
    if config.corpus:
        from laconic.serving.documents import DocumentStore

        documents = DocumentStore.from_file(config.corpus)
    log.info("serving %s (%d documents), encoder %s", config.index, len(index), config.model or "none")
    return create_app(index, encoder, config, index_path=config.index, documents=documents)


def app_from_environment() -> FastAPI:
    """The uvicorn factory each worker process calls (settings from ``$LACONIC_SERVE_CONFIG``)."""
    text = os.environ.get(ENV_CONFIG)
    if not text:
        raise ConfigError(f"${ENV_CONFIG} is not set")
    return build_app(ServeConfig.from_json(text))


def serve(config: ServeConfig) -> None:
    """Run the service until interrupted (blocking)."""
    import uvicorn

    if config.workers == 1:
        # Open before binding, so a bad index or model fails fast with a clear message.
        uvicorn.run(build_app(config), host=config.host, port=config.port, log_level="info")
        return
    os.environ[ENV_CONFIG] = config.to_json()
    uvicorn.run(
        "laconic.serving.launch:app_from_environment",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers,
        log_level="info",
    )
