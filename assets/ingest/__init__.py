"""Ingestion: the portfolio registry and the evidence files into the warehouse's raw schema."""
