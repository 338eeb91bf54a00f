"""A third platform, in memory: it implements only the platform contract of `bot.services`."""
