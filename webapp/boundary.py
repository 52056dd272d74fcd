"""The request boundary: one commit point per request, inside the error mapping.

As in Indico's ``RH.process()``, the view runs and then the request's work commits,
both inside the ``try`` whose failures Flask hands to the error mapping. Whatever fails
there -- the view, a constraint checked at flush or only at commit, a serialization
failure, a database that went away -- or before it, in a ``before_request`` step, rolls
the work back once, here, and then reaches the app's own error handlers
(``webapp.errors``), which answer with the app's page or problem document. Nothing
commits in an ``after_request`` hook, where a failure would escape them as the
framework's bare 500.
"""

from __future__ import annotations

from flask import Flask, Response
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from webapp.extensions import db


class SpecialFundApp(Flask):
    """The app: every view, whichever blueprint registered it, passes this boundary."""

    def dispatch_request(self) -> Response:
        response = self.make_response(super().dispatch_request())
        db.commit_request(response)
        return response

    def handle_user_exception(self, e: Exception) -> HTTPException | ResponseReturnValue:
        db.rollback_request()
        return super().handle_user_exception(e)
