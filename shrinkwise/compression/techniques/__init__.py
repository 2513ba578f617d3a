"""Compression techniques, one module each (see `compression/catalog.toml`).

Every module exposes a pydantic `Config` and `apply(ctx, config)`, a generator that yields events and returns an
`Artifact` (the types in `compression.technique_api`; ONNX helpers in `compression.onnx_utils`). Only the runner,
the worker and the catalog reach these modules, by the dotted path the catalog gives (an import-linter contract).
"""
