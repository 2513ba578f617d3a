"""The advisor: practitioner knowledge as tested rules that plan, warn, ask and explain.

Pure Python over plain facts: never imports torch, onnx, onnxruntime, Qt or the engine.
"""
