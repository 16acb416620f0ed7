// Keeps the overview current without a reload: fetch its body every few seconds and swap it in.
// Served by the hub itself; no library, no external request.
(function () {
  "use strict";
  var box = document.querySelector("[data-live-url]");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-live-url");
  var every = Math.max(1, parseInt(box.getAttribute("data-live-every") || "10", 10)) * 1000;
  var busy = false;

  function refresh() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (resp) {
        // A redirect to the login page means the session ended: show it.
        if (resp.redirected && resp.url.indexOf("/login") !== -1) {
          window.location.assign(resp.url);
          return null;
        }
        return resp.ok ? resp.text() : null;
      })
      .then(function (html) {
        if (html === null || html === undefined) { return; }
        // Keep keyboard focus where it was when the focused link survives the swap.
        var focused = document.activeElement && document.activeElement.id;
        box.innerHTML = html;
        box.setAttribute("data-refreshed", String(Date.now()));
        if (focused) {
          var again = document.getElementById(focused);
          if (again) { again.focus(); }
        }
      })
      .catch(function () { /* network hiccup: try again next time */ })
      .then(function () { busy = false; });
  }

  window.setInterval(refresh, every);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
})();
