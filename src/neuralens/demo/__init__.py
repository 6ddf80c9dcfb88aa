"""``neuralens demo``: every study's library functions on built-in defaults, then the report."""

from neuralens.demo.run import STEPS, run_demo

__all__ = ["STEPS", "run_demo"]
