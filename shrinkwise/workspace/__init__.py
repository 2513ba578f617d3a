"""The saved project, experiment records, the session tying engine and advisor together, reports, and the CLI.

Never imports Qt.
"""
