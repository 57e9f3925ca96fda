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

// The signing form's box "<network> may contact me" (templates/petitions/_signing_form.html).
// Where no network brought the signer, the page carries each country's member network in a
// <template>; when the signer chooses a country, the box shows that network's name and wording,
// and its hidden field names the network (the server checks it may take the consent). A box
// ticked for one network is never carried over to another: changing country unticks it.
// Without JavaScript the box shows only for the network that brought the signer.
(function () {
  "use strict";
  function setUp() {
    var wrapper = document.querySelector("[data-network-consent]");
    var offers = document.getElementById("network-offers");
    if (!wrapper || !offers || !offers.content) {
      return;
    }
    var form = wrapper.closest("form");
    var country = form && form.elements.namedItem("country");
    var networkField = wrapper.querySelector("input[type=hidden]");
    var box = wrapper.querySelector("input[type=checkbox]");
    var label = wrapper.querySelector("label");
    if (!country || !networkField || !box || !label) {
      return;
    }
    var byCountry = {};
    Array.prototype.forEach.call(offers.content.querySelectorAll("[data-country]"), function (el) {
      byCountry[el.getAttribute("data-country")] = {
        network: el.getAttribute("data-network"),
        text: el.textContent
      };
    });
    function show() {
      var offer = byCountry[country.value];
      if (!offer) {
        wrapper.hidden = true;
        networkField.value = "";
        box.checked = false;
        return;
      }
      if (networkField.value !== offer.network) {
        box.checked = false;
      }
      networkField.value = offer.network;
      label.textContent = offer.text;
      wrapper.hidden = false;
    }
    country.addEventListener("change", show);
    show(); // a country the browser restored (back button) or the server kept after an error
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
