"""Prepares a schemathesis run against a live oxhub hub.

    python tests/api/schemathesis_spec.py UPSTREAM_SPEC OUT_JSON HUB_API_URL TOKEN

1. Creates fixtures on the hub (users, groups, tokens, named servers, shares, share codes, a
   runtime service) through the REST API. A fixture whose endpoint oxhub lacks is reported and skipped: the run then shows that
   operation as never answering 2xx.
2. Writes OUT_JSON: JupyterHub's rest-api.yml (6.1.1) adjusted where the real Python handlers
   differ from it (shared/reference/hub-api.md, the `⚠` rows; "the handlers win"), each adjustment
   commented below, plus
   * the error statuses hub-api.md documents per endpoint, with JupyterHub's error body
     `{"status": int, "message": str}` as their schema (the spec documents almost none, so
     status_code_conformance would otherwise flag every legitimate 400/404/409);
   * `example`s pointing at the fixtures, so the examples phase hits existing resources and the
     200/201 response schemas get checked (random names only ever reach 404s).

Standard library + PyYAML (a schemathesis dependency).
"""

import copy
import datetime
import json
import sys
import urllib.error
import urllib.request

import yaml

UPSTREAM, OUT, API, TOKEN = sys.argv[1:5]

# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(API + path, data=data, method=method)
    req.add_header("Authorization", "token " + TOKEN)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw.strip() else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode("utf-8", "replace")


missing = []


def fixture(what, method, path, body=None, ok=(200, 201, 204, 409)):
    status, reply = call(method, path, body)
    if status not in ok:
        missing.append(f"{method} {path} -> {status}")
        print(f"   fixture not created: {what}: {method} {path} -> {status} {reply}", file=sys.stderr)
        return None
    return reply


# Users: alice/bob/admin come from the config. One throwaway per mutating operation, so that the
# first (example) request of each operation meets the state it needs whatever ran before it.
fixture("users", "POST", "/users", {"usernames": ["fx-doomed", "fx-patch"]})
fixture("group", "POST", "/groups/fx-group", {"users": ["alice"]})
fixture("group to delete", "POST", "/groups/fx-doomed-group")
tok_get = fixture("token to read", "POST", "/users/alice/tokens", {"note": "fx read"}) or {}
tok_del = fixture("token to delete", "POST", "/users/alice/tokens", {"note": "fx delete"}) or {}
fixture("named server", "PUT", "/users/alice/servers/fx-server", {"display_name": "Fixture"})
fixture("named server to patch", "PUT", "/users/alice/servers/fx-patch", {})
fixture("user share", "POST", "/shares/alice/fx-server", {"user": "bob"})
fixture("group share", "POST", "/shares/alice/fx-server", {"group": "fx-group"})
fixture("share code", "POST", "/share-codes/alice/fx-server", {"expires_in": 3600}) or {}
fixture("runtime service to delete", "POST", "/services/fx-service", {"display": False})
# A second shared server for the revoke-everything operations (DELETE /shares/..., DELETE
# /share-codes/...), so that they do not revoke the shares the other examples read.
fixture("second named server", "PUT", "/users/alice/servers/fx-other", {})
fixture("share to revoke", "POST", "/shares/alice/fx-other", {"user": "bob"})
fixture("share code to revoke", "POST", "/share-codes/alice/fx-other", {"expires_in": 3600})

