#!/usr/bin/env node
// Real-browser tests of oxhub's pages: Debian's Chromium driven by playwright-core (no browser
// download; the browser is /usr/bin/chromium, or CHROMIUM_PATH).
//
//   node tests/browser/run.mjs --oxhub target/debug/oxhub [--venv .cache/venv-e2e] [--only NAME]
//
// Each test starts its own `oxhub` (which starts its own proxy) in a temporary directory, with a
// jupyterhub_config.py like the e2e tests' (Dummy authenticator, the simple local spawner running
// the e2e venv's jupyterhub-singleuser + JupyterLab, loopback ports picked at run time), drives
// the hub's pages in a fresh Chromium profile, and stops the hub by PID (SIGTERM, then waits; the
// hub stops its proxy and servers). Screenshots of the key pages go to BROWSER_SCREENSHOTS
// (default: a new temporary directory); their paths are printed. The browser's console
// messages, failed requests, HTTP errors, dialogs and the hub requests it made are printed after
// each test. The last line is `browser: N passed, N failed`; the exit status is non-zero on any
// failure.
import { execFileSync, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  ROOT, PASSWORD, CHROMIUM, TEST_TIMEOUT_MS, parseArgs, sleep, waitFor, freePorts, pidsWith, py,
  Abort, Failure, Checks, Hub, openBrowser, printEvents, shot, submitLogin, waitForLab, clickStop,
  setShotsDir, axe,
} from "./lib.mjs";
import { PAGE_TESTS } from "./pages.mjs";

// ------------------------------------------------------------------ tests

const stopDefault = {
  hub: () => ({}),
  run: async (c, hub, { page }) => {
    await page.goto(hub.url + "/hub/login", { timeout: 30_000 });
    await axe(c, page, "the login page");
    await submitLogin(c, page, "alice", "login.png");
    const lab = await waitForLab(page, "/user/alice/", 90_000);
    c.require("login through the form leads to JupyterLab (#jp-main-dock-panel)", !lab, lab);
    const launcher = await page.locator(".jp-Launcher").first().waitFor({ state: "visible", timeout: 30_000 }).then(() => true, () => false);
    c.check("JupyterLab shows its launcher", launcher);
    await shot(page, "jupyterlab.png");
    const srv = await hub.server("alice");
    c.check("the REST API shows alice's server ready", srv && srv.ready, srv);

    await page.goto(hub.url + "/hub/home", { timeout: 30_000 });
    const stop = await page.locator("#stop").waitFor({ state: "visible", timeout: 15_000 }).then(() => true, () => false);
    c.require("/hub/home shows the Stop My Server button", stop, await page.locator("main").innerText().catch((e) => e.message));
    await shot(page, "home-running.png");
    await axe(c, page, "the home page (server running)");
    // As JupyterHub 6's home page: the page updates in place, no reload.
    const { response } = await clickStop(page, "#stop", { reload: false });
    const delPath = response ? new URL(response.url()).pathname : null;
    c.check("the Stop button sends DELETE /hub/api/users/alice/server",
      delPath === "/hub/api/users/alice/server", response ? `DELETE ${response.url()}` : "no DELETE request within 30 s");
    c.check("the DELETE succeeds (204 or 202)", response && [202, 204].includes(response.status()), response && response.status());
    const started = await page.locator("a#start", { hasText: "Start My Server" }).waitFor({ state: "visible", timeout: 20_000 }).then(() => true, () => false);
    c.check("then the Stop button goes and Start My Server links the spawn page", started && (await page.locator("#stop").count()) === 0
      && (await page.locator("a#start").getAttribute("href")) === "/hub/spawn/alice",
      await page.locator("main").innerText().catch((e) => e.message));
    await shot(page, "home-stopped.png");
    const after = await waitFor(async () => {
      const s = await hub.server("alice");
      return !(s && (s.ready || s.pending)) && { s };
    }, 15_000);
    c.check("the REST API shows alice's server not running", after, await hub.server("alice"));
    const gone = await waitFor(() => pidsWith(hub.marker).length === 0, 15_000);
    c.check("no process of alice's server is left", gone, pidsWith(hub.marker));
  },
};

