// Polls the import's status while it runs; the job lives in the database, so a reload
// picks up where the page left off.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || box.dataset.finished === "1") {
    return;
  }
  var url = box.dataset.statusUrl;
  var bar = box.querySelector(".progress-bar");
  var meter = box.querySelector("[role=progressbar]");
  var label = box.querySelector("[data-field=status_label]");
  var format = new Intl.NumberFormat();

  function show(state) {
    bar.style.width = state.progress + "%";
    bar.textContent = state.progress + "%";
    meter.setAttribute("aria-valuenow", Math.round(state.progress));
    label.textContent = state.status_label;
    Object.keys(state.counts).forEach(function (key) {
      var cell = box.querySelector("[data-count=" + key + "]");
      if (cell) {
        cell.textContent = format.format(state.counts[key]);
      }
    });
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(function (state) {
        show(state);
        // Once a worker has read the file's columns, the page becomes the mapping form.
        if (state.finished || state.status === "uploaded") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 500);
})();
