"""The Discord adapter: application commands, buttons and modals over the shared services."""
