// The thank-you page's "Copy the link" button: copies the share link and says so. Without
// JavaScript (or a clipboard) the button stays hidden and the read-only field can be selected.
(function () {
  "use strict";
  var button = document.getElementById("copy-link");
  var field = document.getElementById("share-link");
  var status = document.getElementById("copy-status");
  if (!button || !field || !navigator.clipboard) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(field.value).then(function () {
      status.textContent = button.dataset.copied;
    }, function () {
      field.select();  // the clipboard refused: leave the link selected to copy by hand
    });
  });
})();