const stopNamed = {
  hub: () => ({ extra: "c.JupyterHub.allow_named_servers = True" }),
  run: async (c, hub, { page }) => {
    await page.goto(hub.url + "/hub/home", { timeout: 30_000 });
    c.check("/hub/home sends a logged-out browser to the login page", new URL(page.url()).pathname === "/hub/login", page.url());
    await submitLogin(c, page, "alice");
    const home = await page.waitForURL((u) => u.pathname === "/hub/home", { timeout: 30_000 }).then(() => true, () => false);
    c.require("login with next=/hub/home comes back to the home page", home, page.url());
    const form = await page.locator("#new-server input[name=name]").waitFor({ state: "visible", timeout: 10_000 }).then(() => true, () => false);
    c.require("the home page has the Add New Server form", form);
    await page.fill("#new-server input[name=name]", "GPU box");
    await shot(page, "home-named-new.png");
    const put = page.waitForResponse((r) => r.request().method() === "PUT", { timeout: 30_000 }).catch(() => null);
    await page.click("#new-server button[type=submit]");
    const created = await put;
    c.check("Add New Server creates the server as JupyterHub 6 does: PUT …/servers/gpu-box with the display name",
      created && new URL(created.url()).pathname === "/hub/api/users/alice/servers/gpu-box" && created.status() === 201
        && JSON.parse(created.request().postData() || "{}").display_name === "GPU box",
      created ? `${created.status()} ${created.url()} ${created.request().postData()}` : "no PUT");
    const row = page.locator('tr[data-server-name="gpu-box"]');
    const listed = await row.locator("a.start-server").waitFor({ state: "visible", timeout: 15_000 }).then(() => true, () => false);
    c.require("after the reload its row shows the display name and a start link",
      listed && (await row.locator("th").textContent()) === "GPU box", await page.locator("main").innerText().catch((e) => e.message));
    await shot(page, "home-named-created.png");
    await axe(c, page, "the home page (named servers)");
    await row.locator("a.start-server").click();
    const lab = await waitForLab(page, "/user/alice/gpu-box/", 90_000);
    c.require("its start link starts the named server 'gpu-box' and opens its JupyterLab", !lab, lab);
    await shot(page, "jupyterlab-named.png");
    const srv = await hub.server("alice", "gpu-box");
    c.check("the REST API shows the named server ready", srv && srv.ready && srv.url === "/user/alice/gpu-box/", srv);

    await page.goto(hub.url + "/hub/home", { timeout: 30_000 });
    const stop = await row.locator("button.stop-server").waitFor({ state: "visible", timeout: 15_000 }).then(() => true, () => false);
    c.require("the named server's row has a stop button", stop, await page.locator("main").innerText().catch((e) => e.message));
    await shot(page, "home-named-running.png");
    const { response, reload } = await clickStop(page, 'tr[data-server-name="gpu-box"] button.stop-server');
    const delPath = response ? new URL(response.url()).pathname : null;
    c.check("its stop button sends DELETE /hub/api/users/alice/servers/gpu-box",
      delPath === "/hub/api/users/alice/servers/gpu-box", response ? `DELETE ${response.url()}` : "no DELETE request within 30 s");
    c.check("the DELETE succeeds (204 or 202)", response && [202, 204].includes(response.status()), response && response.status());
    c.check("the home page reloads after the stop", reload);
    const start = await page.locator('tr[data-server-name="gpu-box"] a.start-server').waitFor({ state: "visible", timeout: 20_000 }).then(() => true, () => false);
    c.check("after the reload the row offers 'start' instead of 'stop'",
      start && (await page.locator('tr[data-server-name="gpu-box"] button.stop-server').count()) === 0,
      await page.locator("main").innerText().catch((e) => e.message));
    await shot(page, "home-named-stopped.png");
    const after = await waitFor(async () => {
      const s = await hub.server("alice", "gpu-box");
      return !(s && (s.ready || s.pending)) && { s };
    }, 15_000);
    c.check("the REST API shows the named server not running", after, await hub.server("alice", "gpu-box"));
    const gone = await waitFor(() => pidsWith(hub.marker).length === 0, 15_000);
    c.check("no process of the named server is left", gone, pidsWith(hub.marker));
    page.acceptDialogs = true;
    const removed = page.waitForResponse((r) => r.request().method() === "DELETE", { timeout: 30_000 }).catch(() => null);
    await page.click('tr[data-server-name="gpu-box"] button.delete-server', { timeout: 10_000 });
    const del = await removed;
    c.check("its delete button (after a confirm) sends DELETE with {\"remove\": true}",
      del && del.ok() && JSON.parse(del.request().postData() || "{}").remove === true, del && del.status());
    const rowGone = await waitFor(async () => (await page.locator('tr[data-server-name="gpu-box"]').count()) === 0, 10_000);
    c.check("the row goes away and the REST API no longer lists the server", rowGone && !(await hub.server("alice", "gpu-box")));
  },
};

