"""The JSON API (``/api/v1``): see docs/api.md and the served OpenAPI document."""

from flask import request

PREFIX = "/api/v1"


def is_api_request() -> bool:
    """Whether this request is the API's: it answers in JSON, in the language the program
    asks for, with problem documents for errors."""
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")
