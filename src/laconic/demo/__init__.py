"""The offline demo behind ``laconic demo``: index a real corpus, search, explain, compare with BM25."""

from laconic.demo.config import DemoConfig
from laconic.demo.data import DemoData, load_demo_data
from laconic.demo.locate import default_dataset, default_model
from laconic.demo.runner import DemoReport, run_demo

__all__ = [
    "DemoConfig",
    "DemoData",
    "DemoReport",
    "default_dataset",
    "default_model",
    "load_demo_data",
    "run_demo",
]
