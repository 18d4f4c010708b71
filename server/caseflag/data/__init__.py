"""The curated list: reading records, linting them, loading and indexing the dataset, and turning a court order's schedule into records."""
