"""The base layer every other layer may import: errors, file output, runtime set-up, the checkpoint format,
the registry helper, the figure style and the command-line argument helpers. It imports nothing else of
neuralens."""

VERSION = "0.1.0"
