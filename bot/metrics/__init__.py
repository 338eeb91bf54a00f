"""Health and Prometheus metrics for the bot and the runner, served over plain HTTP."""
