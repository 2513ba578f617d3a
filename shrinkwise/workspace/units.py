"""The one set of number formatters lives in `shrinkwise.units` (the advisor words its decision with them too);
re-exported here, where the CLI, the GUI and the reports have always imported them."""

from shrinkwise.units import fmt_bytes, fmt_metric, fmt_ms

__all__ = ["fmt_bytes", "fmt_metric", "fmt_ms"]
