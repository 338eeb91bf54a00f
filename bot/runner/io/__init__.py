"""What comes back from a job: the files it left in its scratch directory, read without links."""
