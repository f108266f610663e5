"""jsonschema.validate with the schema checked once, not on every call: installed when Rasa loads our components.

Why: Rasa 3.6 validates every action server reply (`RemoteAction._validate_action_result`) and every events
body of the HTTP API (`rasa.server.validate_events_in_request_body`) with `jsonschema.validate(instance, schema)`.
That function first checks the *schema* against its meta-schema (Draft 2020-12, with dynamic references), then
builds a validator, on every call. Profiled with py-spy on a Rasa server answering this project's calls, that
schema check was 70% of the server's CPU and most of a turn's ~120 ms; the schemas are constants.

`validate` below is the same check (the same validator class, the same `best_match` error raised) with the
schema's check and its validator kept per schema. Anything it does not recognise (a `cls` or extra arguments)
goes to the original function. `install()` is idempotent and is called by the components package, which the
Rasa server imports when it loads a model that uses them.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import jsonschema
from jsonschema import exceptions, validators

_ORIGINAL = getattr(jsonschema.validate, "__wrapped_original__", jsonschema.validate)
_VALIDATORS: dict[str, Any] = {}
_LOCK = threading.Lock()
# Schemas are small constants; a bound keeps a caller that builds schemas on the fly from growing the cache.
MAX_SCHEMAS = 64


def _validator(schema: Any) -> Any:
    key = json.dumps(schema, sort_keys=True, default=repr)
    found = _VALIDATORS.get(key)
    if found is None:
        cls = validators.validator_for(schema)
        cls.check_schema(schema)  # an invalid schema raises SchemaError here, as the original does
        found = cls(schema)
        with _LOCK:
            if len(_VALIDATORS) < MAX_SCHEMAS:
                _VALIDATORS[key] = found
    return found


def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
    """jsonschema.validate(instance, schema), its schema checked once per distinct schema."""
    if cls is not None or args or kwargs:
        _ORIGINAL(instance, schema, cls, *args, **kwargs)
        return
    error = exceptions.best_match(_validator(schema).iter_errors(instance))
    if error is not None:
        raise error


validate.__wrapped_original__ = _ORIGINAL  # type: ignore[attr-defined]


def install() -> None:
    """Make `jsonschema.validate` (looked up at call time by Rasa) this one."""
    jsonschema.validate = validate
