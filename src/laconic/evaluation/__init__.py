"""Evaluation: BEIR readers, metrics, the timed runner, baselines, memory figures, MTEB wrapper."""

from laconic.evaluation.baselines import BM25System, DenseSystem, default_dense_model_dir, evaluate_bm25, evaluate_dense
from laconic.evaluation.datasets import BeirDataset, load_beir, read_trec_run, write_beir, write_trec_run
from laconic.evaluation.memory import dense_index_bytes, directory_bytes, index_memory
from laconic.evaluation.metrics import DEFAULT_MEASURES, PRIMARY_MEASURE, compute_metrics, per_query_metrics
from laconic.evaluation.mteb import LaconicMtebModel, beir_task
from laconic.evaluation.report import EvalReport, comparison_table, load_report
from laconic.evaluation.runner import default_output_dir, evaluate, run_system
from laconic.evaluation.sparse_system import LaconicSystem
from laconic.evaluation.system import RetrievalSystem

__all__ = [
    "BM25System",
    "BeirDataset",
    "DEFAULT_MEASURES",
    "DenseSystem",
    "EvalReport",
    "LaconicMtebModel",
    "LaconicSystem",
    "PRIMARY_MEASURE",
    "RetrievalSystem",
    "beir_task",
    "comparison_table",
    "compute_metrics",
    "default_dense_model_dir",
    "default_output_dir",
    "dense_index_bytes",
    "directory_bytes",
    "evaluate",
    "evaluate_bm25",
    "evaluate_dense",
    "index_memory",
    "load_beir",
    "load_report",
    "per_query_metrics",
    "read_trec_run",
    "run_system",
    "write_beir",
    "write_trec_run",
]