const slowSpawn = {
  // sh runs the script with $0 = jupyterhub-singleuser and "$@" = Spawner.args.
  hub: (opts) => ({
    cmd: ["/bin/sh", "-c", 'sleep 15; exec "$0" "$@"', path.join(opts.venv, "bin", "jupyterhub-singleuser")],
    extra: "c.Spawner.start_timeout = 120\nc.Spawner.http_timeout = 90",
  }),
  run: async (c, hub, { page }) => {
    const progressRequests = [];
    page.on("response", (r) => {
      if (new URL(r.url()).pathname.endsWith("/progress")) {
        progressRequests.push({ url: r.url(), status: r.status(), type: r.headers()["content-type"] || "" });
      }
    });
    const pendingLoads = [];
    page.on("framenavigated", (f) => {
      if (f === page.mainFrame() && new URL(f.url()).pathname.startsWith("/hub/spawn-pending/")) pendingLoads.push(f.url());
    });
    await page.goto(hub.url + "/hub/login", { timeout: 30_000 });
    const t0 = Date.now();
    await submitLogin(c, page, "alice");
    const pending = await page.waitForURL((u) => u.pathname === "/hub/spawn-pending/alice", { timeout: 40_000 }).then(() => true, () => false);
    c.require("after login the browser lands on /hub/spawn-pending/alice", pending, page.url());
    console.log(`# on spawn-pending ${((Date.now() - t0) / 1000).toFixed(1)} s after submitting the login form`);
    const seen = [];
    const moved = await waitFor(async () => {
      const v = await page.evaluate(() => {
        const bar = document.getElementById("progress-bar");
        const msg = document.getElementById("progress-message");
        return bar ? { value: parseInt(bar.getAttribute("aria-valuenow"), 10), message: msg ? msg.textContent : "" } : null;
      });
      if (v && !seen.some((s) => s.value === v.value && s.message === v.message)) seen.push(v);
      return v && v.value > 0;
    }, 30_000, 100);
    c.check("the progress bar moves above 0 on spawn-pending", moved, seen);
    console.log(`# progress seen: ${JSON.stringify(seen)}`);
    if (moved) {
      await shot(page, "spawn-pending.png");
      await axe(c, page, "spawn-pending");
    }
    const pr = progressRequests[0];
    c.check("spawn-pending's EventSource reads /hub/api/users/alice/server/progress as text/event-stream",
      pr && new URL(pr.url).pathname === "/hub/api/users/alice/server/progress" && pr.status === 200 && pr.type.startsWith("text/event-stream"),
      pr || "no progress request");
    const lab = await waitForLab(page, "/user/alice/", 90_000);
    c.require("spawn-pending goes on to JupyterLab by itself once the server is ready", !lab, lab);
    console.log(`# JupyterLab ${((Date.now() - t0) / 1000).toFixed(1)} s after submitting the login form`);
    c.check("spawn-pending was loaded once (no reload)", pendingLoads.length === 1, pendingLoads);
    await page.locator(".jp-Launcher").first().waitFor({ state: "visible", timeout: 30_000 }).catch(() => {});
    await shot(page, "jupyterlab-after-slow-spawn.png");
  },
};

// ---- one login per authenticator backend, each ending in JupyterLab

/** The form login of `user` with `password` → JupyterLab; `name` is the hub user it becomes. */
async function formLoginToLab(c, hub, page, user, password, name, tag) {
  await page.goto(hub.url + "/hub/login", { timeout: 30_000 });
  await submitLogin(c, page, user, `${tag}-login.png`, password);
  const lab = await waitForLab(page, `/user/${name}/`, 120_000);
  c.require(`${tag}: the login leads to JupyterLab`, !lab, lab + "\n" + hub.tail(8));
  await shot(page, `${tag}-jupyterlab.png`);
}

