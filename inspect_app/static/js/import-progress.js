// The progress of a background import (registry/import_progress.html): polls the job's status and
// opens the result when the import is finished. Without this script the page's Refresh button does.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var failures = 0;

  function show(name, value) {
    var el = box.querySelector('[data-field="' + name + '"]');
    if (el) { el.textContent = value; }
  }

  function update(state) {
    show("phase", state.phase);
    show("rows_checked", state.rows_checked);
    show("rows_total", state.rows_total);
    var bar = box.querySelector('[data-field="bar"]');
    if (!bar) { return; }
    if (state.status === "checking" && state.rows_total) {
      bar.max = state.rows_total;
      bar.value = state.rows_checked;
    } else {
      bar.removeAttribute("value");  // indeterminate while reading and while creating
    }
  }

  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (state) {
        failures = 0;
        if (state.finished) {
          window.location.assign(state.result_url);
          return;
        }
        update(state);
        window.setTimeout(poll, 1000);
      })
      .catch(function () {
        failures += 1;
        if (failures < 20) { window.setTimeout(poll, 3000); }
      });
  }

  window.setTimeout(poll, 500);
})();
