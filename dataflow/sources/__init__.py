"""Streaming sources of entry payloads: Kinesis (Python splittable DoFn over boto3) and Pub/Sub."""
