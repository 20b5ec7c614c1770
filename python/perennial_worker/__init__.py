"""perennial's Python worker: trains models in any Python framework on the `perennial-python` task queue."""
