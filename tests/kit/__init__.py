"""Helpers shared by the tests and the benchmarks; never installed, never imported by the product.

- `broker`: a local mosquitto with mutual TLS and the certificates it needs.
- `synthetic`: contract-valid entries with deterministic ids.
- `rehearsal`: the outage rehearsal (spool -> sender -> MQTT5 -> broker down and up -> every id found).
- `cdk`: reading a synthesised cloud assembly (templates, resources, logical ids).
- `httpserve`: a local HTTP server for download hosts.
"""
