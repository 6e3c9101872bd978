// The postmortem form without this script still works: these are conveniences on top.
(function () {
  "use strict";
  var form = document.querySelector("form.filing-form");
  if (!form) return;
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  // Markdown preview: render through the server's sanitiser, so the preview is what readers get.
  form.querySelectorAll("textarea[data-markdown]").forEach(function (textarea) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button-secondary";
    button.textContent = "Preview";
    var panel = document.createElement("div");
    panel.className = "preview prose";
    panel.id = textarea.id + "_preview";
    panel.hidden = true;
    panel.setAttribute("aria-live", "polite");
    button.setAttribute("aria-controls", panel.id);
    button.addEventListener("click", function () {
      if (!panel.hidden) {
        panel.hidden = true;
        button.textContent = "Preview";
        return;
      }
      var body = new FormData();
      body.append("text", textarea.value);
      body.append("csrfmiddlewaretoken", csrf);
      fetch(form.dataset.previewUrl, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (data) {
          panel.innerHTML = data.html || '<p class="empty">Nothing to preview.</p>';
        })
        .catch(function () {
          panel.textContent = "The preview could not be loaded.";
        })
        .finally(function () {
          panel.hidden = false;
          button.textContent = "Hide preview";
        });
    });
    textarea.insertAdjacentElement("afterend", panel);
    textarea.insertAdjacentElement("afterend", button);
  });

  // Likely duplicates under the title, while it is being typed.
  var title = form.querySelector("#id_title");
  var occurred = form.querySelector("#id_occurred_at");
  var summary = form.querySelector("#id_summary");
  var box = document.getElementById("duplicate-suggestions");
  var timer = null;
  function suggest() {
    // Scored as duplicate flags are: the title and summary, the date and the organisations.
    var params = new URLSearchParams({
      title: title.value,
      summary: summary ? summary.value : "",
      occurred_at: occurred ? occurred.value : ""
    });
    form.querySelectorAll("select[name^='organisation_roles-'][name$='-organisation']").forEach(function (select) {
      if (select.value) params.append("organisation", select.value);
    });
    if (form.dataset.exclude) params.append("exclude", form.dataset.exclude);
    fetch(form.dataset.suggestUrl + "?" + params, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (results) {
        box.textContent = "";
        if (!results.length) return;
        var heading = document.createElement("p");
        heading.textContent = "Already recorded? Similar incidents:";
        var list = document.createElement("ul");
        results.forEach(function (result) {
          var item = document.createElement("li");
          var link = document.createElement("a");
          link.href = result.url;
          link.target = "_blank";
          link.rel = "noopener";
          link.textContent = "#" + result.number + " " + result.title;
          item.appendChild(link);
          list.appendChild(item);
        });
        box.appendChild(heading);
        box.appendChild(list);
      })
      .catch(function () {});
  }
  if (title && box) {
    title.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(suggest, 400);
    });
  }

  // "Add a row": copy the formset's empty form with the next index.
  form.querySelectorAll("[data-formset]").forEach(function (fieldset) {
    var prefix = fieldset.dataset.formset;
    var total = fieldset.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    var template = fieldset.querySelector("template[data-empty-row]");
    var rows = fieldset.querySelector("[data-rows]");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button-secondary";
    button.textContent = "Add a row";
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var html = template.innerHTML
        .replace(/__prefix__/g, String(index))
        .replace(/__number__/g, String(index + 1));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = index + 1;
      var first = rows.lastElementChild.querySelector("input, select, textarea");
      if (first) first.focus();
    });
    rows.insertAdjacentElement("afterend", button);
  });

  var summaryBox = document.getElementById("error-summary");
  if (summaryBox) summaryBox.focus();
})();

// Controls suggested by the action record: offered with an "Add" button, refreshed as the
// action rows change, and never saved unless the person adds them.
(function () {
  var form = document.querySelector("form.filing-form");
  var box = form && form.querySelector("[data-control-suggestions]");
  if (!box) return;
  var fieldset = box.closest("[data-formset]");
  var prefix = fieldset.dataset.formset;

  function emptyRow() {
    var rows = fieldset.querySelectorAll("[data-rows] [data-row]");
    for (var i = 0; i < rows.length; i++) {
      var control = rows[i].querySelector("select[name$='-control']");
      if (control && !control.value) return rows[i];
    }
    var add = fieldset.querySelector("[data-rows] + button");
    if (add) add.click();
    rows = fieldset.querySelectorAll("[data-rows] [data-row]");
    return rows[rows.length - 1];
  }

  function offer(item) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button-secondary";
    button.textContent = "Add";
    button.setAttribute("aria-label", "Add " + item.querySelector("strong").textContent);
    button.addEventListener("click", function () {
      var row = emptyRow();
      row.querySelector("select[name$='-control']").value = item.dataset.control;
      row.querySelector("select[name$='-verdict']").value = item.dataset.verdict;
      row.querySelector("input[name$='-rationale']").value = item.dataset.rationale;
      item.remove();
    });
    item.appendChild(document.createTextNode(" "));
    item.appendChild(button);
  }

  function render(suggestions) {
    box.textContent = "";
    if (!suggestions.length) return;
    var intro = document.createElement("p");
    intro.innerHTML = "<strong>Suggested from the action record.</strong> Nothing is saved unless you add it.";
    var list = document.createElement("ul");
    list.className = "plain-list";
    suggestions.forEach(function (s) {
      var item = document.createElement("li");
      item.dataset.suggestion = "";
      item.dataset.control = s.control;
      item.dataset.verdict = s.verdict;
      item.dataset.rationale = s.rationale;
      var name = document.createElement("strong");
      name.textContent = s.name;
      item.appendChild(name);
      item.appendChild(document.createTextNode(": " + s.verdict_label.toLowerCase() + ". "));
      var why = document.createElement("span");
      why.className = "muted";
      why.textContent = s.rationale;
      item.appendChild(why);
      list.appendChild(item);
      offer(item);
    });
    box.appendChild(intro);
    box.appendChild(list);
  }

  box.querySelectorAll("[data-suggestion]").forEach(offer);

  var timer;
  function refresh() {
    var data = new FormData(form);
    if (form.dataset.exclude) data.append("incident", form.dataset.exclude);
    fetch(form.dataset.controlSuggestUrl, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (suggestions) { if (suggestions) render(suggestions); })
      .catch(function () {});
  }
  form.addEventListener("change", function (event) {
    var name = event.target.name || "";
    if (name.indexOf("agent_actions-") === 0 || name === "broader_permissions" ||
        name.indexOf(prefix + "-") === 0) {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    }
  });
})();
