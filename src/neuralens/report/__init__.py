"""The HTML report: reads run folders (JSON + figures) and never recomputes anything. Members load on first use."""

from neuralens.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "build_report": "neuralens.report.builder",
})
