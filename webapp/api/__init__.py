"""The JSON API (``/api/v1``): see docs/api.md and the served OpenAPI document."""