# Path-parameter examples per operation: (method, path) -> {param: value}.
EXAMPLES = {
    ("get", "/users/{name}"): {"name": "alice"},
    ("post", "/users/{name}"): {"name": "fx-new"},
    ("delete", "/users/{name}"): {"name": "fx-doomed"},
    ("patch", "/users/{name}"): {"name": "fx-patch"},
    ("post", "/users/{name}/activity"): {"name": "alice"},
    ("get", "/users/{name}/servers/{server_name}"): {"name": "alice", "server_name": "fx-server"},
    ("put", "/users/{name}/servers/{server_name}"): {"name": "alice", "server_name": "fx-new"},
    ("patch", "/users/{name}/servers/{server_name}"): {"name": "alice", "server_name": "fx-patch"},
    ("get", "/users/{name}/shared"): {"name": "bob"},
    ("get", "/users/{name}/shared/{owner}/{server_name}"): {"name": "bob", "owner": "alice", "server_name": "fx-server"},
    ("delete", "/users/{name}/shared/{owner}/{server_name}"): {"name": "bob", "owner": "alice", "server_name": "fx-server"},
    ("get", "/users/{name}/tokens"): {"name": "alice"},
    ("post", "/users/{name}/tokens"): {"name": "alice"},
    ("get", "/users/{name}/tokens/{token_id}"): {"name": "alice", "token_id": tok_get.get("id", "a1")},
    ("delete", "/users/{name}/tokens/{token_id}"): {"name": "alice", "token_id": tok_del.get("id", "a1")},
    ("get", "/groups/{name}"): {"name": "fx-group"},
    ("post", "/groups/{name}"): {"name": "fx-new-group"},
    ("delete", "/groups/{name}"): {"name": "fx-doomed-group"},
    ("get", "/groups/{name}/shared"): {"name": "fx-group"},
    ("get", "/groups/{name}/shared/{owner}/{server_name}"): {"name": "fx-group", "owner": "alice", "server_name": "fx-server"},
    ("delete", "/groups/{name}/shared/{owner}/{server_name}"): {"name": "fx-group", "owner": "alice", "server_name": "fx-server"},
    ("post", "/groups/{name}/users"): {"name": "fx-group"},
    ("delete", "/groups/{name}/users"): {"name": "fx-group"},
    ("put", "/groups/{name}/properties"): {"name": "fx-group"},
    ("get", "/shares/{owner}"): {"owner": "alice"},
    ("get", "/shares/{owner}/{server_name}"): {"owner": "alice", "server_name": "fx-server"},
    ("post", "/shares/{owner}/{server_name}"): {"owner": "alice", "server_name": "fx-server"},
    ("patch", "/shares/{owner}/{server_name}"): {"owner": "alice", "server_name": "fx-server"},
    ("delete", "/shares/{owner}/{server_name}"): {"owner": "alice", "server_name": "fx-other"},
    ("get", "/share-codes/{owner}"): {"owner": "alice"},
    ("get", "/share-codes/{owner}/{server_name}"): {"owner": "alice", "server_name": "fx-server"},
    ("post", "/share-codes/{owner}/{server_name}"): {"owner": "alice", "server_name": "fx-server"},
    ("delete", "/share-codes/{owner}/{server_name}"): {"owner": "alice", "server_name": "fx-other"},
    ("get", "/services/{name}"): {"name": "ops"},
    ("post", "/services/{name}"): {"name": "fx-new-service"},
    ("delete", "/services/{name}"): {"name": "fx-service"},
    ("get", "/authorizations/token/{token}"): {"token": tok_get.get("token", "x")},
}

# Request-body examples that a correct hub accepts with 2xx (the examples phase sends these).
BODY_EXAMPLES = {
    ("post", "/users"): {"usernames": ["fx-bulk-1", "fx-bulk-2"]},
    ("patch", "/users/{name}"): {"admin": False},
    # The spec's example names servers "" and "gpu", which alice does not have: the handler
    # answers 400 "No such server" (hub-api.md §4), so the example is activity alone.
    ("post", "/users/{name}/activity"): {"last_activity": "2019-02-06T12:54:14Z"},
    ("put", "/users/{name}/servers/{server_name}"): {"display_name": "New fixture"},
    ("patch", "/users/{name}/servers/{server_name}"): {"display_name": "Patched"},
    ("post", "/users/{name}/tokens"): {"note": "schemathesis", "expires_in": 3600},
    ("post", "/groups"): {"groups": ["fx-bulk-group"]},
    ("post", "/groups/{name}/users"): {"users": ["bob"]},
    ("delete", "/groups/{name}/users"): {"users": ["bob"]},
    ("put", "/groups/{name}/properties"): {"color": "blue"},
    ("post", "/shares/{owner}/{server_name}"): {"user": "admin"},
    ("patch", "/shares/{owner}/{server_name}"): {"user": "admin"},
    ("post", "/share-codes/{owner}/{server_name}"): {"expires_in": 3600},
    ("post", "/services/{name}"): {"info": {"purpose": "schemathesis"}, "display": False},
}

# ---------------------------------------------------------------------------------------------
# The spec
# ---------------------------------------------------------------------------------------------


def jsonable(x):
    # rest-api.yml has unquoted timestamps in examples, which YAML loads as datetimes.
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list):
        return [jsonable(v) for v in x]
    if isinstance(x, datetime.datetime):
        return x.strftime("%Y-%m-%dT%H:%M:%SZ")
    return x


with open(UPSTREAM, encoding="utf-8") as f:
    spec = jsonable(yaml.safe_load(f))
