// Filters start open (so they work without JavaScript) and fold away on narrow screens.
(function () {
  "use strict";
  document.querySelectorAll("details[data-collapse-below]").forEach(function (panel) {
    if (window.matchMedia("(max-width: " + panel.dataset.collapseBelow + ")").matches) panel.open = false;
  });
})();
