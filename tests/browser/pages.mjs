// Browser tests of the pages people and admins use (pages.md, admin-ui.md): every admin action
// of the panel, keyboard-only use, a tour of every page with axe-core and a screenshot of each,
// and institutional template overrides.
import fs from "node:fs";
import path from "node:path";
import { waitFor, shot, submitLogin, waitForLab, axe, reloadUntil, pidsWith } from "./lib.mjs";

const visible = (page, selector, ms = 15_000) =>
  page.locator(selector).first().waitFor({ state: "visible", timeout: ms }).then(() => true, () => false);
/** The text of `selector` once a script has put some there (or "" after 10 s). */
const textOnceSet = (page, selector) => waitFor(async () => (await page.locator(selector).first().textContent()) || "", 10_000, 100).then((t) => t || "");
const text = (page, selector) => page.locator(selector).first().textContent({ timeout: 10_000 }).catch(() => "");

/** Logs in as `user` from the login page, landing wherever the hub sends it. */
async function login(c, page, hub, user, next = "/hub/home") {
  await page.goto(`${hub.url}/hub/login?next=${encodeURIComponent(next)}`, { timeout: 30_000 });
  await submitLogin(c, page, user, "");
  await page.waitForURL((u) => u.pathname === next, { timeout: 30_000 }).catch(() => {});
}

/** Clicks `selector` and waits for the page's own reload after it. */
async function clickAndReload(page, selector) {
  const reloaded = page.waitForEvent("framenavigated", { predicate: (f) => f === page.mainFrame(), timeout: 30_000 }).catch(() => null);
  await page.click(selector, { timeout: 10_000 });
  await reloaded;
  await page.waitForLoadState("load", { timeout: 15_000 }).catch(() => {});
}

/** Clicks `selector` and waits for the API answer to `method` it causes. */
async function clickFor(page, selector, method, { reload = false } = {}) {
  const answer = page.waitForResponse((r) => r.request().method() === method && new URL(r.url()).pathname.startsWith("/hub/api/"), { timeout: 30_000 }).catch(() => null);
  const reloaded = reload
    ? page.waitForEvent("framenavigated", { predicate: (f) => f === page.mainFrame(), timeout: 30_000 }).catch(() => null)
    : null;
  await page.click(selector, { timeout: 10_000 });
  const got = await answer;
  if (reloaded) {
    await reloaded;
    await page.waitForLoadState("load", { timeout: 15_000 }).catch(() => {});
  }
  return got;
}

