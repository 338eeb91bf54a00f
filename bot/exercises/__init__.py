"""Coding exercises graded in the sandbox by differential testing against a reference."""
