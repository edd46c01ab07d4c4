"""Helpers shared by several test folders (never imported by the product)."""
