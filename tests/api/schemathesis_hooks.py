"""Custom schemathesis checks for oxhub (loaded through SCHEMATHESIS_HOOKS by
tests/api/schemathesis.sh)."""

import schemathesis

# Operations that may legitimately never answer 2xx in this harness.
NEVER_2XX_OK = {
    # Needs a hub login cookie (a browser login); the harness only has API tokens, and for any
    # other cookie the handler answers 404.
    "GET /authorizations/cookie/{cookie_name}/{cookie_value}",
}


@schemathesis.check
class reaches_2xx:
    """Fail for an operation that never answered 2xx during the whole run.

    Every operation gets an example aimed at an existing fixture (see schemathesis_spec.py), so a
    documented endpoint that only ever answers 404 is missing from oxhub's router (its 404 is
    documented for unknown names, so the per-response checks cannot see that)."""

    def __init__(self):
        self.tested = {}
        self.reached = set()

    def after_response(self, ctx, response, case):
        if case.method.upper() != case.operation.method.upper():
            return  # a probe with another method (OPTIONS, TRACE, ...), not this operation
        label = case.operation.label
        self.tested.setdefault(label, set()).add(response.status_code)
        if 200 <= response.status_code < 300:
            self.reached.add(label)

    def after_run(self, ctx):
        never = sorted(set(self.tested) - self.reached - NEVER_2XX_OK)
        if never:
            raise AssertionError(
                "Operations that never answered 2xx (statuses seen):\n"
                + "\n".join(f"  {op}: {sorted(self.tested[op])}" for op in never)
            )


@schemathesis.check
def jupyterhub_version_header(ctx, response, case):
    """hub-api.md §1: every Hub response carries X-JupyterHub-Version (single-user servers and
    services read it)."""
    if "x-jupyterhub-version" not in response.headers:  # keys are lower-cased
        raise AssertionError("Missing X-JupyterHub-Version header")
