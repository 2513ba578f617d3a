"""The desktop app: windows over `workspace.session`. The only package that imports PySide6 and pyqtgraph."""
