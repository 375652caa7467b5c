// The home page's buttons, over the REST API with the page's XSRF token. Values from the
// server come through data- attributes (HTML-escaped there), never through script text.
"use strict";
(() => {
  const urls = document.getElementById("home-urls").dataset;
  const api = (path, method, body) => fetch(urls.apiUrl + path + "?_xsrf=" + encodeURIComponent(urls.xsrf), {
    method,
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const showError = async (what, resp) => {
    let message = resp.status + " " + resp.statusText;
    try { message = (await resp.json()).message || message; } catch (_) { /* not JSON */ }
    const e = document.getElementById("home-error");
    e.textContent = what + " failed: " + message;
    e.classList.remove("hidden");
  };

  // The server name for a display name, as JupyterHub 6 derives it (slugs.safe_slug).
  const safeSlug = (name) => {
    if (!name) throw new Error("Enter a name for the server");
    if (name.length <= 30 && /^[a-z]([a-z0-9]*[a-z0-9])?$/.test(name)) return name;
    let s = name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
    s = s.replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-+/, "");
    if (!/^[a-z]/.test(s)) s = "x-" + s;
    s = s.slice(0, 30).replace(/-+$/, "");
    return s || "x";
  };
  const displayName = (text) => text.normalize("NFC").replace(/[\u0000-\u001f\u007f]/g, "").replace(/\s+/g, " ").trim();

  const stop = document.getElementById("stop");
  if (stop) {
    stop.addEventListener("click", async (event) => {
      event.preventDefault();
      stop.setAttribute("aria-disabled", "true");
      const resp = await api("server", "DELETE");
      if (resp.ok) {
        stop.remove();
        const start = document.getElementById("start");
        start.textContent = "Start My Server";
        start.href = urls.spawnUrl;
      } else {
        stop.removeAttribute("aria-disabled");
        await showError("Stopping your server", resp);
      }
    });
  }

  const form = document.getElementById("new-server");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = displayName(form.name.value);
      let slug;
      try { slug = safeSlug(text); } catch (e) { document.getElementById("home-error").textContent = e.message; document.getElementById("home-error").classList.remove("hidden"); return; }
      const resp = await api("servers/" + encodeURIComponent(slug), "PUT", { display_name: text });
      if (resp.ok) location.reload(); else await showError("Adding the server", resp);
    });
  }

  for (const b of document.querySelectorAll("button.stop-server")) {
    b.addEventListener("click", async () => {
      b.disabled = true;
      const resp = await api("servers/" + encodeURIComponent(b.dataset.server), "DELETE");
      if (resp.ok) location.reload(); else { b.disabled = false; await showError("Stopping the server", resp); }
    });
  }
  for (const b of document.querySelectorAll("button.delete-server")) {
    b.addEventListener("click", async () => {
      if (!confirm(`Are you sure you want to delete your server "${b.dataset.server}"?`)) return;
      b.disabled = true;
      const resp = await api("servers/" + encodeURIComponent(b.dataset.server), "DELETE", { remove: true });
      if (resp.ok) b.closest("tr").remove(); else { b.disabled = false; await showError("Deleting the server", resp); }
    });
  }
})();
