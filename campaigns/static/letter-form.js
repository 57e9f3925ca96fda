// The letter form: when the country changes, show who receives the letter from that country
// (without JavaScript the "Show who receives it" button does the same with a round trip).
(function () {
  "use strict";
  const form = document.querySelector("form[data-recipients]");
  if (!form) return;
  const country = form.querySelector("select[name=country]");
  const preview = form.querySelector("[data-preview]");
  if (!country) return;
  if (preview) preview.hidden = true;
  let latest = 0;
  country.addEventListener("change", async function () {
    const asked = ++latest;
    const url = form.dataset.recipients + "?country=" + encodeURIComponent(country.value);
    try {
      const response = await fetch(url, { headers: { Accept: "text/html" } });
      if (!response.ok || asked !== latest) return;
      const box = document.getElementById("recipients");
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html")
        .getElementById("recipients");
      if (box && fresh) box.replaceChildren(...fresh.childNodes);
    } catch (error) {
      if (preview) preview.hidden = false; // the server can still show it
    }
  });
})();
