// Inside the embeddable form's frame (templates/petitions/embed_base.html): tell the page around
// it how tall this page is, so that embed-resize.js, which that page may include, fits the
// iframe to it: on load, whenever the page changes height (errors shown, details opened, a
// narrower window) and when embed-resize.js asks (it may load after this page). Only a number
// is sent, nothing the signer typed; any origin may receive it, since only the network's
// registered origins may frame this page at all (Content-Security-Policy frame-ancestors).
(function () {
  "use strict";
  if (window.parent === window) {
    return; // opened on its own, not in a frame: nobody to tell
  }
  var TYPE = "campaigns:embed-height";
  var lastHeight = -1;

  function height() {
    return Math.ceil(document.documentElement.getBoundingClientRect().height);
  }

  function tell(target, origin) {
    lastHeight = height();
    target.postMessage({ type: TYPE, height: lastHeight }, origin);
  }

  function tellIfChanged() {
    if (height() !== lastHeight) {
      tell(window.parent, "*");
    }
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.source === window.parent && data && data.type === "campaigns:embed-hello") {
      tell(event.source, event.origin);
    }
  });
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(tellIfChanged).observe(document.documentElement);
  } else {
    window.addEventListener("resize", tellIfChanged);
  }
  if (document.readyState === "complete") {
    tellIfChanged();
  } else {
    window.addEventListener("load", tellIfChanged);
  }
})();
