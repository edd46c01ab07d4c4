"""Model manifest, verification and (later) quantisation, evaluation and training."""
