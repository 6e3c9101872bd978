// Filters start open (so they work without JavaScript) and fold away on narrow screens.
(function () {
  "use strict";
  document.querySelectorAll("details[data-collapse-below]").forEach(function (panel) {
    if (window.matchMedia("(max-width: " + panel.dataset.collapseBelow + ")").matches) panel.open = false;
  });
})();

// A form marked data-omit-empty sends only the fields given a value, so its address stays
// short and an empty choice ("All tags") is not read as a filter.
(function () {
  "use strict";
  document.querySelectorAll("form[data-omit-empty]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("input[name], select[name]").forEach(function (field) {
        if (!field.value) field.disabled = true;
      });
    });
  });
  // Coming back to the page from the history restores the form as it was left.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-omit-empty] [disabled]").forEach(function (field) {
      field.disabled = false;
    });
  });
})();
