/* The episode timeline: each milestone's window as a floating bar (day numbers since day 0),
   when it was met, the events, and today's line. The table under the chart says the same. */
"use strict";
(function () {
  const data = window.PathwayCharts && window.PathwayCharts.readJson("timeline-data");
  const canvas = document.getElementById("timeline-chart");
  if (!data || !canvas || typeof Chart === "undefined") return;
  const { colours, referenceLines } = window.PathwayCharts;
  const EVENTS = "events";
  const labels = data.rows.map((r) => r.label).concat([EVENTS]);
  const box = canvas.parentElement;
  box.style.height = (labels.length * 30 + 70) + "px";

  const windows = {
    type: "bar",
    label: "window (due → overdue)",
    data: data.rows.map((r) => ({ x: [r.start, Math.max(r.end, r.start + 0.8)], y: r.label, row: r })),
    backgroundColor: data.rows.map((r) => colours[r.status] || colours.void),
    borderColor: data.rows.map((r) => (r.status === "overdue" ? "#7b1d13" : "transparent")),
    borderWidth: 2,
    borderSkipped: false,
    barPercentage: 0.7,
    categoryPercentage: 0.9,
  };
  const met = {
    type: "scatter",
    label: "met",
    data: data.rows.filter((r) => r.met_day !== null).map((r) => ({ x: r.met_day, y: r.label, row: r })),
    pointStyle: "rectRot", pointRadius: 7, pointHoverRadius: 9,
    backgroundColor: "#ffffff", borderColor: colours.met, borderWidth: 3,
  };
  const events = {
    type: "scatter",
    label: "events",
    data: data.events.map((e) => ({ x: e.day, y: EVENTS, event: e })),
    pointStyle: "circle", pointRadius: 6, pointHoverRadius: 8,
    backgroundColor: colours.event,
  };

  function describe(item) {
    const raw = item.raw;
    if (raw.event) return `${raw.event.name.replaceAll("_", " ")} on ${raw.event.on} (day ${raw.event.day}) → ${raw.event.target.replaceAll("_", " ")}`;
    const r = raw.row;
    if (item.dataset.type === "scatter") return `met on ${r.met_on} (day ${r.met_day})`;
    const late = r.overdue_days ? `, ${r.overdue_days} days overdue` : "";
    return `due ${r.due_on} (day ${r.start}), overdue from ${r.overdue_on} (day ${r.end}): ${r.status.replace("_", " ")}${late}`;
  }

  new Chart(canvas, {
    data: { labels, datasets: [windows, met, events] },
    options: {
      indexAxis: "y",
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      parsing: true,
      scales: {
        x: { type: "linear", min: data.x_min, max: data.x_max, title: { display: true, text: "days since day 0 (" + data.day0 + ")" }, grid: { color: "#e4e4e4" } },
        y: { type: "category", labels, grid: { display: false } },
      },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: describe } },
        referenceLines: { lines: [{ axis: "x", value: data.today, label: "today (day " + data.today + ")", colour: colours.today, width: 2, dash: [6, 4] }] },
      },
    },
    plugins: [referenceLines],
  });
  canvas.dataset.ready = "true";
})();
