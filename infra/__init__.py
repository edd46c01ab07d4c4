"""AWS CDK (Python) definition of anonflow's cloud: IoT ingest, Greengrass fleet, data lake, Beam runtime.

Importing this package (or `infra.config`, `infra.metrics`) does not import the CDK, so the gateway and
the dataflow can share the metric names without the `infra` extra. The stacks live in `infra.app`.
"""
