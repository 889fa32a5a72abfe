/* Draw the pathway's diagrams (every [data-diagram] box) from their Mermaid source with the
   locally served Mermaid: natural size (text at 16 px), each box scrolling sideways on its own
   when the drawing is wider than the page, with a hint under it saying so. */
"use strict";
(function () {
  const boxes = Array.from(document.querySelectorAll("[data-diagram]"));
  if (!boxes.length || typeof mermaid === "undefined") return;
  const font = getComputedStyle(document.body).fontFamily;
  mermaid.initialize({
    startOnLoad: false,
    securityLevel: "strict",
    theme: "base",
    fontFamily: font,
    htmlLabels: true,
    look: "classic",
    themeVariables: {
      fontFamily: font,
      fontSize: "16px",
      primaryColor: "#e8f0fa",
      primaryBorderColor: "#1f5f8b",
      primaryTextColor: "#1b1b1b",
      lineColor: "#4a4a4a",
      clusterBkg: "#fafbfc",
      clusterBorder: "#9aa5b1",
      edgeLabelBackground: "#ffffff",
      titleColor: "#1b1b1b",
    },
    flowchart: {
      useMaxWidth: false,
      curve: "basis",
      nodeSpacing: 28,
      rankSpacing: 48,
      padding: 12,
      wrappingWidth: 240,
    },
  });
  // One at a time: Mermaid's renderer is not re-entrant.
  boxes.reduce((previous, box, n) => previous.then(() => {
    const source = box.querySelector(".mermaid-source");
    if (!source) return undefined;
    return mermaid.render(`diagram-svg-${n}`, source.textContent).then(({ svg }) => {
      const holder = document.createElement("div");
      holder.className = "diagram-svg";
      holder.innerHTML = svg;  // Mermaid's strict level sanitises the SVG it produces
      const wait = box.querySelector(".diagram-wait");
      if (wait) wait.remove();
      box.appendChild(holder);
      box.tabIndex = 0;  // a box that scrolls sideways can be scrolled from the keyboard
      const scrolls = () => { box.dataset.scrolls = String(box.scrollWidth > box.clientWidth); };
      scrolls();
      if (typeof ResizeObserver !== "undefined") new ResizeObserver(scrolls).observe(box);
      box.dataset.ready = "true";
    }).catch((err) => {
      box.dataset.ready = "error";
      console.error("diagram:", err);
    });
  }), Promise.resolve());
})();
