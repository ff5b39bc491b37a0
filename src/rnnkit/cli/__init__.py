"""The `rnnkit` command: one module per subcommand."""
