"""Print the JSON report's schema: `python -m shrinkwise.workspace.report.schema > workspace/report/report_schema.json`."""

from __future__ import annotations

import json

from shrinkwise.workspace.report import report_schema


def schema_text() -> str:
    return json.dumps(report_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(schema_text(), end="")
