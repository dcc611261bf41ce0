"""Errors a connector raises. Every message is meant for people and never carries a secret."""

from __future__ import annotations


class SourceConfigError(ValueError):
    """The configuration (sources.yaml or an environment variable it names) is wrong."""


class BatchRejected(ValueError):
    """The batch as a whole cannot be loaded (for example a required column is missing)."""


class SourceError(RuntimeError):
    """The source could not be read now: unreachable, gave up after retries, malformed answer.

    Nothing was written; earlier rows and the incremental cursor stay as they were.
    """
