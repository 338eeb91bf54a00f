"""The question bank: typed models and the loader that validates `content/`."""