const adminPanel = {
  hub: () => ({ extra: "c.JupyterHub.allow_named_servers = True" }),
  run: async (c, hub, { page }) => {
    page.acceptDialogs = true;
    await login(c, page, hub, "admin", "/hub/admin");
    c.require("an admin reaches /hub/admin", new URL(page.url()).pathname === "/hub/admin", page.url());
    c.check("the nav bar links the admin panel", await visible(page, "nav #nav-admin"));

    // Add users (two at once), and the API's message when they all exist already.
    await page.click("#add-users");
    c.require("Add Users opens its form", await visible(page, "#add-user-textarea"));
    await page.fill("#add-user-textarea", "carol\n dave \n\n");
    await shot(page, "admin-add-users.png");
    await axe(c, page, "admin: add users");
    await page.click("#submit");
    await page.waitForURL((u) => u.pathname === "/hub/admin", { timeout: 15_000 }).catch(() => {});
    const listed = await waitFor(async () => (await page.locator('tr.user-row[data-user="carol"]').count()) === 1
      && (await page.locator('tr.user-row[data-user="dave"]').count()) === 1, 10_000);
    c.check("the new users carol and dave are listed", listed);
    await page.goto(hub.url + "/hub/admin/add-users");
    await page.fill("#add-user-textarea", "carol");
    await page.click("#submit");
    const exists = await textOnceSet(page, "#admin-alert-text");
    c.check("adding an existing user shows the API's message", /Failed to create user: .*already exist/.test(exists), exists);

    // Edit: rename dave and make him an admin.
    await page.goto(hub.url + "/hub/admin");
    await page.click('tr.user-row[data-user="dave"] a.edit-user');
    c.require("Edit User opens the edit form", await visible(page, "#edit-username"));
    await page.fill("#edit-username", "dave2");
    await page.check("#admin-check");
    await shot(page, "admin-edit-user.png");
    await axe(c, page, "admin: edit user");
    const patched = await clickFor(page, "#submit", "PATCH");
    await page.waitForURL((u) => u.pathname === "/hub/admin", { timeout: 15_000 }).catch(() => {});
    c.check("Apply sends PATCH /hub/api/users/dave with the new name and admin flag",
      patched && patched.ok() && new URL(patched.url()).pathname === "/hub/api/users/dave"
        && JSON.stringify(JSON.parse(patched.request().postData())) === JSON.stringify({ name: "dave2", admin: true }),
      patched && `${patched.status()} ${patched.request().postData()}`);
    const dave2 = await hub.api("GET", "/users/dave2");
    c.check("the REST API shows dave2, an admin", dave2.status === 200 && dave2.json.admin === true, dave2.text);

    // Filter with the keyboard only: Tab to the search box, type, Enter.
    await page.goto(hub.url + "/hub/admin");
    let focused = "";
    for (let i = 0; i < 30 && focused !== "user-search"; i++) {
      await page.keyboard.press("Tab");
      focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    }
    c.check("the search box is reached with Tab", focused === "user-search", focused);
    await page.keyboard.type("car");
    await page.keyboard.press("Enter");
    await page.waitForURL((u) => u.searchParams.get("name_filter") === "car", { timeout: 15_000 }).catch(() => {});
    const rows = await page.locator("tr.user-row").evaluateAll((trs) => trs.map((t) => t.dataset.user));
    c.check("the name filter is kept in the URL and lists only carol", rows.length === 1 && rows[0] === "carol", { url: page.url(), rows });
    // The row's details open from the keyboard too.
    await page.focus('tr.user-row[data-user="carol"] .row-toggle');
    await page.keyboard.press("Enter");
    c.check("Enter on the caret expands the row (user and server models)", await visible(page, "tr.server-details:not(.hidden) table.model"));
    await shot(page, "admin-row-expanded.png");
    await axe(c, page, "admin: server table, a row expanded");

    // Start All on the filtered page starts carol's server only; Access Server; Stop All.
    const started = await clickFor(page, "#start-all", "POST", { reload: true });
    c.check("Start All posts …/users/carol/server", started && new URL(started.url()).pathname === "/hub/api/users/carol/server"
      && [201, 202].includes(started.status()), started && `${started.status()} ${started.url()}`);
    const ready = await reloadUntil(page, async () => (await page.locator('tr.user-row[data-user="carol"] a.access-server').count()) === 1, 90_000);
    c.require("after reloads carol's row offers Access Server and Stop Server", ready, await page.locator("main").innerText().catch(() => ""));
    await shot(page, "admin-running.png");
    c.check("the Access Server link is carol's server URL", (await page.locator('tr.user-row[data-user="carol"] a.access-server').getAttribute("href")) === "/user/carol/");
    const stopped = await clickFor(page, "#stop-all", "DELETE", { reload: true });
    c.check("Stop All deletes carol's server", stopped && new URL(stopped.url()).pathname === "/hub/api/users/carol/server" && stopped.ok(), stopped && stopped.status());
    const idle = await waitFor(async () => { const s = await hub.server("carol"); return !(s && (s.ready || s.pending)); }, 30_000);
    c.check("the REST API shows carol's server stopped", idle);

    // A named server from the panel: start, then delete.
    await hub.api("PUT", "/users/carol/servers/lab2", {});
    await page.goto(hub.url + "/hub/admin?name_filter=carol");
    const row = 'tr.user-row[data-user="carol"][data-server="lab2"]';
    c.check("carol's stopped named server lab2 has its own row with Delete Server", await visible(page, `${row} .delete-server`));
    const removed = await clickFor(page, `${row} .delete-server`, "DELETE", { reload: true });
    c.check("Delete Server sends DELETE …/servers/lab2 with {\"remove\": true}",
      removed && removed.ok() && JSON.parse(removed.request().postData() || "{}").remove === true, removed && removed.status());
    await page.waitForLoadState("load").catch(() => {});
    c.check("the row is gone after the reload", (await page.locator(row).count()) === 0 && !(await hub.server("carol", "lab2")));

    // Sorting and paging are kept in the URL.
    await page.goto(hub.url + "/hub/admin?limit=2");
    await page.click("#sort-name");
    await page.waitForURL((u) => u.searchParams.get("sort") === "name", { timeout: 10_000 }).catch(() => {});
    await page.click("#sort-name");
    await page.waitForURL((u) => u.searchParams.get("sort") === "-name", { timeout: 10_000 }).catch(() => {});
    const first = await page.locator("tr.user-row").first().getAttribute("data-user");
    c.check("the User column sorts descending on the second click (dave2 first)", first === "dave2", { url: page.url(), first });
    c.check("two users per page: 'Displaying 1-2 of 3'", (await text(page, "#displaying")).trim() === "Displaying 1-2 of 3", await text(page, "#displaying"));
    await page.click("#next-page");
    await page.waitForURL((u) => u.searchParams.get("offset") === "2", { timeout: 10_000 }).catch(() => {});
    c.check("Next keeps the sort and the page size", new URL(page.url()).searchParams.get("sort") === "-name"
      && (await text(page, "#displaying")).trim() === "Displaying 3-3 of 3", page.url());
    await page.goto(hub.url + "/hub/admin");
    await shot(page, "admin.png");
    await axe(c, page, "admin: server table");

    // Delete dave2.
    await page.click('tr.user-row[data-user="dave2"] a.edit-user');
    await visible(page, "#delete-user");
    const deleted = await clickFor(page, "#delete-user", "DELETE");
    await page.waitForURL((u) => u.pathname === "/hub/admin", { timeout: 15_000 }).catch(() => {});
    c.check("Delete user removes dave2", deleted && deleted.ok() && (await hub.api("GET", "/users/dave2")).status === 404, deleted && deleted.status());

    // Groups: create, members (an unknown name refused), a property, remove a member, delete.
    await page.goto(hub.url + "/hub/admin");
    await page.click("#manage-groups");
    c.require("Manage Groups lists the groups", await visible(page, "#groups-card"));
    c.check("no groups yet", await visible(page, "#no-groups"));
    await page.click("#new-group");
    await page.fill("#group-name", "physics");
    await shot(page, "admin-create-group.png");
    await axe(c, page, "admin: create group");
    await page.click("#submit");
    await page.waitForURL((u) => u.pathname === "/hub/admin/groups", { timeout: 15_000 }).catch(() => {});
    c.check("the new group is listed with 0 users", (await text(page, "#groups-list")).includes("0 users") && (await text(page, "#groups-list")).includes("physics"));
    await shot(page, "admin-groups.png");
    await axe(c, page, "admin: groups");
    await page.click("a.group-link");
    c.require("the group's page opens", await visible(page, "#username-input"));
    await page.fill("#username-input", "nobody");
    await page.click("#validate-user");
    const refused = await textOnceSet(page, "#member-error");
    c.check("an unknown user is refused", refused === '"nobody" is not a valid JupyterHub user.', refused);
    await page.fill("#username-input", "carol");
    await page.keyboard.press("Enter");
    c.check("carol is added as a chip", await visible(page, '#members .chip[data-user="carol"][aria-pressed="true"]'));
    await page.fill("#new-prop-key", "course");
    await page.fill("#new-prop-value", "101");
    await page.click("#add-item");
    await shot(page, "admin-edit-group.png");
    await axe(c, page, "admin: edit group");
    await clickAndReload(page, "#submit");
    const g = await waitFor(async () => {
      const r = await hub.api("GET", "/groups/physics");
      return r.json && r.json.users.includes("carol") && r.json.properties.course === "101" && r.json;
    }, 10_000);
    c.check("Apply adds carol and sets the property (REST API)", g, (await hub.api("GET", "/groups/physics")).text);
    c.check("after the reload carol is a member and the property is listed",
      await visible(page, '#members .chip[data-user="carol"]') && (await page.locator("tr.property-row input.prop-key").inputValue()) === "course");
    await page.click('#members .chip[data-user="carol"]');
    await clickAndReload(page, "#submit");
    const left = await waitFor(async () => ((await hub.api("GET", "/groups/physics")).json || {}).users?.length === 0, 10_000);
    c.check("deselecting carol and Apply removes her", left);
    await visible(page, "#delete-group");
    await page.click("#delete-group");
    await page.waitForURL((u) => u.pathname === "/hub/admin/groups", { timeout: 15_000 }).catch(() => {});
    c.check("Delete Group removes it", (await hub.api("GET", "/groups/physics")).status === 404);

    // The old hash URLs of JupyterHub's React panel land on the same views.
    await page.goto(hub.url + "/hub/admin#/groups");
    await page.waitForURL((u) => u.pathname === "/hub/admin/groups", { timeout: 15_000 }).catch(() => {});
    c.check("/hub/admin#/groups opens the groups view", new URL(page.url()).pathname === "/hub/admin/groups", page.url());

    // Shut down the hub, last.
    await page.goto(hub.url + "/hub/admin");
    const shut = await clickFor(page, "#shutdown-button", "POST");
    c.check("Shutdown Hub posts /hub/api/shutdown (202)", shut && shut.status() === 202, shut && shut.status());
    const exited = await waitFor(() => hub.proc.done, 30_000);
    c.check("the hub exits", exited);
  },
};

