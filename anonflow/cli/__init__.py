"""The `anonflow` console script: one module per subcommand, each exposing `register(subparsers)`."""
