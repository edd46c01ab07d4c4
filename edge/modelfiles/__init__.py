"""The model manifest and model directory the gateway resolves and verifies its networks from."""
