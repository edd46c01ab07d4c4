"""The Greengrass packagings of the gateway: a component (`main`) and a pinned Lambda (`lambda_handler`).

Both start the same `edge.runtime.gateway.Gateway` from the same settings (`settings.gateway_settings`).
"""
