// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // After a failed submit, put the keyboard focus on the first field that needs fixing.
  function focusFirstError() {
    var invalid = document.querySelector("[aria-invalid='true']");
    if (invalid) {
      invalid.focus();
    }
  }

  // Open the comment box when someone follows a link to it.
  function openTargetedDetails() {
    if (!location.hash) {
      return;
    }
    var target = document.getElementById(location.hash.slice(1));
    var details = target && target.closest("details");
    if (details) {
      details.open = true;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusFirstError();
    openTargetedDetails();
  });
})();
