"""The gateway software on AWS IoT Greengrass v2: component versions, edge Lambda, fleet deployment."""
