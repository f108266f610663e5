"""Shared pytest set-up."""

# Hypothesis's pytest plugin imports the hypothesis package lazily, at the terminal summary, under pytest's
# assertion rewriting and deep in pluggy's stack; CPython 3.11.7 then fails to parse it ("AST constructor
# recursion depth mismatch") and a run that passed exits 1. Importing it here, at collection, avoids that.
import hypothesis  # noqa: F401
