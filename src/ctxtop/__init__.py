"""ctxtop: see what your Claude Code and Anthropic API sessions cost, and keep their context lean."""

__version__ = "0.1.0"
