"""SQLite storage: one connection owned by `Database`, SQL kept in repositories."""
