"""The gateway runtime: cameras in, anonymous entries out over a durable spool and one transport.

camera source (grabber thread, newest frame wins) -> edge chain -> spool (SQLite, on disk)
-> sender (oldest first, batches, deletes only what the transport acknowledged) -> transport
(Greengrass IPC, MQTT5 mutual TLS, or local NDJSON files). Health metrics go out on their own topic.
"""
