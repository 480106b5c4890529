// Draws every chart on the page from its JSON spec (<script type="application/json" data-chart>).
// No inline script: the page's Content-Security-Policy allows scripts from this server only.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var palette = ["#2f6fde", "#e07b39", "#1f8a4c", "#9b59b6", "#c23b3b", "#16a2b8", "#7f8c8d"];
  Chart.defaults.animation = false;
  Chart.defaults.font.size = 12;

  function dataset(spec, d, i) {
    var markers = { "trend event": "rgba(194, 59, 59, 0.35)", "adapter version": "rgba(127, 140, 141, 0.45)" };
    var color = d.marker ? (markers[d.label] || "rgba(183, 121, 31, 0.3)") : palette[i % palette.length];
    var out = {
      label: d.label, data: d.data, type: d.type || spec.type,
      borderColor: color, backgroundColor: d.marker || spec.type === "bar" ? color : color + "33",
      spanGaps: true, tension: 0.2, borderWidth: 2,
      pointRadius: d.points ? 2 : (spec.type === "line" ? 3 : 0)
    };
    if (d.marker) { out.barPercentage = 0.15; out.order = 10; }
    if (d.axis) { out.yAxisID = d.axis; }
    return out;
  }

  document.querySelectorAll("script[type='application/json'][data-chart]").forEach(function (node) {
    var canvas = document.getElementById(node.getAttribute("data-chart"));
    if (!canvas) { return; }
    var spec = JSON.parse(node.textContent);
    var stacked = !!spec.stacked;
    var scales = {
      x: { stacked: stacked, title: { display: !!spec.x, text: spec.x || "" } },
      y: { stacked: stacked, beginAtZero: true, title: { display: !!spec.y, text: spec.y || "" } }
    };
    if (spec.y2) {
      scales.y2 = { position: "right", min: -1, max: 1, grid: { drawOnChartArea: false },
                    title: { display: true, text: spec.y2 } };
    }
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets.map(function (d, i) { return dataset(spec, d, i); }) },
      options: {
        responsive: true, maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom" } },
        scales: scales
      }
    });
    canvas.setAttribute("data-drawn", "1");
  });
})();