const loginPam = {
  hub: () => ({}),
  skip: () => (process.getuid && process.getuid() === 0 ? "" : "PAM users can only be created as root"),
  setup: async (hub) => {
    const name = "oxbr" + crypto.randomBytes(3).toString("hex");
    const password = "Browser pam " + crypto.randomBytes(4).toString("hex");
    execFileSync("useradd", ["-m", "-s", "/bin/sh", name]);
    execFileSync("chpasswd", [], { input: `${name}:${password}\n` });
    hub.authenticator = `c.JupyterHub.authenticator_class = 'pam'\nc.Authenticator.allowed_users = {${py(name)}}`;
    // PAM's users are the system's: there is no 'admin' account to make an admin of.
    hub.extra += "\nc.Authenticator.admin_users = set()\nc.JupyterHub.api_tokens = {}";
    hub.pam = { name, password };
    return () => execFileSync("userdel", ["-r", name], { stdio: "ignore" });
  },
  run: async (c, hub, { page }) => formLoginToLab(c, hub, page, hub.pam.name, hub.pam.password, hub.pam.name, "pam"),
};

const loginLdap = {
  hub: () => ({}),
  skip: () => (process.getuid && process.getuid() === 0 && fs.existsSync("/usr/sbin/slapd") ? "" : "slapd needs root and the slapd package"),
  setup: async (hub) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oxhub-browser-slapd-"));
    const info = JSON.parse(execFileSync("python3", [path.join(ROOT, "tests", "ldap", "slapd.py"), "start", dir], { encoding: "utf8" }));
    hub.authenticator = [
      "c.JupyterHub.authenticator_class = 'ldapauthenticator.LDAPAuthenticator'",
      "c.LDAPAuthenticator.server_address = '127.0.0.1'",
      `c.LDAPAuthenticator.server_port = ${info.port}`,
      `c.LDAPAuthenticator.tls_kwargs = {'ca_certs_file': ${py(info.ca)}}`,
      `c.LDAPAuthenticator.bind_dn_template = ['uid={username},ou=people,${info.base}']`,
      `c.LDAPAuthenticator.allowed_groups = ['cn=hub-users,ou=groups,${info.base}']`,
    ].join("\n");
    return () => execFileSync("python3", [path.join(ROOT, "tests", "ldap", "slapd.py"), "stop", dir]);
  },
  run: async (c, hub, { page }) => formLoginToLab(c, hub, page, "alice", "alicepw", "alice", "ldap"),
};

const loginOidc = {
  hub: () => ({}),
  setup: async (hub) => {
    const [port] = await freePorts(1);
    const idpUrl = `http://127.0.0.1:${port}`;
    const log = fs.openSync(path.join(hub.dir, "idp.log"), "a");
    const idp = spawn("node", [path.join(ROOT, "tests", "idp", "idp.mjs")], {
      cwd: path.join(ROOT, "tests", "idp"),
      env: { ...process.env, PORT: String(port), REDIRECT_URIS: `${hub.url}/hub/oauth_callback` },
      stdio: ["ignore", log, log],
    });
    fs.closeSync(log);
    const up = await waitFor(async () => {
      const r = await fetch(idpUrl + "/.well-known/openid-configuration", { signal: AbortSignal.timeout(2000) });
      return r.status === 200;
    }, 30_000);
    if (!up) throw new Failure("the OpenID provider did not start: " + fs.readFileSync(path.join(hub.dir, "idp.log"), "utf8"));
    hub.authenticator = [
      "c.JupyterHub.authenticator_class = 'generic-oauth'",
      `c.GenericOAuthenticator.oidc_issuer = ${py(idpUrl)}`,
      "c.GenericOAuthenticator.client_id = 'hub'",
      "c.GenericOAuthenticator.client_secret = 'hub-secret'",
      `c.GenericOAuthenticator.oauth_callback_url = ${py(hub.url + "/hub/oauth_callback")}`,
      "c.GenericOAuthenticator.scope = ['openid', 'profile', 'groups']",
      "c.GenericOAuthenticator.username_claim = 'preferred_username'",
      "c.GenericOAuthenticator.login_service = 'Test IdP'",
      "c.Authenticator.manage_groups = True",
      "c.GenericOAuthenticator.allowed_groups = {'hub-users'}",
    ].join("\n");
    return () => idp.kill("SIGTERM");
  },
  run: async (c, hub, { page }) => {
    await page.goto(hub.url + "/hub/login", { timeout: 30_000 });
    const button = page.locator("#login-redirect", { hasText: "Sign in with Test IdP" });
    c.require("the login page shows 'Sign in with Test IdP'", await button.waitFor({ state: "visible", timeout: 15_000 }).then(() => true, () => false));
    await shot(page, "oidc-login.png");
    await axe(c, page, "the 'Sign in with' login page");
    await button.click();
    const form = await page.locator("#idp-login").waitFor({ state: "visible", timeout: 15_000 }).then(() => true, () => false);
    c.require("the button leads to the identity provider's sign-in form", form, page.url());
    await page.fill("#idp-login", "alice");
    await page.fill("#idp-password", "alicepw");
    await shot(page, "oidc-provider.png");
    await page.click("#idp-submit");
    const lab = await waitForLab(page, "/user/alice/", 120_000);
    c.require("oidc: after the provider, the browser lands in JupyterLab", !lab, lab + "\n" + hub.tail(8));
    await shot(page, "oidc-jupyterlab.png");
  },
};

