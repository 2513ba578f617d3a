"""The advisor: practitioner knowledge as tested rules that plan, warn, ask and explain.

Pure Python over plain facts: never imports torch, onnx, onnxruntime, Qt or the engine.
"""

from shrinkwise.advisor import parser_tables

parser_tables.install()  # before anything imports rule_engine: its parser tables come from the cache when they can
