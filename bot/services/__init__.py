"""Use cases of the bot; no adapter or telegram imports here."""
