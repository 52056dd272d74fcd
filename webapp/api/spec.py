"""The API's operations, declared once: each route names its query, body and response
schemas (pydantic models), and the same declaration both validates requests and writes
the OpenAPI 3.1 document served at ``/api/v1/openapi.json``.

A view receives its path parameters (typed by its annotations), then ``query`` and
``body`` as validated models, and returns a response model (or a model and a status).
Sign-in is by API token only (``Authorization: Bearer …``), never by the browser's
session cookie, so no page can be made to call the API on a user's behalf.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, g, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import clock
from people.models import IdempotentRequest, User
from people.tokens import user_for_token
from webapp.api.problems import PROBLEM, ApiProblem
from webapp.extensions import db

REF = "#/components/schemas/{model}"
MAX_KEY = 200
PATH_EXAMPLES = {"code": "YJQ", "project_id": 1}  # 雁江区 and its first project in the demo


class Problem(BaseModel):
    """An error (RFC 9457): ``code`` is stable, ``detail`` is in the caller's language."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    rule: str | None = None
    errors: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # OpenAPI style, below the API's prefix: /projects/{project_id}
    name: str
    summary: str
    tag: str
    params: dict[str, Any]  # path parameter -> its type
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    raw_body: str | None  # a media type taken as text (a CSV file), instead of ``body``
    response: type[BaseModel] | None
    status: int
    auth: bool
    roles: tuple[str, ...] | None
    idempotent: bool
    doc: str

    @property
    def errors(self) -> list[int]:
        codes = [404, 422, 429]
        if self.auth:
            codes += [401, 403]
        if self.method != "GET":
            codes += [409]
        return sorted(codes)


def _flask_path(path: str, params: dict[str, Any]) -> str:
    def convert(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"<int:{name}>" if params[name] is int else f"<{name}>"
    return re.sub(r"{(\w+)}", convert, path)


def _validated(model: type[BaseModel], data: object, where: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        # The location and kind of each mistake, never the input (it may be personal).
        raise ApiValidation([{"in": where, "loc": list(e["loc"]), "type": e["type"],
                              "msg": e["msg"]} for e in error.errors()]) from None


class ApiValidation(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid request")
        self.errors = errors


class Api:
    def __init__(self, blueprint: Blueprint, *, title: str, version: str) -> None:
        self.blueprint, self.title, self.version = blueprint, title, version
        self.operations: list[Operation] = []

    def route(self, method: str, path: str, *, summary: str, tag: str,
              query: type[BaseModel] | None = None, body: type[BaseModel] | None = None,
              raw_body: str | None = None, response: type[BaseModel] | None = None,
              status: int = 200, auth: bool = True, roles: tuple[str, ...] | None = None,
              idempotent: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            hints = typing.get_type_hints(view)
            params = {name: hints[name] for name in re.findall(r"{(\w+)}", path)}
            operation = Operation(method, path, view.__name__, summary, tag, params, query, body,
                                  raw_body, response, status, auth, roles, idempotent,
                                  inspect.getdoc(view) or "")
            self.operations.append(operation)

            @functools.wraps(view)
            def endpoint(**kwargs: Any) -> Response:
                return self._call(operation, view, kwargs)

            self.blueprint.add_url_rule(_flask_path(path, params), view.__name__, endpoint,
                                        methods=[method])
            return view
        return decorate

    # --- a request -------------------------------------------------------------------------

    def _call(self, op: Operation, view: Callable[..., Any], kwargs: dict[str, Any]) -> Response:
        user = authenticate() if op.auth else None
        if op.roles is not None and user is not None and user.role not in op.roles:
            raise ApiProblem(403, "permission-denied",
                             "Your role or jurisdiction does not allow this.")
        args: dict[str, Any] = dict(kwargs)
        if op.query is not None:
            args["query"] = _validated(op.query, request.args.to_dict(), "query")
        if op.body is not None:
            data = request.get_json(silent=True) if request.is_json else None
            if not isinstance(data, dict):
                raise ApiProblem(422, "invalid-input", "The request body must be a JSON object.")
            args["body"] = _validated(op.body, data, "body")
        if op.raw_body is not None:
            args["body"] = request.get_data()
        record = None
        if op.idempotent and user is not None and "Idempotency-Key" in request.headers:
            replay, record = _idempotency(user)
            if replay is not None:
                return replay
        result = view(**args)
        status = op.status
        if isinstance(result, tuple):
            result, status = result
        payload = json.dumps(result.model_dump(mode="json") if result is not None else None,
                             ensure_ascii=False)
        if record is not None:
            record.status, record.response = status, payload
        return Response(payload, status=status, mimetype="application/json")

    # --- the document ----------------------------------------------------------------------

    def document(self, prefix: str) -> dict[str, Any]:
        models: list[tuple[type[BaseModel], Any]] = [(Problem, "serialization")]
        for op in self.operations:
            models += [(m, "validation") for m in (op.query, op.body) if m is not None]
            if op.response is not None:
                models.append((op.response, "serialization"))
        _, top = models_json_schema(list(dict.fromkeys(models)), ref_template=REF)
        components = top.get("$defs", {})
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            paths.setdefault(prefix + op.path, {})[op.method.lower()] = self._operation(
                op, components)
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version,
                     "description": "See docs/api.md. Amounts are strings such as \"1234.56\"."},
            "servers": [{"url": "/"}],
            "paths": paths,
            "components": {"schemas": components, "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer",
                          "description": "An API token: Authorization: Bearer sf_…"}}},
        }

    def _operation(self, op: Operation, components: dict[str, Any]) -> dict[str, Any]:
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": _param_schema(kind),
             **({"example": PATH_EXAMPLES[name]} if name in PATH_EXAMPLES else {})}
            for name, kind in op.params.items()]
        if op.query is not None:
            schema = components[op.query.__name__]
            required = set(schema.get("required", []))
            parameters += [{"name": name, "in": "query", "required": name in required,
                            "schema": _not_null(prop), **({"description": prop["description"]}
                                                          if "description" in prop else {})}
                           for name, prop in schema["properties"].items()]
        if op.idempotent:
            parameters.append({
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": "Retrying with the same key returns the first answer and moves "
                               "no money twice; the same key with another body is refused.",
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY}})
        responses: dict[str, Any] = {}
        if op.response is not None:
            responses[str(op.status)] = {"description": "OK", "content": {
                "application/json": {"schema": {"$ref": REF.format(model=op.response.__name__)}}}}
        else:
            responses[str(op.status)] = {"description": "OK"}
        for code in op.errors:
            responses[str(code)] = {"description": "Problem", "content": {
                PROBLEM: {"schema": {"$ref": REF.format(model="Problem")}}}}
        spec: dict[str, Any] = {
            "operationId": op.name, "summary": op.summary, "tags": [op.tag],
            "parameters": parameters, "responses": responses,
            "security": [{"token": []}] if op.auth else [],
        }
        roles = f"Roles: {', '.join(op.roles)}." if op.roles is not None else ""
        if description := "\n\n".join(filter(None, (op.doc, roles))):
            spec["description"] = description
        if op.body is not None:
            spec["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": REF.format(model=op.body.__name__)}}}}
        if op.raw_body is not None:
            spec["requestBody"] = {"required": True, "content": {op.raw_body: {
                "schema": {"type": "string"}}}}
        return spec


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter left out is None: the document need not offer null for it."""
    options = [o for o in prop.get("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1 and len(prop["anyOf"]) == 2:
        rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
        return {**options[0], **rest}
    return prop


def _param_schema(kind: Any) -> dict[str, Any]:
    if kind is int:
        return {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    if typing.get_origin(kind) is typing.Literal:
        return {"type": "string", "enum": list(typing.get_args(kind))}
    return {"type": "string", "minLength": 1, "maxLength": 40}


def authenticate() -> User:
    """The token's user, who then is ``current_user`` for this request, exactly as if
    signed in: every rule of the pages applies unchanged."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(401, "unauthenticated",
                         "Send an API token in the header Authorization: Bearer <token>.")
    user = user_for_token(db.session, token.strip())
    if user is None:
        raise ApiProblem(401, "unauthenticated", "The API token is unknown, revoked or expired.")
    g._login_user = user  # flask-login's current user for this request only
    return user