/** Every page once, as a person and as an admin: axe-core on each, and a screenshot of each. */
const pageTour = {
  hub: () => ({
    extra: [
      "c.JupyterHub.allow_named_servers = True",
      "c.Spawner.options_form = '<label for=\"mem\">Memory</label><select id=\"mem\" name=\"mem\"><option>1G</option><option>2G</option></select>'",
      "c.JupyterHub.services = [{'name': 'grader', 'url': 'http://127.0.0.1:9', 'display': True}]",
      "c.JupyterHub.load_roles = [{'name': 'user', 'scopes': ['self', 'access:services']}]",
    ].join("\n"),
  }),
  run: async (c, hub, { page }) => {
    await page.goto(hub.url + "/hub/login", { timeout: 30_000 });
    await page.fill("#username_input", "alice");
    await page.fill("#password_input", "wrong password");
    await page.click("#login_submit");
    c.check("a wrong password re-shows the form with an error", (await text(page, "#login-error")) === "Invalid username or password");
    await shot(page, "tour-login-error.png");
    await axe(c, page, "the login page with an error");

    await login(c, page, hub, "alice");
    await hub.api("PUT", "/users/alice/servers/analysis", { display_name: "Analysis <b>2</b>" });
    await page.reload();
    c.check("the nav bar has Home, Token and the Services menu, and no Admin link",
      (await page.locator("nav .nav-link", { hasText: "Home" }).count()) === 1 && (await page.locator("nav .nav-link", { hasText: "Token" }).count()) === 1
        && (await page.locator("nav #nav-admin").count()) === 0);
    await page.click("nav details.nav-services summary");
    c.check("the Services menu lists the service", await visible(page, 'nav .dropdown-item[href="/services/grader/"]'));
    c.check("a display name with markup is shown as text", (await text(page, 'tr[data-server-name="analysis"] th')) === "Analysis <b>2</b>");
    await shot(page, "tour-home.png");
    await axe(c, page, "the home page");

    await page.goto(hub.url + "/hub/spawn", { timeout: 30_000 });
    c.check("the spawn page shows the options form", await visible(page, "#spawn_form select#mem"));
    await shot(page, "tour-spawn-options.png");
    await axe(c, page, "the spawn options form");

    await page.goto(hub.url + "/hub/user/alice/tree", { timeout: 30_000 });
    c.check("a stopped server's URL shows 'Server not running'", (await text(page, "h1")) === "Server not running");
    await shot(page, "tour-not-running.png");
    await axe(c, page, "not running (424)");

    await page.goto(hub.url + "/hub/token", { timeout: 30_000 });
    await shot(page, "tour-token.png");
    await axe(c, page, "the token page");

    await page.goto(hub.url + "/hub/no/such/page", { timeout: 30_000 });
    c.check("an unknown hub page is a 404 page", (await text(page, "h1")) === "404 : Not Found");
    await shot(page, "tour-404.png");
    await axe(c, page, "the 404 page");

    const r = await page.goto(hub.url + "/hub/admin", { timeout: 30_000 });
    c.check("a user without admin-ui gets 403 on /hub/admin", r && r.status() === 403, r && r.status());

    // Dark mode follows the system setting; the pages stay readable there too.
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto(hub.url + "/hub/home", { timeout: 30_000 });
    await shot(page, "tour-home-dark.png");
    await axe(c, page, "the home page in dark mode");
    await page.emulateMedia({ colorScheme: "light" });
  },
};

