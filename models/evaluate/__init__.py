"""Measuring models: key-point agreement (PTK, EPE), people counts, attribute agreement."""
