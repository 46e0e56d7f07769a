/* Draws every <canvas data-chart="…"> from the JSON beside it (json_script), with Chart.js
   (static/vendor/chartjs). The numbers are the ones of the chart's data table. Colours come from the
   page's --brand and --accent, darkened where needed to keep 3:1 against white (WCAG 1.4.11).
   Used by the staff dashboard and the console's overview. */
(function () {
  "use strict";

  if (typeof window.Chart === "undefined") {
    return;
  }

  function parseColour(text) {
    var probe = document.createElement("span");
    probe.style.color = text;
    document.body.appendChild(probe);
    var rgb = getComputedStyle(probe).color.match(/\d+(\.\d+)?/g) || ["0", "0", "0"];
    probe.remove();
    return [Number(rgb[0]), Number(rgb[1]), Number(rgb[2])];
  }

  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v = v / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrastOnWhite(rgb) {
    return 1.05 / (luminance(rgb) + 0.05);
  }

  // The colour itself, or a darker shade of it with at least ``ratio`` against white.
  function legible(rgb, ratio) {
    var c = rgb.slice();
    for (var i = 0; i < 40 && contrastOnWhite(c) < ratio; i++) {
      c = c.map(function (v) { return Math.round(v * 0.92); });
    }
    return c;
  }

  function css(rgb, alpha) {
    return "rgba(" + rgb[0] + "," + rgb[1] + "," + rgb[2] + "," + (alpha === undefined ? 1 : alpha) + ")";
  }

  function palette() {
    var style = getComputedStyle(document.body);
    var brand = legible(parseColour(style.getPropertyValue("--brand").trim() || "#1f5fbf"), 3);
    var accent = legible(parseColour(style.getPropertyValue("--accent").trim() || "#f28c28"), 3);
    // More series than two (the console: one per centre): fixed hues, each at least 3:1 on white.
    var more = [[0, 122, 94], [124, 58, 237], [190, 24, 93], [71, 85, 105], [161, 98, 7]];
    return [brand, accent].concat(more);
  }

  var money = new Intl.NumberFormat("zh-CN", { style: "currency", currency: "CNY", maximumFractionDigits: 0 });
  var moneyExact = new Intl.NumberFormat("zh-CN", { style: "currency", currency: "CNY", minimumFractionDigits: 2 });
  var count = new Intl.NumberFormat("zh-CN", { maximumFractionDigits: 0 });

  function shorten(label) {
    return label.length > 14 ? label.slice(0, 13) + "…" : label;
  }

  function draw(canvas, spec, colours) {
    var horizontal = !!spec.horizontal;
    var valueAxis = horizontal ? "x" : "y";
    var hasMoney = spec.series.some(function (s) { return s.axis === "money"; });
    var hasCount = spec.series.some(function (s) { return s.axis !== "money"; });
    var datasets = spec.series.map(function (s, i) {
      var colour = colours[i % colours.length];
      var axisId = s.axis === "money" && hasCount ? "money" : valueAxis;
      var set = {
        type: s.kind === "line" ? "line" : "bar",
        label: s.label,
        data: s.data,
        borderColor: css(colour),
        backgroundColor: s.kind === "line" ? css(colour) : css(colour, 0.85),
        borderWidth: s.kind === "line" ? 2 : 0,
        pointRadius: s.kind === "line" ? 2 : 0,
        tension: 0.2,
        order: s.kind === "line" ? 0 : 1,
      };
      set[horizontal ? "xAxisID" : "yAxisID"] = axisId;
      return set;
    });
    var scales = {};
    var labelAxis = horizontal ? "y" : "x";
    scales[labelAxis] = {
      stacked: !!spec.stacked,
      grid: { display: false },
      ticks: { color: "#374151", autoSkip: !horizontal, maxRotation: 0, callback: function (v) {
        return shorten(String(this.getLabelForValue(v)));
      } },
    };
    scales[valueAxis] = {
      stacked: !!spec.stacked,
      beginAtZero: true,
      position: horizontal ? "bottom" : "left",
      ticks: { color: "#374151", precision: 0, callback: function (v) {
        return hasMoney && !hasCount ? money.format(v) : count.format(v);
      } },
      grid: { color: "#e5e7eb" },
    };
    if (hasMoney && hasCount) {
      scales.money = {
        axis: valueAxis,
        position: horizontal ? "top" : "right",
        beginAtZero: true,
        grid: { drawOnChartArea: false },
        ticks: { color: "#374151", callback: function (v) { return money.format(v); } },
      };
    }
    return new window.Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : { duration: 300 },
        interaction: { mode: "index", intersect: false },
        scales: scales,
        plugins: {
          legend: { display: spec.series.length > 1, labels: { color: "#1f2937", boxWidth: 12 } },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var s = spec.series[ctx.datasetIndex];
                var v = ctx.raw;
                return s.label + "：" + (s.axis === "money" ? moneyExact.format(v) : count.format(v));
              },
            },
          },
        },
      },
    });
  }

  function start() {
    var colours = palette();
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) {
        return;
      }
      draw(canvas, JSON.parse(source.textContent), colours);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
