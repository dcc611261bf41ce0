"""Source connectors, the portfolio registry and the sample data generator."""
