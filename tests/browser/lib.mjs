// Helpers of the browser suite (run.mjs): the hub under test, the browser, checks, screenshots
// and the axe-core accessibility check.
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, "..", "..");
export const PASSWORD = "browser-password";
export const ADMIN_TOKEN = "browser-admin-token-" + crypto.randomBytes(12).toString("hex");
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
// Flags that work on this project's machines (no network but loopback).
export const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
export const TEST_TIMEOUT_MS = 300_000;

// ------------------------------------------------------------------ arguments and helpers

export function parseArgs(argv) {
  const out = { oxhub: "", venv: path.join(ROOT, ".cache", "venv-e2e"), only: "" };
  for (let i = 0; i < argv.length; i++) {
    const [k, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => (inline !== undefined ? inline : argv[++i]);
    if (k === "--oxhub") out.oxhub = value();
    else if (k === "--venv") out.venv = value();
    else if (k === "--only") out.only = value();
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!out.oxhub) throw new Error("usage: node run.mjs --oxhub PATH [--venv DIR] [--only NAME]");
  out.oxhub = path.resolve(out.oxhub);
  out.venv = path.resolve(out.venv);
  return out;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy or `ms` pass; returns the last value. */
export async function waitFor(fn, ms, every = 200) {
  const deadline = Date.now() + ms;
  for (;;) {
    let v;
    try { v = await fn(); } catch { v = undefined; }
    if (v || Date.now() >= deadline) return v;
    await sleep(every);
  }
}

/** `n` distinct free loopback ports (bound together, then released). */
export async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => resolve(s));
  })));
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export function procState(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(")").pop().trim().split(/\s+/)[0];
  } catch { return null; }
}
export const alive = (pid) => !["Z", "X", null].includes(procState(pid));

