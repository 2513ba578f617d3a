"""The engine: load and convert models, profile them, read data, run techniques, measure.

Never imports Qt or the advisor; heavy libraries (torch, onnxruntime) are imported inside functions so that
importing this package stays cheap.
"""
