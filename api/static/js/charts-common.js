/* Shared by the dashboard's charts: colours and a plugin drawing reference lines. */
"use strict";
(function () {
  const colours = {
    upcoming: "#4f7fb8", due: "#c98a00", overdue: "#c0392b", met: "#2e7d4f",
    met_late: "#7a8f2a", declined: "#8a8a8a", void: "#b5b5b5",
    green: "#2e7d4f", amber: "#c98a00", red: "#c0392b", none: "#b5b5b5",
    today: "#1b1b1b", event: "#5a3d8a",
  };
  // Vertical (value axis x) or horizontal (value axis y) lines with a label, e.g. today, 80 %.
  const referenceLines = {
    id: "referenceLines",
    afterDatasetsDraw(chart, _args, options) {
      const lines = (options && options.lines) || [];
      const { ctx, chartArea } = chart;
      for (const line of lines) {
        const scale = chart.scales[line.axis];
        if (!scale) continue;
        const at = scale.getPixelForValue(line.value);
        ctx.save();
        ctx.strokeStyle = line.colour;
        ctx.lineWidth = line.width || 2;
        ctx.setLineDash(line.dash || []);
        ctx.beginPath();
        if (line.axis === "x") {
          ctx.moveTo(at, chartArea.top); ctx.lineTo(at, chartArea.bottom);
        } else {
          ctx.moveTo(chartArea.left, at); ctx.lineTo(chartArea.right, at);
        }
        ctx.stroke();
        ctx.fillStyle = line.colour;
        ctx.font = "bold 12px system-ui, sans-serif";
        if (line.axis === "x") ctx.fillText(line.label, at + 4, chartArea.top + 12);
        else ctx.fillText(line.label, chartArea.right - ctx.measureText(line.label).width - 4, at - 4);
        ctx.restore();
      }
    },
  };
  function readJson(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  window.PathwayCharts = { colours, referenceLines, readJson };
})();
