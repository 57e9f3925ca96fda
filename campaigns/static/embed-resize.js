// For a member network's own page, next to the iframe of our embeddable form:
//   <script src="https://<our site>/static/embed-resize.js" async></script>
// It fits each of our iframes to the height of the form inside (embed-frame.js tells it), so the
// form never scrolls inside the frame. Messages are trusted only from frames of our own origin
// (where this script was loaded from), and only a height is read from them. Without this script
// the frame keeps the height of its snippet, and scrolls.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src || typeof URL !== "function") {
    return;
  }
  var ours = new URL(script.src, document.baseURI).origin;
  var TALLEST = 20000; // px: a sanity cap, whatever a message says

  function ourFrames() {
    var found = [];
    var frames = document.getElementsByTagName("iframe");
    for (var i = 0; i < frames.length; i++) {
      try {
        if (new URL(frames[i].src, document.baseURI).origin === ours) {
          found.push(frames[i]);
        }
      } catch (error) {
        // an iframe without a usable address: not ours
      }
    }
    return found;
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== ours || !data || data.type !== "campaigns:embed-height") {
      return;
    }
    var height = Number(data.height);
    if (!isFinite(height) || height <= 0) {
      return;
    }
    var frames = ourFrames();
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source) {
        frames[i].style.height = Math.min(Math.ceil(height), TALLEST) + "px";
        return;
      }
    }
  });

  // A frame that loaded before this script told nobody: ask each for its height now.
  function greet() {
    var frames = ourFrames();
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow) {
        frames[i].contentWindow.postMessage({ type: "campaigns:embed-hello" }, ours);
      }
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", greet);
  } else {
    greet();
  }
})();
