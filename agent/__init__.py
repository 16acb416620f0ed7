"""Device agent: reports a loaned device's health to the hub over MQTT."""

__version__ = "0.1.0"
