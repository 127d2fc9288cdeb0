"""The model methods the emulator serves, called the way Odoo calls them from either protocol.

Served: `search`, `search_count`, `search_read`, `read`, `fields_get` on every model, and
`context_get` on `res.users` — read-only, as an integration user with read rights: `create`,
`write`, `unlink` and the order actions answer `AccessError`. Any other public name answers "does
not exist" (the emulator implements no more of the ORM); a name starting with `_` is private.

How arguments reach a method differs by protocol, as in Odoo. JSON-RPC `execute_kw` passes
positional `args` and keyword `kwargs` (the record ids of a records method such as `read` are the
first positional argument; `context` is a keyword); a call that does not fit the method is a
`TypeError` ("Odoo Server Error"). JSON-2 passes named parameters only (`ids` and `context` apart)
and answers 422 when they do not bind to the signature, 404 for an unknown model or method. The
signatures below are Odoo's, so both give Odoo's own `TypeError` messages.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from plumbing_dagster.sources.odoo.emulator.database import CLASSIC_READ
from plumbing_dagster.sources.odoo.emulator.errors import (
    OdooError,
    access_error,
    http_error,
    python_error,
    type_error,
    user_error,
)
from plumbing_dagster.sources.odoo.emulator.world import OdooWorld

WRITE_METHODS = frozenset(
    {
        "create",
        "write",
        "unlink",
        "copy",
        "name_create",
        "toggle_active",
        "action_archive",
        "action_unarchive",
        "action_confirm",
        "action_cancel",
        "action_draft",
        "action_quotation_send",
    }
)
MODEL_METHODS = frozenset(
    {"search", "search_count", "search_read", "fields_get", "context_get"}
)  # @api.model


class BaseModel:
    """The signatures of the `odoo.models.BaseModel` methods served; calling one binds its
    arguments (with Odoo's defaults) or raises the `TypeError` Odoo would."""

    def search(self, domain: Any, offset: Any = 0, limit: Any = None, order: Any = None) -> dict[str, Any]:
        return {"domain": domain, "offset": offset, "limit": limit, "order": order}

    def search_count(self, domain: Any, limit: Any = None) -> dict[str, Any]:
        return {"domain": domain, "limit": limit}

    def search_read(
        self,
        domain: Any = None,
        fields: Any = None,
        offset: Any = 0,
        limit: Any = None,
        order: Any = None,
        **read_kwargs: Any,
    ) -> dict[str, Any]:
        load = self.read(fields, **read_kwargs)["load"]  # Odoo passes read_kwargs on to the read
        return {
            "domain": domain,
            "fields": fields,
            "offset": offset,
            "limit": limit,
            "order": order,
            "load": load,
        }

    def read(self, fields: Any = None, load: Any = CLASSIC_READ) -> dict[str, Any]:
        return {"fields": fields, "load": load}

    def fields_get(self, allfields: Any = None, attributes: Any = None) -> dict[str, Any]:
        return {"allfields": allfields, "attributes": attributes}


class ResUsers(BaseModel):
    def context_get(self) -> dict[str, Any]:
        return {}


class Orm:
    """Calls on the world's models, as JSON-RPC's `execute_kw` and JSON-2 make them."""

    def __init__(self, world: OdooWorld):
        self.world = world

    def _method(self, model: str, name: Any, json2: bool) -> Callable[..., dict[str, Any]] | None:
        """Odoo's `get_public_method`; None for a write method (refused when called)."""
        if not isinstance(model, str):
            raise type_error(f"unhashable type: '{type(model).__name__}'")
        if model not in self.world.specs:
            if json2:
                raise http_error(404, f"the model {model!r} does not exist")
            raise user_error(f"Object {model} doesn't exist")
        if not isinstance(name, str):
            raise type_error(f"attribute name must be string, not '{type(name).__name__}'")
        if name.startswith("_") or name == "init":
            raise access_error(f"Private methods (such as '{model}.{name}') cannot be called remotely.")
        if name in WRITE_METHODS:
            return None
        method = getattr(ResUsers if model == "res.users" else BaseModel, name, None)
        if method is None:
            missing = f"The method '{model}.{name}' does not exist"
            if json2:
                raise http_error(404, missing)
            raise OdooError("builtins.AttributeError", missing)
        return method

    def _refuse(self, model: str) -> OdooError:
        description = self.world.specs[model].description
        return access_error(f"You are not allowed to modify '{description}' ({model}) records.")

    def call_rpc(self, uid: int, model: str, name: Any, args: Any, kwargs: Any) -> Any:
        """`execute_kw(db, uid, key, model, name, args, kwargs)` once credentials are checked."""
        method = self._method(model, name, json2=False)
        if not isinstance(args, list) or not isinstance(kwargs, Mapping):
            raise type_error("execute_kw expects args as a list and kwargs as an object")
        kwargs = dict(kwargs)
        context = kwargs.pop("context", None) or {}
        if method is None:
            raise self._refuse(model)
        ids = None
        if name not in MODEL_METHODS:  # a records method: the ids come first
            if not args:
                raise OdooError("builtins.IndexError", "list index out of range")
            ids, args = args[0], args[1:]
        try:
            bound = method(BaseModel(), *args, **kwargs)
        except TypeError as exc:
            raise python_error(exc) from None
        return self._run(uid, model, name, bound, ids, context)

    def call_json2(self, uid: int, model: str, name: str, params: Mapping[str, Any]) -> Any:
        """`POST /json/2/<model>/<name>` with the body's named parameters."""
        method = self._method(model, name, json2=True)
        params = dict(params)
        ids = params.pop("ids", ())
        context = params.pop("context", None) or {}
        if method is None:
            raise self._refuse(model)
        if ids and name in MODEL_METHODS:
            raise http_error(422, f"cannot call {model}.{name} with ids")
        try:
            inspect.signature(method).bind(BaseModel(), **params)
        except TypeError as exc:
            raise http_error(422, str(exc)) from None
        try:
            bound = method(BaseModel(), **params)
        except TypeError as exc:
            raise python_error(exc) from None
        return self._run(uid, model, name, bound, list(ids or ()), context)

    def _run(self, uid: int, model: str, name: str, bound: dict[str, Any], ids: Any, context: Any) -> Any:
        if not isinstance(context, Mapping):
            raise type_error(f"context must be an object, not {type(context).__name__}")
        world = self.world
        if name == "search":
            return world.search(
                model, bound["domain"], bound["offset"], bound["limit"], bound["order"], context
            )
        if name == "search_count":
            return world.search_count(model, bound["domain"], bound["limit"], context)
        if name == "search_read":
            return world.search_read(
                model,
                bound["domain"],
                bound["fields"],
                bound["offset"],
                bound["limit"],
                bound["order"],
                context,
                bound["load"],
            )
        if name == "read":
            return world.read(model, ids, bound["fields"], bound["load"])
        if name == "fields_get":
            return world.fields_get(model, bound["allfields"], bound["attributes"])
        return world.context_get(uid)
