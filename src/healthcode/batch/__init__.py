"""Whole-population evaluation on columnar engines (Polars)."""
