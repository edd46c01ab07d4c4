"""Alarms on the signals that mean entries are being lost or delayed."""
