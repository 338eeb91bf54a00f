"""The /run code runner: a separate program that runs user snippets in a sandbox.

It imports nothing of the bot. The bot imports only `protocol` from here (its client,
bot/runclient.py, speaks it) and starts the runner as `python -m bot.runner` or dispatches
`studybot runner` into `cli`; everything else runs in the runner process (which never imports
torch) or in the zygote and its single-use workers (which do).
"""
