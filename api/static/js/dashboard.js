/* Small progressive enhancements; every page works without them. */
"use strict";
(function () {
  // A refused or invalid event: bring the explanation into view and announce it.
  const refusal = document.getElementById("event-error");
  if (refusal) {
    refusal.scrollIntoView({ block: "center" });
    refusal.focus();
  }
  // Closing an episode ends its fracture-care and bone-health tracks: ask first.
  for (const form of document.querySelectorAll('form[data-event="close"]')) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm("Close this episode? Its open reminders will be resolved.")) event.preventDefault();
    });
  }
})();
