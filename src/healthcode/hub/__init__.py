"""The national data hub: departments in, provinces out (FastAPI app over core + store)."""
