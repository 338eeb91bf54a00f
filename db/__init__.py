"""The SQL migrations, numbered 001, 002, …; shipped in the package as bot._data.db."""
