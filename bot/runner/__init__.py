"""The /run code runner: a separate process that runs user snippets in a sandbox.

The bot imports only `protocol` and `client` from here; everything else runs in the runner
process (which never imports torch) or in the zygote and its single-use workers (which do).
"""
