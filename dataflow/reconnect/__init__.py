"""Anonymous re-connection of track fragments into journeys (decision rule: README.md in this folder)."""