paths = spec["paths"]
schemas = spec["components"]["schemas"]


def nullable(schema, *props):
    """The handler sends JSON null for these fields when unset (hub-api.md §2 models; JSON
    bodies: "null when unset"); the spec types them as plain strings/objects."""
    for p in props:
        s = schema["properties"][p]
        t = s.get("type")
        s["type"] = [t, "null"] if isinstance(t, str) else t
        if "enum" in s:
            s["enum"] = s["enum"] + [None]


# --- Model adjustments (hub-api.md §2) -------------------------------------------------------
# User: server/pending/last_activity are null when no server runs / never active; user_info and
# auth_state are object|null.
nullable(schemas["User"], "server", "pending", "last_activity", "user_info", "auth_state")
# Server: pending null when nothing pending; started null when stopped; last_activity null.
nullable(schemas["Server"], "pending", "started", "last_activity")
# Server: pending may also be "rename" (transient, hub-api.md §2 Server model).
schemas["Server"]["properties"]["pending"]["enum"].insert(-1, "rename")
# Token: expires_at/last_activity are null without expiry / before first use (the spec's own
# descriptions say so; its types don't). Same for NewToken.
nullable(schemas["Token"], "expires_at", "last_activity")
nullable(schemas["NewToken"], "expires_at", "last_activity")
# Service: "command" is a list or "" for unmanaged services (hub-api.md §2 Service model).
schemas["Service"]["properties"]["command"] = {
    "anyOf": [{"type": "array", "items": {"type": "string"}}, {"const": ""}]
}

# --- Tightening: the fields hub-api.md §2 says this credential always gets -------------------
# The spec marks no field required, so an empty object would pass. The harness's credential is
# an admin service (all scopes), for which the handlers emit every field of the model tables
# (hub-api.md §2; jupyterhub/apihandlers/base.py user_model/group_model/service_model/
# server_model/token_model).
schemas["User"]["properties"]["created"] = {"type": "string", "format": "date-time"}
schemas["User"]["required"] = [
    "kind", "name", "admin", "roles", "groups", "server", "pending", "created",
    "last_activity", "servers", "user_info",
]
schemas["Group"]["required"] = ["kind", "name", "users", "properties", "roles"]
schemas["Service"]["properties"]["display"] = {"type": "boolean"}
schemas["Service"]["required"] = [
    "kind", "name", "admin", "roles", "url", "prefix", "command", "pid", "info", "display",
]
schemas["Server"]["properties"]["full_name"] = {"type": "string"}
schemas["Server"]["required"] = [
    "name", "display_name", "full_name", "last_activity", "started", "pending", "ready",
    "stopped", "url", "user_options", "progress_url", "full_url", "full_progress_url",
]
for name in ("Token", "NewToken"):
    props = schemas[name]["properties"]
    # kind and oauth_client are emitted by the handler but missing from the spec (hub-api.md ⚠):
    # "kind": "api_token", "oauth_client": "<client description or id>".
    props["kind"] = {"const": "api_token"}
    props["oauth_client"] = {"type": "string"}
    schemas[name]["required"] = [
        "id", "kind", "roles", "scopes", "created", "last_activity", "expires_at", "note",
        "session_id", "oauth_client",
    ]
    schemas[name]["oneOf"] = [{"required": ["user"]}, {"required": ["service"]}]
schemas["NewToken"]["required"].append("token")
schemas["RequestIdentity"]["allOf"][1]["required"] = ["kind", "name", "scopes", "token_id", "session_id"]
# GET /user for a service token is service_model() of the *database* row, in which a config
# service's url/command/info/display are NULL (JupyterHub answers null there, unlike
# GET /services): same keys, those four nullable.
identity_service = copy.deepcopy(schemas["Service"])
for p in ("url", "info", "display"):
    t = identity_service["properties"][p]["type"]
    identity_service["properties"][p]["type"] = [t, "null"]
identity_service["properties"]["command"]["anyOf"].append({"type": "null"})
schemas["ServiceIdentity"] = identity_service
# The harness's credential is always the "ops" service, so the identity is the service branch
# (checked directly rather than through the spec's oneOf, so a failure names the missing field).
schemas["RequestIdentity"]["allOf"][0] = {"$ref": "#/components/schemas/ServiceIdentity"}

schemas["Error"] = {
    "type": "object",
    "required": ["status", "message"],
    "properties": {"status": {"type": "integer"}, "message": {"type": "string"}},
}

