"""anonflow: anonymous foot-traffic analytics for physical stores."""

__version__ = "0.1.0"
