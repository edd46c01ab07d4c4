"""The edge: frames in, anonymous entries out. Pure numpy core; models, video and clocks are adapters."""