const loginNative = {
  hub: () => ({}),
  setup: async (hub) => {
    hub.authenticator = "c.JupyterHub.authenticator_class = 'native'\nc.NativeAuthenticator.open_signup = True";
    return () => {};
  },
  run: async (c, hub, { page }) => {
    await page.goto(hub.url + "/hub/login", { timeout: 30_000 });
    await page.click("#signup-link", { timeout: 15_000 });
    await page.fill("#username_input", "erin");
    await page.fill("#password_input", "erin's passphrase");
    await page.fill("#password_confirmation_input", "erin's passphrase");
    await shot(page, "native-signup.png");
    await axe(c, page, "the sign-up page");
    await page.click("#signup_submit");
    const said = await page.locator("#signup-result").textContent({ timeout: 15_000 }).catch(() => "");
    c.check("the sign-up page says the account was created", /created/.test(said || ""), said);
    await shot(page, "native-signed-up.png");
    await formLoginToLab(c, hub, page, "erin", "erin's passphrase", "erin", "native");
    // The admin (pre-approved: in admin_users) signs up and sees the approval page.
    await page.goto(hub.url + "/hub/logout", { timeout: 30_000 });
    await page.goto(hub.url + "/hub/signup", { timeout: 30_000 });
    await page.fill("#username_input", "admin");
    await page.fill("#password_input", "the admin's passphrase");
    await page.fill("#password_confirmation_input", "the admin's passphrase");
    await page.click("#signup_submit");
    await page.goto(hub.url + "/hub/login", { timeout: 30_000 });
    await submitLogin(c, page, "admin", "", "the admin's passphrase");
    await page.waitForLoadState("load", { timeout: 15_000 }).catch(() => {});
    await page.goto(hub.url + "/hub/authorize", { timeout: 30_000 });
    const row = await page.locator('tr[data-account="erin"] .status').textContent({ timeout: 15_000 }).catch(() => "");
    c.check("the approval page lists erin as authorized", row === "authorized", row);
    await shot(page, "native-authorize.png");
    await axe(c, page, "the sign-up approval page");
    await page.click('tr[data-account="erin"] button.toggle');
    await page.waitForLoadState("load", { timeout: 15_000 }).catch(() => {});
    const after = await page.locator('tr[data-account="erin"] .status').textContent({ timeout: 15_000 }).catch(() => "");
    c.check("its Unauthorize button (a POST with the XSRF token) withdraws the approval", after === "waiting", after);
    await page.goto(hub.url + "/hub/change-password", { timeout: 30_000 });
    await shot(page, "native-change-password.png");
  },
};

