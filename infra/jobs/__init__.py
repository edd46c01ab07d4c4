"""Beam job options for the cloud runners, kept as files next to the infrastructure that runs them."""
