"""The `healthcode` command: one module per command group."""
