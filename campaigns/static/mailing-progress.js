// Keeps a mailing's progress bar current while it sends. Without JavaScript the page still shows
// the figures as of its loading; reload for newer ones.
(function () {
  "use strict";
  var box = document.getElementById("mailing-progress");
  if (!box) { return; }
  // Only while it sends: a scheduled or paused mailing can wait for days, and a page polling all
  // that time would keep an unattended session alive.
  if (box.dataset.status !== "sending") { return; }
  var bar = document.getElementById("progress-bar");

  function show(data) {
    bar.value = data.percent;
    bar.textContent = data.percent + " %";
    box.querySelectorAll("[data-field]").forEach(function (el) {
      var value = data[el.dataset.field];
      if (typeof value === "string") { el.textContent = value; }  // already worded, localised
      else if (typeof value === "number") { el.textContent = Math.round(value); }
    });
    if (data.status !== box.dataset.status) {
      window.location.reload();  // the actions offered depend on the state
    }
  }

  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { show(data); } })
      .catch(function () {})
      .finally(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 2000);
})();
