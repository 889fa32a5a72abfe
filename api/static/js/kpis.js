/* KPI charts: a bar per KPI against the green and amber lines, and each KPI's trend by month.
   The tables beside the charts say the same. */
"use strict";
(function () {
  const data = window.PathwayCharts && window.PathwayCharts.readJson("kpi-data");
  if (!data || typeof Chart === "undefined") return;
  const { colours, referenceLines } = window.PathwayCharts;
  const bandLines = (axis) => [
    { axis, value: data.bands.green, label: data.bands.green + " %", colour: colours.green, dash: [6, 4] },
    { axis, value: data.bands.amber, label: data.bands.amber + " %", colour: colours.amber, dash: [6, 4] },
  ];
  const short = (title) => (title.length > 48 ? title.slice(0, 46) + "…" : title);

  const bars = document.getElementById("kpi-bars");
  if (bars) {
    bars.parentElement.style.height = (data.bars.length * 42 + 70) + "px";
    new Chart(bars, {
      type: "bar",
      data: {
        labels: data.bars.map((b) => short(b.title)),
        datasets: [{
          label: "rate (%)",
          data: data.bars.map((b) => (b.rate === null ? 0 : b.rate)),
          backgroundColor: data.bars.map((b) => colours[b.band || "none"]),
        }],
      },
      options: {
        indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { min: 0, max: 100, title: { display: true, text: "% on time" } } },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (item) => {
            const b = data.bars[item.dataIndex];
            return b.rate === null ? "no cases yet" : `${b.rate} % (${b.numerator} of ${b.denominator}), ${b.band}`;
          } } },
          referenceLines: { lines: bandLines("x") },
        },
      },
      plugins: [referenceLines],
    });
    bars.dataset.ready = "true";
  }

  const trend = document.getElementById("kpi-trend");
  if (trend) {
    const palette = ["#1f5f8b", "#2e7d4f", "#8a3b12", "#5a3d8a", "#b0397a", "#2a7f86", "#6b6b00"];
    new Chart(trend, {
      type: "line",
      data: {
        labels: data.trend.labels,
        datasets: data.trend.series.map((s, i) => ({
          label: short(s.title), data: s.rates, spanGaps: true,
          borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length],
          tension: 0.2,
        })),
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { y: { min: 0, max: 100, title: { display: true, text: "% on time" } } },
        plugins: { legend: { position: "bottom" }, referenceLines: { lines: bandLines("y") } },
      },
      plugins: [referenceLines],
    });
    trend.dataset.ready = "true";
  }
})();
