"""The gateway fleet in AWS IoT Core: identity, least-privilege policy, and the rules that route messages."""
