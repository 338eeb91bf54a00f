"""What protects a job: the identities, limits and filters a worker is jailed with."""