const tokenPage = {
  hub: () => ({}),
  run: async (c, hub, { page }) => {
    await page.goto(hub.url + "/hub/login?next=%2Fhub%2Ftoken", { timeout: 30_000 });
    await submitLogin(c, page, "tina", "");
    await page.waitForURL(/\/hub\/token$/, { timeout: 15_000 }).catch(() => {});
    c.require("login with next=/hub/token lands on the token page", new URL(page.url()).pathname === "/hub/token", page.url());
    const nav = await page.locator("nav a", { hasText: "Token" }).count();
    c.check("the nav bar links the token page", nav === 1);
    await page.fill("#token-note", "<b>for my laptop</b>");
    await page.selectOption("#token-expiration-seconds", "86400");
    await page.fill("#token-scopes", "read:users:name!user=tina, read:servers!user=tina");
    await page.click("#request-token");
    await page.locator("#token-area").waitFor({ state: "visible", timeout: 15_000 }).catch(() => {});
    const token = await page.locator("#token-result").textContent({ timeout: 15_000 }).catch(() => "");
    c.require("the new token is shown once", /^[0-9a-f]{32}$/.test(token || ""), token);
    await shot(page, "token-new.png");
    const me = await fetch(hub.url + "/hub/api/user", { headers: { Authorization: `token ${token}` } });
    const model = await me.json().catch(() => ({}));
    c.check("the token works, with the scopes asked for", me.status === 200 && model.name === "tina"
      && ["read:servers!user=tina", "read:users:name!user=tina"].every((x) => (model.scopes || []).includes(x))
      && !(model.scopes || []).some((x) => x.startsWith("admin") || x === "inherit"),
      { status: me.status, scopes: model.scopes });
    await page.reload();
    const row = page.locator("tr.token-row", { hasText: "<b>for my laptop</b>" });
    c.check("after a reload the token is listed, its note shown as text", (await row.count()) === 1);
    const expires = await row.locator("td").nth(4).textContent().catch(() => "");
    c.check("its expiry is a date a day away", expires && expires !== "Never", expires);
    await shot(page, "token-list.png");
    await axe(c, page, "the token page");
    await row.locator("button.revoke-token-btn").click();
    const gone = await waitFor(async () => (await row.count()) === 0, 10_000);
    c.check("revoke removes the row", gone);
    const after = await fetch(hub.url + "/hub/api/user", { headers: { Authorization: `token ${token}` } });
    c.check("the revoked token no longer works", after.status === 403, after.status);
    await page.fill("#token-scopes", "admin:users");
    await page.click("#request-token");
    await page.locator("#token-error").waitFor({ state: "visible", timeout: 10_000 }).catch(() => {});
    const err = await page.locator("#token-error").textContent({ timeout: 10_000 }).catch(() => "");
    c.check("asking for scopes one does not hold shows the API's message", /failed: .+/.test(err || "") && !/failed: 4\d\d$/.test(err), err);
    await shot(page, "token-error.png");
  },
};

