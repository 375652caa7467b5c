// The admin panel's buttons (admin-ui.md): REST calls with the page's XSRF token in the query,
// the API's own error message shown in the alert at the top, and a reload after each change.
// Values from the server come through data- attributes (escaped there), never script text.
"use strict";
(() => {
  const data = document.getElementById("admin-data").dataset;
  const seg = encodeURIComponent;

  // JupyterHub's panel lives at /hub/admin#/<view>: old bookmarks land on the same view here.
  const legacy = location.hash.match(/^#\/([a-z-]*)(\?.*)?$/);
  if (legacy && location.pathname === new URL(data.adminUrl, location.href).pathname) {
    const view = { "": "", groups: "/groups", "add-users": "/add-users", "create-group": "/create-group" }[legacy[1]];
    if (view !== undefined) { location.replace(data.adminUrl + view + (legacy[2] || "")); return; }
  }

  const api = async (method, path, body) => {
    const url = data.apiUrl + path + (path.includes("?") ? "&" : "?") + "_xsrf=" + seg(data.xsrf);
    try {
      return await fetch(url, {
        method,
        headers: { "Content-Type": "application/json", Accept: "application/jupyterhub-pagination+json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      return { ok: false, status: 0, statusText: String(e), json: async () => ({}) };
    }
  };
  const reason = async (resp) => {
    let message = resp.status ? resp.status + " " + resp.statusText : resp.statusText;
    try { message = (await resp.json()).message || message; } catch (_) { /* not JSON */ }
    return message;
  };
  const alertBox = document.getElementById("admin-alert");
  const alertText = document.getElementById("admin-alert-text");
  const fail = (text) => {
    alertText.textContent = text;
    alertBox.classList.remove("hidden");
    alertBox.focus();
  };
  alertBox.setAttribute("tabindex", "-1");
  alertBox.querySelector(".btn-close").addEventListener("click", () => alertBox.classList.add("hidden"));
  const serverPath = (user, server) => "users/" + seg(user) + (server ? "/servers/" + seg(server) : "/server");

  // ---- the server table
  for (const toggle of document.querySelectorAll(".row-toggle")) {
    toggle.addEventListener("click", () => {
      const details = document.getElementById(toggle.getAttribute("aria-controls"));
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      toggle.textContent = open ? "▾" : "▸";
      toggle.classList.toggle("btn-primary", !open);
      toggle.classList.toggle("btn-secondary", open);
      details.classList.toggle("hidden", !open);
    });
  }
  const rowAction = (selector, method, body, failure) => {
    for (const b of document.querySelectorAll(selector)) {
      b.addEventListener("click", async () => {
        const row = b.closest("tr");
        b.disabled = true;
        const resp = await api(method, serverPath(row.dataset.user, row.dataset.server), body);
        if (resp.ok) location.reload();
        else { b.disabled = false; fail(failure + " " + (await reason(resp))); }
      });
    }
  };
  rowAction(".start-server", "POST", undefined, "Failed to start server:");
  rowAction(".stop-server", "DELETE", undefined, "Failed to stop server:");
  rowAction(".delete-server", "DELETE", { remove: true }, "Failed to delete server:");

  const bulk = async (button, calls, verb) => {
    button.disabled = true;
    const results = await Promise.all(calls.map((c) => c()));
    const failed = results.filter((r) => !r.ok);
    if (!failed.length) { location.reload(); return; }
    button.disabled = false;
    const first = await reason(failed[0]);
    fail(`Failed to ${verb} ${failed.length} server${failed.length === 1 ? "" : "s"} (${first}).`);
  };
  const startAll = document.getElementById("start-all");
  if (startAll) {
    startAll.addEventListener("click", () => {
      const names = JSON.parse(startAll.dataset.users || "[]");
      bulk(startAll, names.map((n) => () => api("POST", serverPath(n, ""))), "start");
    });
  }
  const stopAll = document.getElementById("stop-all");
  if (stopAll) {
    stopAll.addEventListener("click", () => {
      const rows = [...document.querySelectorAll("tr.user-row[data-active=true]")];
      bulk(stopAll, rows.map((r) => () => api("DELETE", serverPath(r.dataset.user, r.dataset.server))), "stop");
    });
  }
  const shutdown = document.getElementById("shutdown-button");
  if (shutdown) {
    shutdown.addEventListener("click", async () => {
      if (!confirm("Shut down the hub? Users' servers and the proxy stop as the hub is configured to.")) return;
      shutdown.disabled = true;
      const resp = await api("POST", "shutdown");
      if (resp.ok) {
        alertBox.classList.replace("alert-danger", "alert-info");
        alertText.textContent = "The hub is shutting down.";
        alertBox.classList.remove("hidden");
      } else { shutdown.disabled = false; fail("Failed to shut down the hub: " + (await reason(resp))); }
    });
  }
  const activeFilter = document.getElementById("active-servers-filter");
  if (activeFilter) activeFilter.addEventListener("change", () => activeFilter.form.submit());

  // ---- add users, edit a user
  const submit = document.getElementById("submit");
  const action = submit && submit.dataset.action;
  if (action === "add-users") {
    submit.addEventListener("click", async () => {
      const names = document.getElementById("add-user-textarea").value.split("\n").map((s) => s.trim()).filter((s) => s);
      if (!names.length) { fail("Enter at least one user name."); return; }
      submit.disabled = true;
      const resp = await api("POST", "users", { usernames: names, admin: document.getElementById("admin-check").checked });
      if (resp.ok) location.href = data.adminUrl;
      else { submit.disabled = false; fail("Failed to create user: " + (await reason(resp))); }
    });
  }
  if (action === "edit-user") {
    const card = document.getElementById("edit-user-card");
    const old = card.dataset.user;
    submit.addEventListener("click", async () => {
      const name = document.getElementById("edit-username").value.trim() || old;
      const admin = document.getElementById("admin-check").checked;
      if (name === old && String(admin) === card.dataset.admin) { location.href = data.adminUrl; return; }
      submit.disabled = true;
      const resp = await api("PATCH", "users/" + seg(old), { name, admin });
      if (resp.ok) location.href = data.adminUrl;
      else { submit.disabled = false; fail("Failed to edit user: " + (await reason(resp))); }
    });
    document.getElementById("delete-user").addEventListener("click", async (event) => {
      if (!confirm(`Delete the user ${old}? Their servers are stopped and their tokens revoked.`)) return;
      event.target.disabled = true;
      const resp = await api("DELETE", "users/" + seg(old));
      if (resp.ok) location.href = data.adminUrl;
      else { event.target.disabled = false; fail("Failed to delete user: " + (await reason(resp))); }
    });
  }

  // ---- groups
  if (action === "create-group") {
    submit.addEventListener("click", async () => {
      const name = document.getElementById("group-name").value.trim();
      if (!name) { fail("Enter a group name."); return; }
      submit.disabled = true;
      const resp = await api("POST", "groups/" + seg(name));
      if (resp.ok) location.href = data.adminUrl + "/groups";
      else { submit.disabled = false; fail("Failed to create group: " + (await reason(resp))); }
    });
  }
  if (action === "edit-group") {
    const card = document.getElementById("edit-group-card");
    const group = card.dataset.group;
    const original = new Set(JSON.parse(card.dataset.members || "[]"));
    const members = document.getElementById("members");
    let propertiesTouched = false;
    const chip = (name) => {
      const b = document.createElement("button");
      b.type = "button"; b.className = "chip"; b.dataset.user = name; b.textContent = name;
      b.setAttribute("aria-pressed", "true");
      return b;
    };
    members.addEventListener("click", (event) => {
      const b = event.target.closest(".chip");
      if (b) b.setAttribute("aria-pressed", b.getAttribute("aria-pressed") === "true" ? "false" : "true");
    });
    const memberError = document.getElementById("member-error");
    const addMember = async () => {
      const input = document.getElementById("username-input");
      const name = input.value.trim();
      if (!name) return;
      const resp = await api("GET", "users/" + seg(name));
      if (!resp.ok) {
        memberError.textContent = `"${name}" is not a valid JupyterHub user.`;
        memberError.classList.remove("hidden");
        return;
      }
      memberError.classList.add("hidden");
      const existing = [...members.querySelectorAll(".chip")].find((c) => c.dataset.user === name);
      if (existing) existing.setAttribute("aria-pressed", "true"); else members.appendChild(chip(name));
      input.value = "";
      input.focus();
    };
    document.getElementById("validate-user").addEventListener("click", addMember);
    document.getElementById("username-input").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); addMember(); } });

    const tbody = document.querySelector("#properties-table tbody");
    const propertyRow = (key, value) => {
      const tr = document.createElement("tr");
      tr.className = "property-row";
      const cell = (cls, v, label) => {
        const td = document.createElement("td");
        const i = document.createElement("input");
        i.type = "text"; i.className = cls; i.value = v; i.setAttribute("aria-label", label);
        td.appendChild(i); return td;
      };
      tr.appendChild(cell("prop-key", key, "property key"));
      tr.appendChild(cell("prop-value", value, "value of " + key));
      const td = document.createElement("td");
      const del = document.createElement("button");
      del.type = "button"; del.className = "btn btn-sm btn-danger prop-delete"; del.textContent = "Delete";
      td.appendChild(del); tr.appendChild(td);
      return tr;
    };
    tbody.addEventListener("input", () => { propertiesTouched = true; });
    tbody.addEventListener("click", (event) => {
      if (event.target.classList.contains("prop-delete")) { event.target.closest("tr").remove(); propertiesTouched = true; }
    });
    document.getElementById("add-item").addEventListener("click", () => {
      const k = document.getElementById("new-prop-key");
      const v = document.getElementById("new-prop-value");
      if (!k.value || !v.value) { fail("Give the new property a key and a value."); return; }
      tbody.insertBefore(propertyRow(k.value, v.value), document.getElementById("new-property-row"));
      k.value = ""; v.value = "";
      propertiesTouched = true;
      k.focus();
    });

    submit.addEventListener("click", async () => {
      const chosen = [...members.querySelectorAll(".chip[aria-pressed=true]")].map((c) => c.dataset.user);
      const added = chosen.filter((u) => !original.has(u));
      const removed = [...original].filter((u) => !chosen.includes(u));
      const calls = [];
      if (added.length) calls.push(api("POST", `groups/${seg(group)}/users`, { users: added }));
      if (removed.length) calls.push(api("DELETE", `groups/${seg(group)}/users`, { users: removed }));
      if (propertiesTouched) {
        const rows = [...tbody.querySelectorAll("tr.property-row")];
        const keys = rows.map((r) => r.querySelector(".prop-key").value);
        if (new Set(keys).size !== keys.length) { fail("Duplicate keys found!"); return; }
        const props = {};
        rows.forEach((r, i) => { props[keys[i]] = r.querySelector(".prop-value").value; });
        calls.push(api("PUT", `groups/${seg(group)}/properties`, props));
      }
      if (!calls.length) { location.href = data.adminUrl + "/groups"; return; }
      submit.disabled = true;
      const results = await Promise.all(calls);
      const bad = results.find((r) => !r.ok);
      if (bad) { submit.disabled = false; fail("Failed to edit group: " + (await reason(bad))); return; }
      location.reload();
    });
    document.getElementById("delete-group").addEventListener("click", async (event) => {
      if (!confirm(`Delete the group ${group}?`)) return;
      event.target.disabled = true;
      const resp = await api("DELETE", "groups/" + seg(group));
      if (resp.ok) location.href = data.adminUrl + "/groups";
      else { event.target.disabled = false; fail("Failed to delete group: " + (await reason(resp))); }
    });
  }
})();
