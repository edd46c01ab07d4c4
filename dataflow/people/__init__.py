"""People: journeys grouped into the people they most likely belong to (see README.md here)."""
