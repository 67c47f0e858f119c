"""Bridges to other engines (Milvus) for scaling past one machine."""

from laconic.integrations.milvus import IngestReport, MilvusResults, MilvusSparseCollection

__all__ = ["IngestReport", "MilvusResults", "MilvusSparseCollection"]