# --- Operation adjustments (hub-api.md §3, the ⚠ rows) --------------------------------------
# GET /services returns an object keyed by service name, not a list, and is not paginated.
paths["/services"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {
    "type": "object",
    "additionalProperties": {"$ref": "#/components/schemas/Service"},
}
# DELETE /groups/{name}/users answers 200 with the Group model (spec: empty body).
paths["/groups/{name}/users"]["delete"]["responses"]["200"]["content"] = {
    "application/json": {"schema": {"$ref": "#/components/schemas/Group"}}
}
# POST /groups (create several groups) exists in the handlers but not in the spec.
paths["/groups"]["post"] = {
    "operationId": "post-groups",
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "groups": {"type": "array", "items": {"type": "string"}},
                        "users": {"type": "array", "items": {"type": "string"}},
                    },
                }
            }
        },
    },
    "responses": {
        "201": {
            "description": "created groups",
            "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Group"}}}},
        }
    },
}
# POST /groups/{name} takes an optional {"users": [...]} body (spec: none).
paths["/groups/{name}"]["post"]["requestBody"] = {
    "required": False,
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"users": {"type": "array", "items": {"type": "string"}}}}
        }
    },
}
# POST and DELETE /services/{name} (runtime services) exist in the handlers but not in the spec.
# The request schema leaves out "url" on purpose: the hub polls a runtime service's url, and
# generated URLs could point anywhere off this machine. "command" is left out too (managed
# services cannot be created at runtime: always 400).
service_name_param = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
paths["/services/{name}"]["post"] = {
    "operationId": "post-service",
    "parameters": [service_name_param],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "admin": {"type": "boolean"},
                        "info": {"type": "object"},
                        "display": {"type": "boolean"},
                        "oauth_no_confirm": {"type": "boolean"},
                        "api_token": {"type": "string"},
                    },
                }
            }
        },
    },
    "responses": {
        "201": {
            "description": "created service",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Service"}}},
        }
    },
}
# DELETE answers 200 (empty body), 405 for a service defined in the config.
paths["/services/{name}"]["delete"] = {
    "operationId": "delete-service",
    "parameters": [service_name_param],
    "responses": {"200": {"description": "deleted"}},
}
# GET /authorizations/token/{token} answers the owner's User or Service model (spec: no body).
paths["/authorizations/token/{token}"]["get"]["responses"]["200"]["content"] = {
    "application/json": {
        "schema": {"oneOf": [{"$ref": "#/components/schemas/User"}, {"$ref": "#/components/schemas/Service"}]}
    }
}
# PATCH /shares/{owner}/{server_name} answers {} when no permission remains ("An empty dict if
# no permissions remain" in the spec's own description; hub-api.md: "200 Share or {}").
patch_share = paths["/shares/{owner}/{server_name}"]["patch"]["responses"]["200"]["content"]["application/json"]
patch_share["schema"] = {"anyOf": [{"$ref": "#/components/schemas/Share"}, {"type": "object", "maxProperties": 0}]}
# GET /users/{name} and PATCH /users/{name} add "auth_state" for a credential holding
# admin:auth_state (hub-api.md §2 User model / §3 Users; tightening as above).
for method in ("get", "patch"):
    media = paths["/users/{name}"][method]["responses"]["200"]["content"]["application/json"]
    media["schema"] = {"allOf": [{"$ref": "#/components/schemas/User"}, {"required": ["auth_state"]}]}
# GET /users/{name}/shared lists Shares (the spec says ShareCode; hub-api.md: paginated [Share]).
user_shared = paths["/users/{name}/shared"]["get"]["responses"]["200"]["content"]["application/json"]
user_shared["schema"]["allOf"][1]["properties"]["items"]["items"] = {"$ref": "#/components/schemas/Share"}

