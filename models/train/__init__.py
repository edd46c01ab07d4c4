"""Training the head-free demographic classifier on labelled anonymous crops."""
