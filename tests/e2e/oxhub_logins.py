#!/usr/bin/env python3
"""End-to-end tests of oxhub's redirect logins against a real OpenID provider (node
oidc-provider, tests/idp/idp.mjs), browser-less: the hub's /hub/oauth_login, the provider's
login form, the provider's redirect back to /hub/oauth_callback.

The GitHub, GitLab, Google and CILogon presets get their OAuth part (authorize and token
endpoints) from the same real provider; their REST APIs (GitHub's /user and membership
endpoints, GitLab's /api/v4, Google's userinfo with its `hd` claim, CILogon's userinfo with its
`idp` claim) cannot run here, so a small local server answers with those services' documented
JSON, for the user the provider's /me names for the bearer token.

Run with the e2e venv:

    .cache/venv-e2e/bin/python tests/e2e/oxhub_logins.py --oxhub target/debug/oxhub

The provider is started once for all scenarios, with the hubs' callback URLs registered; every
hub picks its ports at run time. The last line printed is `oxhub-logins: N passed, N failed`.
"""
import base64
import html
import http.server
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ldap"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from slapd import Slapd  # noqa: E402
from common import (  # noqa: E402
    Abort, Checks, free_ports, parse_e2e_args, run_scenario, start_logged, stop_process, wait_started,
)
from oxhub_jupyterlab import Hub, VENV_BIN, answers_200, follow, login  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
IDP_DIR = os.path.join(HERE, "..", "idp")
CRYPT_KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
DIRECT_REDIRECT = "http://127.0.0.1:9/direct-callback"
# Numeric ids and memberships the fake provider APIs answer with.
IDS = {"alice": 1, "bob": 2, "carol": 3, "dave": 4}


class Idp:
    """The real OpenID provider, started once."""

    def __init__(self, redirect_uris, at_ttl=5):
        (self.port,) = free_ports(1)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(tempfile.mkdtemp(prefix="oxhub-idp-"), "idp.log")
        env = dict(os.environ, PORT=str(self.port), AT_TTL=str(at_ttl),
                   REDIRECT_URIS=",".join(redirect_uris + [DIRECT_REDIRECT]))
        self.proc = start_logged(["node", os.path.join(IDP_DIR, "idp.mjs")], self.log_path, "w", cwd=IDP_DIR, env=env)
        if not wait_started(self.proc, self.up, 30):
            raise Abort(f"the OpenID provider did not start: {open(self.log_path).read()[-2000:]}")

    def up(self):
        return answers_200(self.url + "/.well-known/openid-configuration")

    def sign_in(self, s, authorize_url, user, password=None):
        """From the authorize URL through the provider's login form; returns the URL the
        provider redirects the browser to (the relying party's callback)."""
        r = s.get(authorize_url, allow_redirects=False, timeout=10)
        for _ in range(6):
            if r.status_code not in (302, 303):
                raise Abort(f"provider answered {r.status_code}: {r.text[:300]}")
            loc = urllib.parse.urljoin(self.url, r.headers["location"])
            if not loc.startswith(self.url):
                return loc
            if "/interaction/" in loc:
                s.get(loc, timeout=10)
                r = s.post(loc, data={"login": user, "password": password or f"{user}pw"},
                           allow_redirects=False, timeout=10)
            else:
                r = s.get(loc, allow_redirects=False, timeout=10)
        raise Abort("the provider never redirected back")

    def direct_tokens(self, client, user):
        """A code flow run by the test itself for `client` (its own id_token, say)."""
        s = requests.Session()
        q = urllib.parse.urlencode({"client_id": client, "response_type": "code", "scope": "openid email profile",
                                    "redirect_uri": DIRECT_REDIRECT, "state": "direct", "nonce": "direct-nonce"})
        back = self.sign_in(s, f"{self.url}/auth?{q}", user)
        code = urllib.parse.parse_qs(urllib.parse.urlparse(back).query)["code"][0]
        r = requests.post(self.url + "/token", data={"grant_type": "authorization_code", "code": code,
                                                     "redirect_uri": DIRECT_REDIRECT, "client_id": client,
                                                     "client_secret": f"{client}-secret"}, timeout=10)
        return r.json()

    def stop(self):
        stop_process(self.proc, timeout=10)


class FakeApis(http.server.ThreadingHTTPServer):
    """GitHub's, GitLab's, Google's and CILogon's APIs as documented, for the provider's users,
    and a token endpoint in front of the real one that can tamper with id_tokens."""

    daemon_threads = True

    def __init__(self, idp):
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.idp = idp
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.tamper = "none"      # none | other-aud | bad-sig | replay
        self.foreign_id_token = None
        self.replayed_id_token = None
        self.last_id_token = None
        self.seen = []            # paths asked, for the membership checks
        threading.Thread(target=self.serve_forever, daemon=True).start()


class FakeHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, status, body=None, headers=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("content-type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def who(self):
        """The provider's user for the bearer token (None when the provider refuses it)."""
        auth = self.headers.get("authorization", "")
        r = requests.get(self.server.idp.url + "/me", headers={"authorization": auth}, timeout=10)
        return r.json().get("sub") if r.status_code == 200 else None

    def do_POST(self):
        srv = self.server
        if self.path != "/tamper/token":
            return self.send(404, {"message": "Not Found"})
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {"content-type": self.headers.get("content-type", "")}
        if self.headers.get("authorization"):
            headers["authorization"] = self.headers["authorization"]
        r = requests.post(srv.idp.url + "/token", data=body, headers=headers, timeout=10)
        tokens = r.json()
        if "id_token" in tokens:
            srv.last_id_token = tokens["id_token"]
            if srv.tamper == "other-aud":
                tokens["id_token"] = srv.foreign_id_token
            elif srv.tamper == "bad-sig":
                head, payload, sig = tokens["id_token"].split(".")
                claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                claims["sub"] = "mallory"
                forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
                tokens["id_token"] = f"{head}.{forged}.{sig}"
            elif srv.tamper == "replay":
                tokens["id_token"] = srv.replayed_id_token
        self.send(r.status_code, tokens)

    def do_GET(self):
        srv = self.server
        srv.seen.append(self.path)
        path = self.path.split("?")[0]
        user = self.who()
        if user is None:
            return self.send(401, {"message": "Bad credentials"})
        # ---- GitHub (REST API v3)
        if path == "/github/user":
            return self.send(200, {"login": user, "id": IDS[user], "name": user.title(), "email": None})
        if path == "/github/user/emails":
            return self.send(200, [{"email": f"{user}-secondary@example.org", "primary": False, "verified": True},
                                   {"email": f"{user}@example.org", "primary": True, "verified": True}])
        if path == "/github/user/teams":
            page = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("page", ["1"])[0]
            if page == "1":
                nxt = f'<{srv.url}/github/user/teams?per_page=100&page=2>; rel="next"'
                return self.send(200, [{"slug": "t1"}, {"slug": "t2"}], [("link", nxt)])
            return self.send(200, [{"slug": "t3"}])
        m = re.fullmatch(r"/github/orgs/([^/]+)/members/([^/]+)", path)
        if m:
            member = (m.group(1), m.group(2)) == ("org1", "alice") and user == "alice"
            return self.send(204) if member else self.send(404, {"message": "Not Found"})
        m = re.fullmatch(r"/github/orgs/([^/]+)/teams/([^/]+)/members/([^/]+)", path)
        if m:
            member = m.groups() == ("org2", "team1", "bob") and user == "bob"
            return self.send(204) if member else self.send(404, {"message": "Not Found"})
        # ---- GitLab (API v4)
        if path == "/gitlab/api/v4/user":
            return self.send(200, {"username": user, "id": IDS[user], "name": user.title()})
        if path == "/gitlab/api/v4/version":
            return self.send(200, {"version": "16.11.2-ee", "revision": "x"})
        m = re.fullmatch(r"/gitlab/api/v4/groups/([^/]+)/members/all/(\d+)", path)
        if m:
            # alice is in grp/sub; carol only in its parent grp.
            members = {"grp%2Fsub": {IDS["alice"]}, "grp": {IDS["carol"]}}
            if int(m.group(2)) in members.get(m.group(1), set()):
                return self.send(200, {"id": int(m.group(2)), "access_level": 10})
            return self.send(404, {"message": "404 Not found"})
        m = re.fullmatch(r"/gitlab/api/v4/projects/(\d+)/members/all/(\d+)", path)
        if m:
            levels = {("42", IDS["bob"]): 30, ("42", IDS["dave"]): 20}
            level = levels.get((m.group(1), int(m.group(2))))
            return self.send(200, {"access_level": level}) if level else self.send(404, {"message": "404 Not found"})
        # ---- Google (oauth2 v1 userinfo)
        if path == "/google/oauth2/v1/userinfo":
            hd = {"alice": "example.org", "dave": "example.org"}.get(user)   # bob: a gmail-like account
            info = {"id": str(IDS[user]), "email": f"{user}@example.org", "verified_email": user != "dave"}
            if hd:
                info["hd"] = hd
            return self.send(200, info)
        # ---- CILogon (oauth2/userinfo)
        if path == "/cilogon/oauth2/userinfo":
            idp = {"alice": "https://idp.example.org/saml"}.get(user, "https://evil.example.com/idp")
            return self.send(200, {"sub": f"http://cilogon.org/serverA/users/{IDS[user]}", "idp": idp,
                                   "email": f"{user}@example.org"})
        return self.send(404, {"message": "Not Found"})


def oauth_login(hub, idp, user, next_path=None):
    """A browser-less login through the provider: returns (session, callback response)."""
    s = requests.Session()
    q = "?next=" + urllib.parse.quote(next_path) if next_path else ""
    r = s.get(hub.url + "/hub/oauth_login" + q, allow_redirects=False, timeout=10)
    if r.status_code != 302:
        raise Abort(f"/hub/oauth_login answered {r.status_code}: {r.text[:300]} {hub.tail(5)}")
    back = idp.sign_in(s, r.headers["location"], user)
    return s, s.get(back, allow_redirects=False, timeout=30)


def oidc_config(idp, fake, hub, extra=""):
    return f"""
c.JupyterHub.authenticator_class = 'generic-oauth'
c.OAuthenticator.client_id = 'hub'
c.OAuthenticator.client_secret = 'hub-secret'
c.OAuthenticator.oauth_callback_url = '{hub_url(hub)}/hub/oauth_callback'
c.Spawner.cmd = ['{VENV_BIN}/jupyterhub-singleuser']
c.Spawner.default_url = '/lab'
{extra}
"""


def hub_url(ports):
    return f"http://127.0.0.1:{ports[0]}"


def user_model(hub, name):
    r = hub.api("GET", f"/users/{name}")
    return r.json() if r.status_code == 200 else {}


# ---------------------------------------------------------------------------- scenarios


def scenario_oidc(oxhub, c, idp, fake, ports):
    """GenericOAuthenticator with OpenID discovery: claims to name and groups, JupyterLab, state, id_token checks, refresh"""
    extra = f"""
c.GenericOAuthenticator.oidc_issuer = '{idp.url}'
c.GenericOAuthenticator.token_url = '{fake.url}/tamper/token'
c.GenericOAuthenticator.scope = ['openid', 'email', 'profile', 'groups', 'offline_access']
c.GenericOAuthenticator.username_claim = 'preferred_username'
c.GenericOAuthenticator.login_service = 'Test IdP'
c.GenericOAuthenticator.custom_403_message = 'Ask the lab manager for access.'
c.GenericOAuthenticator.logout_redirect_url = '{idp.url}/session/end'
c.Authenticator.manage_groups = True
c.GenericOAuthenticator.allowed_groups = {{'hub-users'}}
c.GenericOAuthenticator.admin_groups = {{'hub-admins'}}
c.Authenticator.enable_auth_state = True
c.Authenticator.auth_refresh_age = 2
"""
    hub = Hub(oxhub, oidc_config(idp, fake, ports, extra), env_extra={"JUPYTERHUB_CRYPT_KEY": CRYPT_KEY}, ports=ports)
    try:
        hub.start()
        r = requests.get(hub.url + "/hub/login?next=/hub/home", timeout=10)
        c.check("the login page offers 'Sign in with Test IdP', keeping next",
                r.status_code == 200 and "Sign in with Test IdP" in r.text
                and 'href="/hub/oauth_login?next=%2Fhub%2Fhome"' in html.unescape(r.text)
                and 'name="password"' not in r.text,
                r.text[:500])
        s = requests.Session()
        r = s.get(hub.url + "/hub/oauth_login", allow_redirects=False, timeout=10)
        q = urllib.parse.parse_qs(urllib.parse.urlparse(r.headers.get("location", "")).query)
        c.check("oauth_login sends the browser to the discovered authorize endpoint with state, PKCE S256 and a nonce",
                r.status_code == 302 and r.headers["location"].startswith(idp.url + "/auth?")
                and q.get("code_challenge_method") == ["S256"] and q.get("nonce") and q.get("state")
                and q.get("client_id") == ["hub"] and "code_verifier" not in r.headers["location"],
                r.headers.get("location"))
        state_cookie = r.cookies.get("oauthenticator-state")
        c.check("the state is bound to the browser by an HttpOnly cookie",
                state_cookie and "httponly" in r.headers.get("set-cookie", "").lower(), r.headers.get("set-cookie"))

        # alice: a member of hub-users, all the way to JupyterLab.
        s, r = oauth_login(hub, idp, "alice")
        c.require("alice's callback logs her in (302 to the hub, state cookie cleared)",
                  r.status_code == 302 and r.headers["location"].startswith("/hub/")
                  and "oauthenticator-state=;" in r.headers.get("set-cookie", ""),
                  f"{r.status_code} {r.headers.get('location')} {hub.tail(8)}")
        r = follow(s, hub, r, pending_wait=120)
        c.require("an OpenID login ends on the JupyterLab page",
                  r.status_code == 200 and r.url.startswith(hub.url + "/user/alice/lab") and "JupyterLab" in r.text,
                  f"{r.status_code} {r.url} {hub.tail(10)}")
        m = user_model(hub, "alice")
        c.check("the groups claim made alice a member of hub-users, not an admin",
                m.get("groups") == ["hub-users"] and m.get("admin") is False, m)
        state = m.get("auth_state") or {}
        c.check("auth_state holds the tokens, the granted scopes as a list and the userinfo",
                state.get("access_token") and state.get("refresh_token") and state.get("id_token")
                and "openid" in (state.get("scope") or []) and state.get("token_response", {}).get("token_type")
                and state.get("oauth_user", {}).get("preferred_username") == "alice",
                sorted(state))
        genuine_id_token = fake.last_id_token

        # bob: hub-admins makes him an admin; carol: no allowed group.
        s, r = oauth_login(hub, idp, "bob")
        c.check("bob logs in and hub-admins makes him an admin",
                r.status_code == 302 and user_model(hub, "bob").get("admin") is True, r.status_code)
        s, r = oauth_login(hub, idp, "carol")
        c.check("carol (in no allowed group) gets 403 with custom_403_message, and no user is created",
                r.status_code == 403 and "Ask the lab manager for access." in r.text
                and hub.api("GET", "/users/carol").status_code == 404, r.status_code)

        # state: missing cookie, altered, replayed.
        s = requests.Session()
        r = s.get(hub.url + "/hub/oauth_login", allow_redirects=False, timeout=10)
        saved_cookie = s.cookies.get("oauthenticator-state")
        back = idp.sign_in(s, r.headers["location"], "alice")
        r = requests.get(back, allow_redirects=False, timeout=10)
        c.check("a callback without the state cookie is refused (400, missing from cookies)",
                r.status_code == 400 and "OAuth state missing from cookies" in r.text, r.status_code)
        forged = re.sub(r"state=[^&]+", "state=forged-state", back)
        r = s.get(forged, allow_redirects=False, timeout=10)
        c.check("a forged state is refused (400, state mismatch), and the cookie is read once",
                r.status_code == 400 and "OAuth state mismatch" in r.text
                and "oauthenticator-state=;" in r.headers.get("set-cookie", ""), r.status_code)
        replay = requests.Session()
        replay.cookies.set("oauthenticator-state", saved_cookie)
        r = replay.get(back, allow_redirects=False, timeout=10)
        c.check("the genuine callback with the browser's state cookie logs in", r.status_code == 302,
                f"{r.status_code} {r.text[:200]}")
        replay = requests.Session()
        replay.cookies.set("oauthenticator-state", saved_cookie)
        r = replay.get(back, allow_redirects=False, timeout=10)
        c.check("a replayed state (cookie and URL captured) is refused: a state works once",
                r.status_code == 400 and "already used" in r.text, r.status_code)

        # id_tokens the hub must not accept.
        fake.foreign_id_token = idp.direct_tokens("other", "alice")["id_token"]
        fake.replayed_id_token = genuine_id_token
        for mode, what in [("other-aud", "an id_token issued to another client (wrong audience)"),
                           ("bad-sig", "an id_token whose claims were altered (bad signature)"),
                           ("replay", "an earlier login's id_token (nonce mismatch)")]:
            fake.tamper = mode
            s, r = oauth_login(hub, idp, "alice")
            c.check(f"{what} is refused (403)", r.status_code == 403 and "id_token refused" in hub.tail(20),
                    f"{r.status_code} {hub.tail(3)}")
        fake.tamper = "none"

        # refresh: the access token lives 5 s; the hub refreshes after 2 s with the refresh token.
        s, r = oauth_login(hub, idp, "alice")
        before = user_model(hub, "alice").get("auth_state", {})
        time.sleep(6)
        r = s.get(hub.url + "/hub/home", allow_redirects=False, timeout=30)
        after = user_model(hub, "alice").get("auth_state", {})
        c.check("after the access token expired, a page visit refreshes it with the refresh token",
                r.status_code == 200 and after.get("access_token") and after["access_token"] != before.get("access_token")
                and after.get("oauth_user", {}).get("preferred_username") == "alice",
                f"{r.status_code} {hub.tail(5)}")

        r = s.get(hub.url + "/hub/logout", allow_redirects=False, timeout=10)
        c.check("logout goes on to logout_redirect_url", r.status_code == 302
                and r.headers.get("location") == f"{idp.url}/session/end", r.headers.get("location"))
        r = s.get(hub.url + "/hub/home", allow_redirects=False, timeout=10)
        c.check("after logout the hub cookie no longer works", r.status_code == 302
                and "/hub/login" in r.headers.get("location", ""), r.status_code)
    finally:
        hub.cleanup()


def scenario_explicit_urls(oxhub, c, idp, fake, ports):
    """GenericOAuthenticator configured as upstream (three URLs), HTTP Basic client auth, auto_login"""
    extra = f"""
c.GenericOAuthenticator.client_id = 'hub-basic'
c.GenericOAuthenticator.client_secret = 'hub-basic-secret'
c.GenericOAuthenticator.basic_auth = True
c.GenericOAuthenticator.authorize_url = '{idp.url}/auth'
c.GenericOAuthenticator.token_url = '{idp.url}/token'
c.GenericOAuthenticator.userdata_url = '{idp.url}/me'
c.GenericOAuthenticator.scope = ['openid', 'profile', 'groups']
c.GenericOAuthenticator.username_key = 'preferred_username'
c.GenericOAuthenticator.claim_groups_key = 'groups'
c.Authenticator.manage_groups = True
c.Authenticator.allow_all = True
c.Authenticator.auto_login = True
"""
    hub = Hub(oxhub, oidc_config(idp, fake, ports, extra), ports=ports)
    try:
        hub.start()
        r = requests.get(hub.url + "/hub/login?next=/hub/token", allow_redirects=False, timeout=10)
        c.check("auto_login sends /hub/login straight on to oauth_login, keeping next",
                r.status_code == 302 and r.headers.get("location") == "/hub/oauth_login?next=%2Fhub%2Ftoken",
                f"{r.status_code} {r.headers.get('location')}")
        s, r = oauth_login(hub, idp, "bob", next_path="/hub/home")
        c.check("bob logs in with client credentials sent as HTTP Basic, and goes to next",
                r.status_code == 302 and r.headers.get("location") == "/hub/home", f"{r.status_code} {hub.tail(5)}")
        m = user_model(hub, "bob")
        c.check("the deprecated claim_groups_key names the userinfo's groups claim",
                m.get("groups") == ["hub-admins", "hub-users"], m)
        c.check("the deprecated username_key is username_claim", m.get("name") == "bob", m)
    finally:
        hub.cleanup()


def scenario_github(oxhub, c, idp, fake, ports):
    """GitHubOAuthenticator: organisations and teams by the member endpoints, teams in auth_state, primary e-mail"""
    extra = f"""
c.JupyterHub.authenticator_class = 'github'
c.GitHubOAuthenticator.authorize_url = '{idp.url}/auth'
c.GitHubOAuthenticator.token_url = '{idp.url}/token'
c.GitHubOAuthenticator.github_api = '{fake.url}/github'
c.GitHubOAuthenticator.scope = ['openid', 'read:org', 'user:email']
c.GitHubOAuthenticator.github_organization_whitelist = {{'org1', 'org2:team1'}}
c.GitHubOAuthenticator.populate_teams_in_auth_state = True
c.Authenticator.enable_auth_state = True
c.Authenticator.username_map = {{'alice': 'alice-gh'}}
"""
    hub = Hub(oxhub, oidc_config(idp, fake, ports, extra), env_extra={"JUPYTERHUB_CRYPT_KEY": CRYPT_KEY}, ports=ports)
    try:
        hub.start()
        r = requests.get(hub.url + "/hub/login", timeout=10)
        c.check("the login page says 'Sign in with GitHub'", "Sign in with GitHub" in r.text)
        fake.seen.clear()
        s, r = oauth_login(hub, idp, "alice")
        c.check("GHSA-384w-5v3f-q499: the deprecated github_organization_whitelist still decides (alice of org1 is in)",
                r.status_code == 302, f"{r.status_code} {hub.tail(5)}")
        c.check("membership is asked for the GitHub login, not the mapped hub name",
                "/github/orgs/org1/members/alice" in fake.seen, fake.seen)
        state = user_model(hub, "alice-gh").get("auth_state") or {}
        c.check("populate_teams_in_auth_state follows the Link pages (3 teams)",
                [t.get("slug") for t in state.get("teams", [])] == ["t1", "t2", "t3"], state.get("teams"))
        c.check("an empty e-mail is filled from /user/emails' primary entry",
                state.get("github_user", {}).get("email") == "alice@example.org", state.get("github_user"))
        s, r = oauth_login(hub, idp, "bob")
        c.check("bob of org2's team1 is in (org:team entries)", r.status_code == 302, r.status_code)
        s, r = oauth_login(hub, idp, "carol")
        c.check("GHSA-384w-5v3f-q499: carol, in no allowed organisation, is refused (403)",
                r.status_code == 403 and hub.api("GET", "/users/carol").status_code == 404, r.status_code)
    finally:
        hub.cleanup()


def scenario_gitlab(oxhub, c, idp, fake, ports):
    """GitLabOAuthenticator: groups and projects by the per-user member endpoints (CVE-2018-7206)"""
    extra = f"""
c.JupyterHub.authenticator_class = 'gitlab'
c.GitLabOAuthenticator.gitlab_url = '{fake.url}/gitlab'
c.GitLabOAuthenticator.authorize_url = '{idp.url}/auth'
c.GitLabOAuthenticator.token_url = '{idp.url}/token'
c.GitLabOAuthenticator.scope = ['openid']
c.GitLabOAuthenticator.username_claim = 'username'
c.GitLabOAuthenticator.allowed_gitlab_groups = {{'grp/sub'}}
c.GitLabOAuthenticator.allowed_project_ids = {{'42'}}
"""
    hub = Hub(oxhub, oidc_config(idp, fake, ports, extra), ports=ports)
    try:
        hub.start()
        fake.seen.clear()
        s, r = oauth_login(hub, idp, "alice")
        c.check("alice, a member of grp/sub, is in (member endpoint answered 200 for her id)",
                r.status_code == 302 and "/gitlab/api/v4/groups/grp%2Fsub/members/all/1" in fake.seen,
                f"{r.status_code} {fake.seen} {hub.tail(4)}")
        s, r = oauth_login(hub, idp, "bob")
        c.check("bob, a Developer (30) of project 42, is in", r.status_code == 302, r.status_code)
        s, r = oauth_login(hub, idp, "carol")
        c.check("CVE-2018-7206: carol, a member of the parent group grp only, is refused (403)",
                r.status_code == 403, r.status_code)
        s, r = oauth_login(hub, idp, "dave")
        c.check("dave, a Reporter (20) of project 42, is refused (403)", r.status_code == 403, r.status_code)
    finally:
        hub.cleanup()


def scenario_google(oxhub, c, idp, fake, ports):
    """GoogleOAuthenticator: the hd claim decides the workspace, unverified e-mail refused even with allow_all"""
    extra = f"""
c.JupyterHub.authenticator_class = 'google'
c.GoogleOAuthenticator.authorize_url = '{idp.url}/auth'
c.GoogleOAuthenticator.token_url = '{idp.url}/token'
c.GoogleOAuthenticator.google_api_url = '{fake.url}/google'
c.GoogleOAuthenticator.hosted_domain = ['Example.org']
c.Authenticator.allow_all = True
"""
    hub = Hub(oxhub, oidc_config(idp, fake, ports, extra), ports=ports)
    try:
        hub.start()
        s, r = oauth_login(hub, idp, "alice")
        c.check("alice of the example.org workspace logs in as 'alice' (the one hosted domain is stripped)",
                r.status_code == 302 and hub.api("GET", "/users/alice").status_code == 200,
                f"{r.status_code} {hub.tail(4)}")
        s, r = oauth_login(hub, idp, "bob")
        c.check("GHSA-55m3-44xf-hg4h: bob, with an @example.org e-mail but no hd claim, is refused (403)",
                r.status_code == 403 and hub.api("GET", "/users/bob").status_code == 404, r.status_code)
        s, r = oauth_login(hub, idp, "dave")
        c.check("dave's unverified e-mail is refused although allow_all is on (a deliberate deviation)",
                r.status_code == 403, r.status_code)
    finally:
        hub.cleanup()


def scenario_auth0(oxhub, c, idp, fake, ports):
    """Auth0OAuthenticator: an unverified e-mail never logs in"""
    extra = f"""
c.JupyterHub.authenticator_class = 'auth0'
c.Auth0OAuthenticator.auth0_domain = 'tenant.example'
c.Auth0OAuthenticator.authorize_url = '{idp.url}/auth'
c.Auth0OAuthenticator.token_url = '{idp.url}/token'
c.Auth0OAuthenticator.userdata_url = '{idp.url}/me'
c.Auth0OAuthenticator.scope = ['openid', 'email']
c.Authenticator.allow_all = True
"""
    hub = Hub(oxhub, oidc_config(idp, fake, ports, extra), ports=ports)
    try:
        hub.start()
        s, r = oauth_login(hub, idp, "alice")
        c.check("alice (verified e-mail) logs in as alice@example.org",
                r.status_code == 302 and hub.api("GET", "/users/alice@example.org").status_code == 200,
                f"{r.status_code} {hub.tail(4)}")
        s, r = oauth_login(hub, idp, "dave")
        c.check("GHSA-rrvg-cxh4-qhrv: dave (email_verified false) is refused, even with allow_all",
                r.status_code == 403 and hub.api("GET", "/users/dave@example.org").status_code == 404, r.status_code)
        r = s.get(hub.url + "/hub/logout", allow_redirects=False, timeout=10)
        c.check("logout goes to Auth0's /v2/logout by default",
                r.headers.get("location") == "https://tenant.example/v2/logout", r.headers.get("location"))
    finally:
        hub.cleanup()


def scenario_cilogon(oxhub, c, idp, fake, ports):
    """CILogonOAuthenticator: allowed_idps decides by the idp claim, never by the e-mail's domain"""
    extra = f"""
c.JupyterHub.authenticator_class = 'cilogon'
c.CILogonOAuthenticator.authorize_url = '{idp.url}/auth'
c.CILogonOAuthenticator.token_url = '{idp.url}/token'
c.CILogonOAuthenticator.userdata_url = '{fake.url}/cilogon/oauth2/userinfo'
c.CILogonOAuthenticator.scope = ['openid', 'email']
c.CILogonOAuthenticator.allowed_idps = {{
    'https://idp.example.org/saml': {{'username_derivation': {{'username_claim': 'email', 'action': 'strip_idp_domain', 'domain': 'example.org'}}}},
}}
c.Authenticator.allow_all = True
"""
    hub = Hub(oxhub, oidc_config(idp, fake, ports, extra), ports=ports)
    try:
        hub.start()
        s, r = oauth_login(hub, idp, "alice")
        c.check("alice, through the allowed identity provider, logs in as 'alice'",
                r.status_code == 302 and hub.api("GET", "/users/alice").status_code == 200,
                f"{r.status_code} {hub.tail(4)}")
        s, r = oauth_login(hub, idp, "bob")
        c.check("GHSA-r7v4-jwx9-wx43: bob, through another identity provider with an @example.org e-mail, is refused",
                r.status_code == 403 and hub.api("GET", "/users/bob").status_code == 404, r.status_code)
    finally:
        hub.cleanup()


def scenario_provider_down(oxhub, c, idp, fake, ports):
    """An identity provider that does not answer: a clear 503, nothing lost"""
    (dead,) = free_ports(1)
    extra = f"""
c.GenericOAuthenticator.oidc_issuer = 'http://127.0.0.1:{dead}'
c.Authenticator.allow_all = True
"""
    hub = Hub(oxhub, oidc_config(idp, fake, ports, extra), ports=ports)
    try:
        hub.start()
        r = requests.get(hub.url + "/hub/oauth_login", allow_redirects=False, timeout=30)
        c.check("oauth_login answers 503 'The login service is unavailable' when discovery fails",
                r.status_code == 503 and "login service is unavailable" in r.text, r.status_code)
        c.check("the hub still serves its API", hub.api("GET", "/users").status_code == 200)
    finally:
        hub.cleanup()


def ldap_config(slapd, extra):
    return f"""
c.JupyterHub.authenticator_class = 'ldapauthenticator.LDAPAuthenticator'
c.LDAPAuthenticator.server_address = '127.0.0.1'
c.LDAPAuthenticator.server_port = {slapd.port}
c.Spawner.cmd = ['{VENV_BIN}/jupyterhub-singleuser']
c.Spawner.default_url = '/lab'
{extra}
"""


def scenario_ldap(oxhub, c, idp, fake, ports):
    """LDAPAuthenticator against a real slapd: bind template, lookup_dn, groups, StartTLS, LDAPS, injection"""
    if os.geteuid() != 0 or not shutil.which("slapd"):
        c.check("slapd is installed and the tests run as root (the test script installs it)",
                os.environ.get("OXHUB_TEST_REQUIRE_LDAP") != "1")
        return
    slapd = Slapd()
    people = "ou=people," + slapd.BASE
    try:
        extra = f"""
c.LDAPAuthenticator.tls_strategy = 'insecure'
c.LDAPAuthenticator.bind_dn_template = ['uid={{username}},{people}']
c.LDAPAuthenticator.allowed_groups = ['cn=hub-users,ou=groups,{slapd.BASE}']
c.LDAPAuthenticator.auth_state_attributes = ['mail']
c.Authenticator.enable_auth_state = True
"""
        hub = Hub(oxhub, ldap_config(slapd, extra), env_extra={"JUPYTERHUB_CRYPT_KEY": CRYPT_KEY}, ports=ports)
        try:
            hub.start()
            s, r = login(hub, c, "alice", "alicepw")
            c.require("alice binds with her DN from bind_dn_template and is in hub-users (302)", r.status_code == 302,
                      f"{r.status_code} {hub.tail(6)}")
            r = follow(s, hub, s.get(hub.url + "/hub/spawn", allow_redirects=False, timeout=60), pending_wait=120)
            c.check("an LDAP login ends on the JupyterLab page",
                    r.status_code == 200 and r.url.startswith(hub.url + "/user/alice/lab") and "JupyterLab" in r.text,
                    f"{r.status_code} {r.url}")
            state = user_model(hub, "alice").get("auth_state") or {}
            c.check("auth_state holds the matched group and the requested attributes",
                    state.get("ldap_groups") == [f"cn=hub-users,ou=groups,{slapd.BASE}"]
                    and state.get("user_attributes", {}).get("mail") == ["alice@example.org"], state)
            s, r = login(hub, c, "alice", "wrong")
            c.check("a wrong password is refused (403)", r.status_code == 403, r.status_code)
            s, r = login(hub, c, "bob", "bobpw")
            c.check("bob (right password, not in hub-users) is refused (403)",
                    r.status_code == 403 and hub.api("GET", "/users/bob").status_code == 404, r.status_code)
            for name in ["*", "alice)(uid=*", "alice,ou=people", "al\x00ice", "ALICE"]:
                s, r = login(hub, c, name, "alicepw")
                c.check(f"the name {name!r} logs nobody in (valid_username_regex, as typed)", r.status_code == 403,
                        r.status_code)
        finally:
            hub.cleanup()

        # lookup_dn over StartTLS, with the regex opened up so escaping alone must hold.
        extra = f"""
c.LDAPAuthenticator.server_port = {slapd.port}
c.LDAPAuthenticator.tls_strategy = 'before_bind'
c.LDAPAuthenticator.tls_kwargs = {{'ca_certs_file': '{slapd.ca}'}}
c.LDAPAuthenticator.lookup_dn = True
c.LDAPAuthenticator.user_search_base = '{people}'
c.LDAPAuthenticator.user_attribute = 'uid'
c.LDAPAuthenticator.lookup_dn_user_dn_attribute = 'cn'
c.LDAPAuthenticator.use_lookup_dn_username = True
c.LDAPAuthenticator.valid_username_regex = r'.+'
c.LDAPAuthenticator.allowed_groups = ['cn=staff,ou=groups,{slapd.BASE}']
c.Authenticator.allowed_users = {{'alice.a'}}
"""
        hub = Hub(oxhub, ldap_config(slapd, extra), ports=free_ports(3))
        try:
            hub.start()
            s, r = login(hub, c, "bob", "bobpw")
            c.check("lookup_dn over StartTLS: bob is found, binds, is in staff (memberUid = the resolved cn) and is named by it",
                    r.status_code == 302 and hub.api("GET", "/users/bob.b").status_code == 200,
                    f"{r.status_code} {hub.tail(6)}")
            s, r = login(hub, c, "alice", "alicepw")
            c.check("alice (in allowed_users as alice.a) logs in", r.status_code == 302, r.status_code)
            for name in ["al*", "*", "alice)(uid=*", "x)(|(uid=alice"]:
                s, r = login(hub, c, name, "alicepw")
                c.check(f"filter injection {name!r} with alice's password logs nobody in", r.status_code == 403,
                        r.status_code)
        finally:
            hub.cleanup()

        # LDAPS, and a bind template list whose first entry does not match.
        extra = f"""
c.LDAPAuthenticator.server_port = {slapd.tls_port}
c.LDAPAuthenticator.tls_strategy = 'on_connect'
c.LDAPAuthenticator.tls_kwargs = {{'ca_certs_file': '{slapd.ca}'}}
c.LDAPAuthenticator.bind_dn_template = ['uid={{username}},ou=nobody,{slapd.BASE}', 'uid={{username}},{people}']
c.Authenticator.allow_all = True
"""
        hub = Hub(oxhub, ldap_config(slapd, extra), ports=free_ports(3))
        try:
            hub.start()
            s, r = login(hub, c, "bob", "bobpw")
            c.check("LDAPS: bob binds with the second template", r.status_code == 302, f"{r.status_code} {hub.tail(6)}")
        finally:
            hub.cleanup()

        # The directory goes away: a clear 503, not "wrong password".
        slapd.stop()
        extra = "c.LDAPAuthenticator.tls_strategy = 'insecure'\n" \
                f"c.LDAPAuthenticator.bind_dn_template = 'uid={{username}},{people}'\nc.Authenticator.allow_all = True\n"
        hub = Hub(oxhub, ldap_config(slapd, extra), ports=free_ports(3))
        try:
            hub.start()
            s, r = login(hub, c, "alice", "alicepw")
            c.check("with the LDAP server down a login answers 503 'login service is unavailable'",
                    r.status_code == 503 and "login service is unavailable" in r.text, r.status_code)
        finally:
            hub.cleanup()
    finally:
        slapd.stop()


def scenario_native(oxhub, c, idp, fake, ports):
    """NativeAuthenticator: sign up, log in, JupyterLab"""
    extra = f"""
c.JupyterHub.authenticator_class = 'native'
c.NativeAuthenticator.open_signup = True
c.Spawner.cmd = ['{VENV_BIN}/jupyterhub-singleuser']
c.Spawner.default_url = '/lab'
"""
    hub = Hub(oxhub, extra, ports=ports)
    try:
        hub.start()
        s = requests.Session()
        r = s.get(hub.url + "/hub/signup", timeout=10)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', r.text).group(1)
        r = s.post(hub.url + "/hub/signup", data={"_xsrf": xsrf, "username": "erin", "signup_password": "erin's passphrase",
                                                  "signup_password_confirmation": "erin's passphrase"}, timeout=10)
        c.require("erin signs up (open_signup: no approval needed)", r.status_code == 200 and "log in now" in r.text,
                  f"{r.status_code} {hub.tail(4)}")
        s, r = login(hub, c, "erin", "erin's passphrase")
        c.require("erin logs in with her new password (302)", r.status_code == 302, f"{r.status_code} {hub.tail(4)}")
        r = follow(s, hub, s.get(hub.url + "/hub/spawn", allow_redirects=False, timeout=60), pending_wait=120)
        c.check("a NativeAuthenticator login ends on the JupyterLab page",
                r.status_code == 200 and r.url.startswith(hub.url + "/user/erin/lab") and "JupyterLab" in r.text,
                f"{r.status_code} {r.url}")
        r = s.get(hub.url + "/hub/token", timeout=10)
        c.check("the token page lists the server erin's browser authorized (OAuth) under Authorized Applications",
                r.status_code == 200 and 'id="oauth-clients-section"' in r.text and "Server at /user/erin/" in html.unescape(r.text),
                re.findall(r"<main>.*?</main>", r.text, re.S))
    finally:
        hub.cleanup()


SCENARIOS = [scenario_native, scenario_ldap, scenario_oidc, scenario_explicit_urls, scenario_github, scenario_gitlab, scenario_google,
             scenario_auth0, scenario_cilogon, scenario_provider_down]


def main():
    oxhub, only = parse_e2e_args()
    c = Checks()
    chosen = [s for s in SCENARIOS if not only or only in s.__name__]
    ports = {s: free_ports(3) for s in chosen}
    idp = None
    try:
        idp = Idp([hub_url(p) + "/hub/oauth_callback" for p in ports.values()])
        fake = FakeApis(idp)
        for scenario in chosen:
            run_scenario(c, scenario, oxhub, idp, fake, ports[scenario], abort_fails=True)
    except Abort as e:
        c.check("the OpenID provider started", False, str(e))
    finally:
        if idp:
            idp.stop()
    sys.exit(c.summary("oxhub-logins"))


if __name__ == "__main__":
    main()