/** Two overrides as institutions write them: a login page with a banner, a page.html with an
 * extra nav link; `template_vars` and an announcement. */
const customTemplates = {
  hub: () => ({
    extra: [
      "c.JupyterHub.template_paths = ['custom']",
      "c.JupyterHub.template_vars = {'org': 'Example University', 'announcement': '<b>Maintenance</b> on Friday', 'announcement_login': ''}",
    ].join("\n"),
  }),
  setup: async (hub) => {
    const dir = path.join(hub.dir, "custom");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "login.html"), [
      '{% extends "templates/login.html" %}',
      '{% block login %}<div id="org-banner" class="alert alert-info">Sign in with your {{ org }} account.</div>{{ super() }}{% endblock %}',
    ].join("\n"));
    fs.writeFileSync(path.join(dir, "page.html"), [
      '{% extends "templates/page.html" %}',
      '{% block nav_bar_left_items %}{{ super() }}<li><a class="nav-link" id="help-link" href="/help/">Help</a></li>{% endblock %}',
    ].join("\n"));
    return () => {};
  },
  run: async (c, hub, { page }) => {
    await page.goto(hub.url + "/hub/login", { timeout: 30_000 });
    c.check("the custom login page shows its banner above the stock form",
      (await text(page, "#org-banner")) === "Sign in with your Example University account." && (await visible(page, "#login-form")));
    c.check("announcement_login = '' hides the announcement on the login page", (await page.locator(".announcement").count()) === 0);
    await shot(page, "custom-login.png");
    await axe(c, page, "a custom login page");
    await login(c, page, hub, "alice");
    c.check("the custom page.html adds its nav link after the stock ones", await visible(page, "nav #help-link")
      && (await page.locator("nav .nav-link", { hasText: "Token" }).count()) === 1);
    c.check("the announcement is shown on other pages", (await text(page, ".announcement")) === "Maintenance on Friday");
    await shot(page, "custom-home.png");
  },
};


