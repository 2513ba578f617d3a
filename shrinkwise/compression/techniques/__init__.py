"""Compression techniques, one module each (see `compression/catalog.toml`).

Every module exposes a pydantic `Config` and `apply(ctx, config)`, a generator that yields events and returns an
`Artifact`. Only the runner imports these modules, by the dotted path the catalog gives.
"""
