// Draws the dashboard's charts with Chart.js from the configurations the page embeds.
// Every figure is also in the data table beside its chart, so nothing depends on this script.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof Chart === "undefined") return;
  var configs = JSON.parse(source.textContent);
  var reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function policyTitles(context) {
    var dataset = context.dataset;
    return dataset.titles ? dataset.titles[context.dataIndex] : "";
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var config = configs[canvas.dataset.chart];
    if (!config) return;
    config.options = config.options || {};
    config.options.responsive = true;
    config.options.maintainAspectRatio = false;
    config.options.animation = reduceMotion ? false : { duration: 300 };
    config.options.plugins = config.options.plugins || {};
    config.options.plugins.tooltip = {
      callbacks: {
        afterLabel: function (context) { return policyTitles(context); },
      },
    };
    new Chart(canvas, config);
  });
})();
