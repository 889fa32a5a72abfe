"""Routers of the integration API (/v1) and operations endpoints."""