# Error statuses per operation, from hub-api.md §3 "Errors" columns (an admin credential is used,
# so the "not an admin"/"missing scope" 403s cannot legitimately happen and are left out).
# Every operation with a {name}/{owner} path argument may also answer 404 for a missing entity.
ERRORS = {
    ("get", "/info"): [],
    ("get", "/user"): [],
    ("get", "/users"): [400],
    ("post", "/users"): [400, 409],
    ("get", "/users/{name}"): [],
    ("post", "/users/{name}"): [400, 409],
    ("patch", "/users/{name}"): [400],
    ("delete", "/users/{name}"): [400],
    ("post", "/users/{name}/activity"): [400],
    ("get", "/users/{name}/servers/{server_name}"): [],
    ("put", "/users/{name}/servers/{server_name}"): [400, 409],
    ("patch", "/users/{name}/servers/{server_name}"): [400, 409],
    # Start: 400 bad body / already running / pending stop / invalid name; 429 spawn limits;
    # 500 a spawn that failed (hub-api.md Servers). Stop: 400 bad body / remove default.
    ("post", "/users/{name}/server"): [400, 429, 500],
    ("post", "/users/{name}/servers/{server_name}"): [400, 409, 429, 500],
    ("delete", "/users/{name}/server"): [400],
    ("delete", "/users/{name}/servers/{server_name}"): [400],
    ("get", "/users/{name}/tokens"): [],
    # Unknown user -> 403 "User U not found or no permissions to generate tokens".
    ("post", "/users/{name}/tokens"): [400, 403],
    ("get", "/users/{name}/tokens/{token_id}"): [],
    ("delete", "/users/{name}/tokens/{token_id}"): [],
    ("get", "/groups"): [400],
    ("post", "/groups"): [400, 409],
    ("get", "/groups/{name}"): [],
    ("post", "/groups/{name}"): [400, 409],
    ("delete", "/groups/{name}"): [],
    ("post", "/groups/{name}/users"): [400],
    ("delete", "/groups/{name}/users"): [400],
    ("put", "/groups/{name}/properties"): [400],
    ("get", "/services"): [],
    ("get", "/services/{name}"): [],
    ("post", "/services/{name}"): [400, 409],
    ("delete", "/services/{name}"): [405],
    ("get", "/proxy"): [400],
    ("post", "/proxy"): [],
    ("get", "/users/{name}/shared"): [400],
    ("get", "/users/{name}/shared/{owner}/{server_name}"): [],
    ("delete", "/users/{name}/shared/{owner}/{server_name}"): [],
    ("get", "/groups/{name}/shared"): [400],
    ("get", "/groups/{name}/shared/{owner}/{server_name}"): [],
    ("delete", "/groups/{name}/shared/{owner}/{server_name}"): [],
    ("get", "/shares/{owner}"): [400],
    ("get", "/shares/{owner}/{server_name}"): [400],
    ("post", "/shares/{owner}/{server_name}"): [400, 403],
    ("patch", "/shares/{owner}/{server_name}"): [400],
    ("delete", "/shares/{owner}/{server_name}"): [],
    ("get", "/share-codes/{owner}"): [400],
    ("get", "/share-codes/{owner}/{server_name}"): [400],
    ("post", "/share-codes/{owner}/{server_name}"): [400, 403],
    ("delete", "/share-codes/{owner}/{server_name}"): [400],
    ("get", "/authorizations/token/{token}"): [],
    ("get", "/authorizations/cookie/{cookie_name}/{cookie_value}"): [],
}

ERROR_RESPONSE = {
    "description": "JupyterHub error (hub-api.md §1 Error body)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}

components_params = spec["components"]["parameters"]
for path, ops in paths.items():
    for method, op in ops.items():
        if method not in ("get", "post", "put", "patch", "delete"):
            continue
        key = (method, path)
        codes = list(ERRORS.get(key, []))
        if "{" in path:
            codes.append(404)
        for c in codes:
            op["responses"].setdefault(str(c), ERROR_RESPONSE)
            # Documented-but-bodiless error responses in the spec (e.g. 404 "No such user",
            # content: {}) get the error body schema too.
            if not op["responses"][str(c)].get("content"):
                op["responses"][str(c)] = ERROR_RESPONSE
        # Examples on path parameters (inline copies of the shared $ref parameters).
        values = EXAMPLES.get(key, {})
        params = []
        for p in op.get("parameters", []):
            if "$ref" in p:
                p = copy.deepcopy(components_params[p["$ref"].rsplit("/", 1)[1]])
            if p.get("in") == "path" and p["name"] in values:
                p = dict(p, example=values[p["name"]])
                p.pop("examples", None)
            params.append(p)
        if params:
            op["parameters"] = params
        if key in BODY_EXAMPLES:
            media = op["requestBody"]["content"]["application/json"]
            media.pop("examples", None)
            media.get("schema", {}).pop("example", None)
            media["example"] = BODY_EXAMPLES[key]

with open(OUT, "w", encoding="utf-8") as f:
    json.dump(spec, f, indent=1)
print(f"   fixtures: {len(missing)} could not be created" if missing else "   fixtures: all created", file=sys.stderr)
