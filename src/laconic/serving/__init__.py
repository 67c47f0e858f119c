"""The HTTP search service: ``create_app(index, encoder)`` and its parts."""

from laconic.serving.app import Service, create_app
from laconic.serving.batcher import MicroBatcher
from laconic.serving.config import ServeConfig
from laconic.serving.fanout import FanoutSearcher, merge_top_k
from laconic.serving.metrics import ServiceMetrics
from laconic.serving.registry import IndexRegistry, IndexVersion

__all__ = [
    "FanoutSearcher",
    "IndexRegistry", "IndexVersion", "MicroBatcher", "ServeConfig", "Service", "ServiceMetrics",
    "create_app",
    "merge_top_k",
]
