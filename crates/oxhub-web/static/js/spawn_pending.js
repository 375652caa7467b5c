// The spawn-pending page: follows the progress event stream (pages.md §3.5) and offers to stop
// the server. Values from the server come through data- attributes.
"use strict";
(() => {
  const urls = document.getElementById("progress-urls").dataset;
  const bar = document.getElementById("progress-bar");
  const sr = document.getElementById("sr-progress");
  const msg = document.getElementById("progress-message");
  const log = document.getElementById("progress-log");
  const source = new EventSource(urls.progressUrl);
  source.onmessage = (e) => {
    let ev;
    try { ev = JSON.parse(e.data); } catch (_) { return; }
    if (ev.progress !== undefined) {
      bar.setAttribute("aria-valuenow", ev.progress);
      bar.style.width = ev.progress + "%";
      sr.textContent = ev.progress + "%";
    }
    const line = document.createElement("div");
    line.className = "progress-log-event";
    if (ev.html_message !== undefined) { msg.innerHTML = ev.html_message; line.innerHTML = ev.html_message; }
    else if (ev.message !== undefined) { msg.textContent = ev.message; line.textContent = ev.message; }
    log.appendChild(line);
    if (ev.ready) { source.close(); location.href = urls.nextUrl || ev.url; }
    if (ev.failed) {
      source.close();
      bar.classList.add("bg-danger");
      msg.id = "progress-failed";
      document.getElementById("progress-details").open = true;
    }
  };
  const stop = document.getElementById("stop-server-btn");
  const status = document.getElementById("stop-server-status");
  stop.addEventListener("click", async () => {
    stop.disabled = true;
    stop.textContent = "Stopping...";
    status.className = "alert alert-info";
    status.textContent = "Stopping server...";
    const resp = await fetch(urls.stopUrl, { method: "DELETE", headers: { Accept: "application/json" } });
    if (resp.ok) {
      status.className = "alert alert-success";
      status.textContent = "Server stopped successfully!";
      setTimeout(() => location.reload(), 2000);
    } else {
      let message = resp.status + " " + resp.statusText;
      try { message = (await resp.json()).message || message; } catch (_) { /* not JSON */ }
      status.className = "alert alert-danger";
      status.textContent = "Error stopping server: " + message;
      stop.disabled = false;
      stop.textContent = "Stop Server";
    }
  });
})();
