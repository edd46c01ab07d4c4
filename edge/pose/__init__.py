"""Pose estimation: model families behind one decoder interface, all emitting body points only."""