def _idempotency(user: User) -> tuple[Response | None, IdempotentRequest]:
    key = request.headers["Idempotency-Key"]
    if not 1 <= len(key) <= MAX_KEY:
        raise ApiProblem(422, "invalid-input",
                         "An Idempotency-Key has 1 to {n} characters.", n=MAX_KEY)
    digest = hashlib.sha256(request.method.encode() + b" " + request.full_path.encode()
                            + b"\n" + request.get_data()).hexdigest()
    session = db.session
    replay = _replay(user, key, digest)
    if replay is not None:
        return replay
    record = IdempotentRequest(user_id=user.id, key=key, method=request.method,
                               path=request.path[:300], body_sha256=digest,
                               created_at=clock.now())
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        # The same key, sent at once to another worker or server. PostgreSQL made this
        # insert wait until that request ended: it committed, so its answer is there to
        # replay (READ COMMITTED sees it now). Otherwise it is still running (SQLite).
        replay = _replay(user, key, digest)
        if replay is not None:
            return replay
        raise ApiProblem(409, "idempotency-key-in-use", "A request with this Idempotency-Key "
                         "is still being processed; retry it shortly.") from None
    return None, record


def _replay(user: User, key: str, digest: str) -> tuple[Response, IdempotentRequest] | None:
    """The first answer under this key, if that request has been answered."""
    earlier = db.session.execute(select(IdempotentRequest).where(
        IdempotentRequest.user_id == user.id, IdempotentRequest.key == key)
    ).scalar_one_or_none()
    if earlier is None:
        return None
    if earlier.body_sha256 != digest:
        raise ApiProblem(422, "idempotency-key-reused",
                         "This Idempotency-Key was used for a different request.")
    if earlier.status is None or earlier.response is None:
        return None
    return Response(earlier.response, status=earlier.status, mimetype="application/json",
                    headers={"Idempotent-Replayed": "true"}), earlier
