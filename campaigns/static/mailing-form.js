// The new-mailing form: a filter box above each long list of checkboxes, and the number of
// recipients kept current while the audience is chosen. Without JavaScript every choice is still
// there, and the count is shown as of the last save or page load.
(function () {
  "use strict";

  document.querySelectorAll(".checklist[data-filter]").forEach(function (box, index) {
    var options = box.querySelectorAll("li");
    var label = document.createElement("label");
    var input = document.createElement("input");
    input.type = "search";
    input.id = "checklist-filter-" + index;
    input.className = "checklist-filter";
    input.autocomplete = "off";
    label.htmlFor = input.id;
    label.textContent = box.dataset.filter;
    input.addEventListener("input", function () {
      var wanted = input.value.trim().toLocaleLowerCase();
      options.forEach(function (li) {
        var ticked = li.querySelector("input").checked;  // a chosen one never hides
        li.hidden = wanted !== "" && !ticked && li.textContent.toLocaleLowerCase().indexOf(wanted) === -1;
      });
    });
    // The filter is not part of the form: Enter in it must not save the mailing.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
    var legend = box.querySelector("legend");
    legend.after(label, input);
  });

  var audience = document.getElementById("audience");
  var count = document.getElementById("recipient-count");
  if (!audience || !count) { return; }
  var timer = null;
  var asked = 0;

  function update() {
    var query = new URLSearchParams();
    audience.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      query.append(box.name, box.value);
    });
    var mine = ++asked;
    fetch(count.dataset.url + "?" + query.toString(), {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        // Only the answer to the latest question: an older, slower one must not overwrite it.
        if (mine === asked) { count.querySelector("strong").textContent = data.text; }
      })
      .catch(function () {
        // A figure that no longer matches the ticks must not stay on screen looking current
        // (a network error, or a session that ended and answers with the sign-in page).
        if (mine === asked) { count.querySelector("strong").textContent = count.dataset.unavailable; }
      });
  }

  audience.addEventListener("change", function (event) {
    if (event.target.type !== "checkbox") { return; }
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 250);
  });
}());
