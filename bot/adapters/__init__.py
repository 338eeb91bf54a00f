"""Adapters: the platforms people talk to the bot through."""
