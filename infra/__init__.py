"""AWS CDK (Python) definition of anonflow's cloud: IoT ingest, Greengrass fleet, data lake, Beam runtime.

Importing this package (or `infra.config`) does not import the CDK. The metric names the gateway, the
dataflow and the alarms share live in `anonflow.contract.metrics`. The stacks live in `infra.app`.
"""