/** Live processes whose environment holds `marker` (each hub gives its servers a fresh one). */
export function pidsWith(marker) {
  const found = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/environ`).includes(marker) && alive(+e)) found.push(+e);
    } catch { /* gone, or not ours to read */ }
  }
  return found;
}

export const py = (s) => JSON.stringify(s); // a JSON string is a valid Python string literal

/** A check failed that later checks of the test depend on (already counted). */
export class Abort extends Error {}
/** Something the test needs did not happen (counted as a failure with this message). */
export class Failure extends Error {}

export class Checks {
  constructor() { this.passed = 0; this.failed = 0; }
  check(name, ok, detail = "") {
    if (ok) { this.passed++; console.log(`ok   - ${name}`); }
    else {
      this.failed++;
      const d = typeof detail === "string" ? detail : JSON.stringify(detail);
      console.log(`FAIL - ${name}${d ? ": " + d : ""}`);
    }
    return Boolean(ok);
  }
  require(name, ok, detail = "") {
    if (!this.check(name, ok, detail)) throw new Abort(name);
  }
}

// ------------------------------------------------------------------ the hub

export class Hub {
  constructor(opts, { extra = "", cmd } = {}) {
    this.opts = opts;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "oxhub-browser-"));
    this.marker = crypto.randomBytes(16).toString("hex");
    this.extra = extra;
    this.cmd = cmd || [path.join(opts.venv, "bin", "jupyterhub-singleuser")];
    this.logPath = path.join(this.dir, "hub.log");
    this.proc = null;
    this.exited = null;
  }

  /** The hub's ports, picked before start() when a test's setup needs the hub's URL. */
  async pickPorts() {
    if (!this.port) [this.port, this.apiPort, this.hubPort] = await freePorts(3);
    this.url = `http://127.0.0.1:${this.port}`;
  }

  async start() {
    await this.pickPorts();
    const root = process.getuid && process.getuid() === 0;
    const config = [
      `c.JupyterHub.ip = '127.0.0.1'`,
      `c.JupyterHub.port = ${this.port}`,
      `c.JupyterHub.hub_ip = '127.0.0.1'`,
      `c.JupyterHub.hub_port = ${this.hubPort}`,
      `c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:${this.apiPort}'`,
      `c.ConfigurableHTTPProxy.pid_file = 'proxy.pid'`,
      this.authenticator || `c.JupyterHub.authenticator_class = 'dummy'`,
      `c.DummyAuthenticator.password = ${py(PASSWORD)}`,
      `c.Authenticator.admin_users = {'admin'}`,
      `c.JupyterHub.api_tokens = {${py(ADMIN_TOKEN)}: 'admin'}`,
      `c.JupyterHub.spawner_class = 'simple'`,
      `c.SimpleLocalProcessSpawner.home_dir_template = ${py(path.join(this.dir, "home", "{username}"))}`,
      `c.Spawner.environment = {'OXHUB_BROWSER_MARKER': ${py(this.marker)}}`,
      `c.Spawner.cmd = [${this.cmd.map(py).join(", ")}]`,
      `c.Spawner.args = ${root ? "['--allow-root']" : "[]"}`,
      `c.Spawner.default_url = '/lab'`,
      this.extra,
      "",
    ].join("\n");
    fs.writeFileSync(path.join(this.dir, "jupyterhub_config.py"), config);
    const log = fs.openSync(this.logPath, "a");
    const env = {
      ...process.env,
      CONFIGPROXY_AUTH_TOKEN: crypto.randomBytes(16).toString("hex"),
      PATH: path.join(this.opts.venv, "bin") + path.delimiter + (process.env.PATH || ""),
    };
    this.proc = spawn(this.opts.oxhub, [], { cwd: this.dir, env, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    this.exited = new Promise((r) => this.proc.once("exit", (code, sig) => r({ code, sig })));
    this.proc.once("exit", () => { this.proc.done = true; });
    const up = await waitFor(async () => {
      if (this.proc.done) return "exited";
      const r = await fetch(this.url + "/hub/health", { signal: AbortSignal.timeout(2000) });
      return r.status === 200 && "up";
    }, 30_000);
    if (up !== "up") throw new Failure(`the hub did not start (${up || "no answer in 30 s"}); log:\n${this.tail()}`);
    this.up = true;
  }

  tail(n = 40) {
    try { return fs.readFileSync(this.logPath, "utf8").split("\n").slice(-n - 1).join("\n"); }
    catch { return ""; }
  }

  async api(method, p, body) {
    const r = await fetch(this.url + "/hub/api" + p, {
      method,
      headers: { Authorization: `token ${ADMIN_TOKEN}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, json, text };
  }

  /** The server `name` of `user` as the REST API sees it, or null if it has none. */
  async server(user, name = "") {
    const r = await this.api("GET", `/users/${user}`);
    return (r.json && r.json.servers && r.json.servers[name]) || null;
  }

  proxyPid() {
    try { return parseInt(fs.readFileSync(path.join(this.dir, "proxy.pid"), "utf8").trim(), 10) || null; }
    catch { return null; }
  }

  /** SIGTERM the hub by PID and wait; then check that its proxy and servers are gone too
   * (anything of this hub's left over is killed). Returns what was left over. */
  async stop() {
    const leftovers = [];
    if (!this.proc) return leftovers;
    const proxy = this.proxyPid();
    if (!this.proc.done) {
      this.proc.kill("SIGTERM");
      const t = await Promise.race([this.exited, sleep(30_000).then(() => null)]);
      if (!t) {
        leftovers.push(`hub ${this.proc.pid} (did not exit within 30 s of SIGTERM)`);
        this.proc.kill("SIGKILL");
        await this.exited;
      }
    }
    await waitFor(() => !(proxy && alive(proxy)) && pidsWith(this.marker).length === 0, 10_000);
    if (proxy && alive(proxy)) {
      leftovers.push(`proxy ${proxy}`);
      try { process.kill(proxy, "SIGTERM"); } catch { /* gone */ }
    }
    for (const pid of pidsWith(this.marker)) {
      leftovers.push(`server process ${pid}`);
      try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
    }
    return leftovers;
  }
}

// ------------------------------------------------------------------ the browser

/** A fresh Chromium profile with one page whose console, errors, failed requests, dialogs,
 * navigations and hub requests are recorded in `events`. */
export async function openBrowser(dir) {
  const profile = fs.mkdtempSync(path.join(dir, "chromium-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    timeout: 60_000,
  });
  const page = context.pages()[0] || (await context.newPage());
  const events = [];
  const t0 = Date.now();
  const at = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  const short = (u) => {
    try {
      const x = new URL(u);
      return (x.pathname + x.search).replace(/(_xsrf=)[^&]+/, "$1…");
    } catch { return u; }
  };
  const add = (kind, text) => events.push({ kind, text: `${at()} ${kind}: ${text}` });
  page.on("console", (m) => add(`console.${m.type()}`, `${m.text()} (${short(m.location().url || "")})`));
  page.on("pageerror", (e) => add("pageerror", e.message));
  page.on("requestfailed", (r) => add("requestfailed", `${r.method()} ${short(r.url())} ${r.failure()?.errorText || ""}`));
  page.on("response", (r) => {
    const u = new URL(r.url());
    if (r.status() >= 400) add("http-error", `${r.status()} ${r.request().method()} ${short(r.url())}`);
    else if (u.pathname.startsWith("/hub/") && !u.pathname.startsWith("/hub/static/")) {
      add("hub-request", `${r.request().method()} ${short(r.url())} -> ${r.status()}`);
    }
  });
  // Dialogs are dismissed, unless a test sets `page.acceptDialogs` (a confirm() it means to answer yes).
  page.on("dialog", (d) => {
    add("dialog", `${d.type()}: ${d.message()}`);
    (page.acceptDialogs ? d.accept() : d.dismiss()).catch(() => {});
  });
  page.on("framenavigated", (f) => { if (f === page.mainFrame()) add("navigated", short(f.url())); });
  return { context, page, events };
}

/** Prints the recorded browser events worth reading (all of them when the test failed). */
export function printEvents(events, all) {
  const worth = all ? events : events.filter((e) => !/^console\.(log|info|debug)$/.test(e.kind));
  const cap = 80;
  for (const e of worth.slice(0, cap)) console.log(`#   ${e.text}`);
  if (worth.length > cap) console.log(`#   ... ${worth.length - cap} more`);
}

export async function shot(page, name) {
  const file = path.join(SHOTS, name);
  try {
    await page.screenshot({ path: file, timeout: 20_000 });
    console.log(`# screenshot: ${file}`);
  } catch (e) {
    console.log(`# screenshot ${name} failed: ${e.message.split("\n")[0]}`);
  }
}

/** Fills and submits the login form of the page currently showing it. */
export async function submitLogin(c, page, user, screenshot, password = PASSWORD) {
  const ok = await page.locator("#login-form").waitFor({ state: "visible", timeout: 15_000 }).then(() => true, () => false);
  c.require("the login form is shown", ok, page.url());
  await page.fill("#username_input", user);
  await page.fill("#password_input", password);
  if (screenshot) await shot(page, screenshot);
  await page.click("#login_submit");
}

/** Waits for the JupyterLab UI at `prefix`lab; returns an error text or "". Gives up early when
 * spawn-pending reports that the spawn failed. */
export async function waitForLab(page, prefix, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    let at = "";
    try { at = new URL(page.url()).pathname; } catch { /* about:blank */ }
    if (at.startsWith(prefix + "lab")) break;
    const failed = await page.locator("#progress-failed").textContent({ timeout: 250 }).catch(() => null);
    if (failed) return `spawn-pending reports a failed spawn: ${failed}`;
    if (Date.now() >= deadline) {
      const says = await page.locator("main").innerText({ timeout: 1000 }).catch(() => "");
      return `the browser did not reach ${prefix}lab within ${ms / 1000} s (at ${page.url()}; the page says: ${JSON.stringify(says.slice(0, 300))})`;
    }
    await sleep(250);
  }
  try {
    await page.locator("#jp-main-dock-panel").waitFor({ state: "visible", timeout: 60_000 });
  } catch {
    return `JupyterLab's #jp-main-dock-panel did not appear within 60 s at ${page.url()}`;
  }
  return "";
}

/** Clicks `selector` on the home page and waits for the DELETE it sends and (unless `reload`
 * is false) the reload after it. */
export async function clickStop(page, selector, { reload: expectReload = true } = {}) {
  const del = page.waitForResponse((r) => r.request().method() === "DELETE", { timeout: 30_000 });
  const reloaded = expectReload
    ? page.waitForEvent("framenavigated", { predicate: (f) => f === page.mainFrame(), timeout: 30_000 })
    : Promise.resolve();
  await page.click(selector, { timeout: 10_000 });
  let response = null;
  try { response = await del; } catch { /* reported by the caller */ }
  let reload = true;
  try { await reloaded; await page.waitForLoadState("load", { timeout: 15_000 }); } catch { reload = false; }
  return { response, reload };
}


/** Where screenshots go (set once by the runner). */
let SHOTS = "";
export function setShotsDir(dir) { SHOTS = dir; }

const AXE_SOURCE = fs.readFileSync(path.join(HERE, "node_modules", "axe-core", "axe.min.js"), "utf8");
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

/** Runs axe-core (WCAG 2.1 A/AA and best practices) on the page as it is now: a check that it
 * finds no serious or critical violation; the minor and moderate ones are printed. */
export async function axe(c, page, what) {
  await page.addScriptTag({ content: AXE_SOURCE });
  const result = await page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  }, AXE_TAGS);
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of result.filter((x) => !bad.includes(x))) console.log(`# axe ${what}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.join(", ")})`);
  c.check(`axe: no serious or critical violation on ${what}`, bad.length === 0,
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.join(", ")}`).join("; "));
  return result;
}

/** Reload until `fn` holds (the admin panel does not poll, as upstream's does not). */
export async function reloadUntil(page, fn, ms) {
  return waitFor(async () => {
    await page.reload({ timeout: 15_000 });
    return fn();
  }, ms, 1000);
}