const acceptShare = {
  hub: () => ({}),
  run: async (c, hub, { page, context }) => {
    await page.goto(hub.url + "/hub/login", { timeout: 30_000 });
    await submitLogin(c, page, "alice", "");
    const lab = await waitForLab(page, "/user/alice/", 90_000);
    c.require("alice's server runs (JupyterLab)", !lab, lab);
    const made = await hub.api("POST", "/share-codes/alice/", { expires_in: 3600 });
    c.require("an admin makes a share code for alice's server", made.status === 200 && made.json && made.json.code, made.text);
    const accept = new URL(made.json.accept_url, hub.url);
    await context.clearCookies();
    await page.goto(hub.url + "/hub/login", { timeout: 30_000 });
    await submitLogin(c, page, "bob", "");
    await page.waitForLoadState("load", { timeout: 15_000 }).catch(() => {});
    await page.goto(hub.url + accept.pathname + accept.search, { timeout: 30_000 });
    const lead = await page.locator("p.lead").textContent({ timeout: 15_000 }).catch(() => "");
    c.check("the invitation page says what is shared", /You \(bob\) have been invited to access alice's server/.test(lead || ""), lead);
    await shot(page, "accept-share.png");
    await axe(c, page, "accept-share");
    await page.click("#accept-share");
    // Someone else's server asks for consent once (JupyterHub's rule), then opens.
    const consent = await page.locator("#authorize").waitFor({ state: "visible", timeout: 20_000 }).then(() => true, () => false);
    c.check("alice's server asks bob for consent", consent, page.url());
    await shot(page, "accept-share-consent.png");
    if (consent) await axe(c, page, "the OAuth consent page");
    if (consent) await page.click("#authorize");
    const there = await waitForLab(page, "/user/alice/", 90_000);
    c.check("accepting leads bob into alice's JupyterLab", !there, there);
    await shot(page, "accept-share-lab.png");
    const shared = await hub.api("GET", "/users/bob/shared");
    c.check("the REST API lists the share", shared.status === 200 && shared.json.items.length === 1
      && shared.json.items[0].server.user.name === "alice", shared.text);
  },
};

const TESTS = [
  ["accept_share", "a share code: the invitation page, Accept, the shared server's JupyterLab", acceptShare],
  ["token_page", "/hub/token: request a token with note, expiry and scopes; list; revoke; an error shown", tokenPage],
  ["login_pam", "PAM: a system user's password → JupyterLab", loginPam],
  ["login_ldap", "LDAP (real slapd, StartTLS): bind as alice → JupyterLab", loginLdap],
  ["login_oidc", "OpenID Connect (real oidc-provider): Sign in with → provider form → JupyterLab", loginOidc],
  ["login_native", "NativeAuthenticator: sign up → log in → JupyterLab", loginNative],
  ["stop_default", "login form → JupyterLab → /hub/home → Stop My Server", stopDefault],
  ["stop_named", "named server: Add New Server → JupyterLab → its stop button", stopNamed],
  ["slow_spawn", "a 15 s spawn: spawn-pending's progress bar, then JupyterLab without reload", slowSpawn],
  ...PAGE_TESTS,
];

// ------------------------------------------------------------------ runner

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  for (const [what, p] of [["oxhub", opts.oxhub], ["chromium", CHROMIUM], ["jupyterhub-singleuser", path.join(opts.venv, "bin", "jupyterhub-singleuser")]]) {
    if (!fs.existsSync(p)) {
      console.log(`FAIL - ${what} not found at ${p}`);
      console.log("browser: 0 passed, 1 failed");
      process.exit(1);
    }
  }
  const shots = process.env.BROWSER_SCREENSHOTS
    ? path.resolve(process.env.BROWSER_SCREENSHOTS)
    : fs.mkdtempSync(path.join(os.tmpdir(), "oxhub-browser-shots-"));
  fs.mkdirSync(shots, { recursive: true });
  setShotsDir(shots);
  console.log(`# screenshots go to ${shots}`);
  const c = new Checks();
  const started = Date.now();
  for (const [name, doc, test] of TESTS) {
    if (opts.only && !name.includes(opts.only)) continue;
    console.log(`# ${name}: ${doc}`);
    const t = Date.now();
    const failedBefore = c.failed;
    const skip = test.skip ? test.skip() : "";
    if (skip) {
      console.log(`# skipped ${name}: ${skip}`);
      continue;
    }
    const hub = new Hub(opts, test.hub(opts));
    let browser = null;
    let watchdog = null;
    let cleanup = null;
    try {
      await hub.pickPorts();
      if (test.setup) cleanup = await test.setup(hub);
      await hub.start();
      browser = await openBrowser(hub.dir);
      const timedOut = new Promise((_, reject) => {
        watchdog = setTimeout(() => reject(new Error(`test did not finish within ${TEST_TIMEOUT_MS / 1000} s`)), TEST_TIMEOUT_MS);
      });
      await Promise.race([test.run(c, hub, browser), timedOut]);
    } catch (e) {
      if (e instanceof Abort) console.log(`# aborted ${name}: ${e.message}`);
      else if (e instanceof Failure) c.check(name, false, e.message);
      else c.check(`${name} ran without an exception`, false, e.stack || String(e));
    } finally {
      clearTimeout(watchdog);
      if (browser) {
        if (c.failed > failedBefore) await shot(browser.page, `FAILED-${name}.png`);
        printEvents(browser.events, c.failed > failedBefore);
        await browser.context.close().catch(() => {});
      }
      {
        const leftovers = await hub.stop();
        if (hub.up) c.check(`${name}: SIGTERM stops the hub, its proxy and its servers`, leftovers.length === 0, leftovers.join(", "));
        if (c.failed > failedBefore) console.log(`# hub log (${hub.logPath}), last lines:\n${hub.tail(40).replace(/^/gm, "#   ")}`);
        else fs.rmSync(hub.dir, { recursive: true, force: true });
      }
      if (cleanup) {
        try { await cleanup(); } catch (e) { console.log(`# cleanup of ${name} failed: ${e.message}`); }
      }
    }
    console.log(`# ${name} took ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  console.log(`# all tests took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`browser: ${c.passed} passed, ${c.failed} failed`);
  process.exit(c.failed ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL - the browser suite crashed: ${e.stack || e}`);
  console.log("browser: 0 passed, 1 failed");
  process.exit(1);
});
