"""Research outputs (SPEC 10): Parquet capture, published datasets and the signal analysis."""
