// After a failed submit, take the person to what went wrong: focus the error summary (the GOV.UK
// pattern), which also scrolls it into view and has screen readers read it. On a phone the form
// may sit far down the page; without this nothing visible would change. Without JavaScript the
// summary is still at the top of its form, announced by role="alert".
(function () {
  "use strict";
  function focusSummary() {
    var summary = document.querySelector(".error-summary");
    if (summary) {
      summary.focus();
      summary.scrollIntoView({ block: "start" });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSummary);
  } else {
    focusSummary();
  }
})();
