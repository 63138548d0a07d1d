/* Dashboard charts. The page embeds its figures as JSON (#dashboard-data) and shows the same numbers
   in tables; this script only draws them with the vendored Chart.js, one chart per canvas[data-chart]. */
(function () {
  "use strict";

  var PALETTE = ["#1d4ed8", "#0e7490", "#7c3aed", "#b7791f", "#b42318", "#1e7b34", "#616e7c", "#db2777"];

  function coloured(datasets) {
    return datasets.map(function (ds, i) {
      return Object.assign({ backgroundColor: PALETTE[i % PALETTE.length], borderColor: PALETTE[i % PALETTE.length] }, ds);
    });
  }

  var common = { responsive: true, maintainAspectRatio: false, animation: false };

  var BUILD = {
    stages: function (d) {
      return {
        type: "bar",
        data: { labels: d.labels, datasets: coloured(d.datasets) },
        options: Object.assign({}, common, {
          indexAxis: "y",
          scales: { x: { stacked: true, ticks: { precision: 0 } }, y: { stacked: true } },
          plugins: { legend: { position: "top" } }
        })
      };
    },
    times: function (d) {
      var limit = {
        type: "line",
        label: d.limit.label,
        data: d.labels.map(function () { return d.limit.value; }),
        borderColor: "#c81e1e",
        backgroundColor: "rgba(0, 0, 0, 0)",
        borderDash: [6, 4],
        pointRadius: 0
      };
      return {
        type: "bar",
        data: { labels: d.labels, datasets: coloured(d.datasets).concat([limit]) },
        options: Object.assign({}, common, { scales: { y: { beginAtZero: true } } })
      };
    },
    weekly: function (d) {
      return {
        type: "line",
        data: { labels: d.labels, datasets: coloured(d.datasets) },
        options: Object.assign({}, common, { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } })
      };
    }
  };

  function draw() {
    var source = document.getElementById("dashboard-data");
    if (!source || !window.Chart) {
      return;
    }
    var figures = JSON.parse(source.textContent);
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    // a chart box's height comes from the page as data (the CSP allows no style attributes)
    document.querySelectorAll(".sv-chart[data-height]").forEach(function (box) {
      box.style.height = box.dataset.height + "px";
    });
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      new Chart(canvas, BUILD[canvas.dataset.chart](figures[canvas.dataset.chart]));
    });
  }

  draw();
})();
