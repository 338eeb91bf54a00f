"""The question bank; shipped in the package as bot._data.content (see README.md here)."""
