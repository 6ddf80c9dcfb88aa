"""The HTML report: reads run folders (JSON + figures) and never recomputes anything."""

from neuralens.report.builder import build_report

__all__ = ["build_report"]
