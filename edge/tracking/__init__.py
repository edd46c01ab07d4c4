"""Per-camera multi-object tracking on body boxes."""
