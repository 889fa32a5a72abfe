/* Small progressive enhancements; every page works without them. */
"use strict";
(function () {
  // A confirmation is shown where the action was taken: after a redirect to an anchor (a
  // reminder, the events section), the message moves beside it instead of the page's top.
  const message = document.querySelector("main > .flash");
  const place = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (message && place) {
    const head = place.querySelector("header, h2");
    if (head) head.insertAdjacentElement("afterend", message); else place.prepend(message);
    place.scrollIntoView({ block: "start" });
  }
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
