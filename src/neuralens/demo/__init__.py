"""``neuralens demo``: every study's library functions on built-in defaults, then the report. Members load on
first use."""

from neuralens.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "STEPS": "neuralens.demo.run",
    "run_demo": "neuralens.demo.run",
    "DemoConfig": "neuralens.demo.config",
})
