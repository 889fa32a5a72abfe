/* Draw the pathway diagram from its Mermaid source with the locally served Mermaid. */
"use strict";
(function () {
  const source = document.getElementById("diagram-source");
  const box = document.getElementById("diagram");
  if (!source || !box || typeof mermaid === "undefined") return;
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
  mermaid.render("diagram-svg", source.textContent).then(({ svg }) => {
    const holder = document.createElement("div");
    holder.className = "diagram-svg";
    holder.innerHTML = svg;  // Mermaid's strict level sanitises the SVG it produces
    source.hidden = true;
    const zoom = document.createElement("button");
    zoom.type = "button";
    zoom.textContent = "Show at full size";
    zoom.setAttribute("aria-pressed", "false");
    zoom.addEventListener("click", () => {
      const full = box.classList.toggle("full");
      zoom.setAttribute("aria-pressed", String(full));
      zoom.textContent = full ? "Fit to the page" : "Show at full size";
    });
    box.before(zoom);
    box.appendChild(holder);
    box.dataset.ready = "true";
  }).catch((err) => {
    box.dataset.ready = "error";
    console.error("diagram:", err);
  });
})();
