"""The pre-forked workers: the zygote, the pool that keeps them ready, the jail each builds and
the job it runs."""
