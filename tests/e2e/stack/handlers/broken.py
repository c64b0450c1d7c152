"""A handler module that fails to import, as a function with a broken dependency does."""

raise ImportError("a dependency is missing")
