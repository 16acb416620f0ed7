"""Hub server: device lifecycle, loans, telemetry ingest, API and dashboard."""

__version__ = "0.1.0"
