"""Connectors: every kind of source system (file, SQL, REST) into the canonical raw tables.

Each connector only fetches and lands its data as a batch; `batch.write_batch` types it, checks
the grain, quarantines bad rows and writes in one transaction, the same way for every kind.
`run.load_configured_source` is the one entry point per configured source.
"""