/** The environment of this hub's server processes (each has the hub's marker variable). */
function serverEnv(hub) {
  for (const pid of pidsWith(hub.marker)) {
    try {
      const env = Object.fromEntries(fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter((e) => e.includes("=")).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
      if (env.JUPYTERHUB_USER) return env;
    } catch { /* gone */ }
  }
  return {};
}

/** profile_list as KubeSpawner's users know it, on the local spawner: choose a profile and an
 * "Other..." value in the browser; the server process gets what the profile sets. */
const profiles = {
  hub: () => ({
    extra: "c.Spawner.profile_list = [" +
      "{'display_name': 'Small', 'description': 'For notebooks', 'kubespawner_override': {'environment': {'OXHUB_PROFILE': 'small'}}}," +
      "{'display_name': 'Data science', 'slug': 'ds', 'kubespawner_override': {'environment': {'OXHUB_PROFILE': 'ds'}}, 'profile_options': {'size': {'display_name': 'Size', " +
      "'choices': {'s': {'display_name': 'S', 'kubespawner_override': {'environment': {'OXHUB_SIZE': 's'}}}, 'l': {'display_name': 'L', 'kubespawner_override': {'environment': {'OXHUB_SIZE': 'l'}}}}, " +
      "'unlisted_choice': {'enabled': True, 'display_name': 'Custom size', 'validation_regex': '[a-z]+$', 'validation_message': 'Letters only', " +
      "'kubespawner_override': {'environment': {'OXHUB_SIZE': 'custom-{value}'}}}}}}]",
  }),
  run: async (c, hub, { page }) => {
    await login(c, page, hub, "alice", "/hub/spawn");
    c.require("the spawn page shows the profiles", await visible(page, "#profile-item-small"), page.url());
    c.check("the first profile is chosen by default", await page.locator("#profile-item-small").isChecked());
    await page.selectOption("#profile-option-ds--size", "unlisted-choice");
    c.check("choosing Other... shows the text field and selects its profile",
      await visible(page, "#profile-option-ds--size--unlisted-choice") && await page.locator("#profile-item-ds").isChecked());
    await page.fill("#profile-option-ds--size--unlisted-choice", "xl");
    await shot(page, "spawn-profiles.png");
    await axe(c, page, "the profile_list form");
    await page.click("#spawn_submit");
    const lab = await waitForLab(page, "/user/alice/", 90_000);
    c.require("Start with a profile leads to JupyterLab", !lab, lab);
    const env = serverEnv(hub);
    c.check("the server runs with the profile's and the typed choice's environment",
      env.OXHUB_PROFILE === "ds" && env.OXHUB_SIZE === "custom-xl", { OXHUB_PROFILE: env.OXHUB_PROFILE, OXHUB_SIZE: env.OXHUB_SIZE });
    const srv = await hub.server("alice");
    c.check("user_options are KubeSpawner's", srv && srv.user_options && Object.keys(srv.user_options).length === 2 && srv.user_options.profile === "ds" && srv.user_options["size--unlisted-choice"] === "xl", srv && srv.user_options);
  },
};

export const PAGE_TESTS = [
  ["profiles", "profile_list on the spawn page: a profile and an Other... value → JupyterLab with the profile's environment", profiles],
  ["admin_panel", "/hub/admin: add, edit, delete users; filter, sort, page; start/stop all; named servers; groups; shutdown", adminPanel],
  ["page_tour", "every page once with axe-core and a screenshot (login error, home, options form, 424, token, 404, dark mode)", pageTour],
  ["custom_templates", "template_paths: a login page with a banner and a page.html with a nav link; announcements", customTemplates],
];
