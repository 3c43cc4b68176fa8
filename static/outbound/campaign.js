// Keeps the campaign page's numbers live: polls the small JSON endpoint while the
// campaign runs and redraws the counts, bars and per-minute columns.
(function () {
  "use strict";
  var box = document.getElementById("campaign-live");
  if (!box) {
    return;
  }
  var format = new Intl.NumberFormat();

  function pick(data, path) {
    return path.split(".").reduce(function (value, key) {
      return value == null ? undefined : value[key];
    }, data);
  }

  function drawBars() {
    var groups = {};
    box.querySelectorAll("[data-bar-group]").forEach(function (bar) {
      var group = bar.dataset.barGroup;
      groups[group] = Math.max(groups[group] || 0, Number(bar.dataset.value));
    });
    box.querySelectorAll("[data-bar-group]").forEach(function (bar) {
      var top = groups[bar.dataset.barGroup] || 1;
      bar.style.width = (100 * Number(bar.dataset.value)) / top + "%";
    });
    var columns = box.querySelectorAll(".campaign-column");
    var highest = 1;
    columns.forEach(function (column) {
      highest = Math.max(highest, Number(column.dataset.value));
    });
    columns.forEach(function (column) {
      column.style.height = (100 * Number(column.dataset.value)) / highest + "%";
    });
  }

  function show(data) {
    document.querySelectorAll("[data-live]").forEach(function (cell) {
      var value = pick(data, cell.dataset.live);
      if (value !== undefined) {
        cell.textContent = typeof value === "number" ? format.format(value) : value;
      }
    });
    box.querySelectorAll("[data-live-bar]").forEach(function (bar) {
      var value = pick(data, bar.dataset.liveBar);
      if (value !== undefined) {
        bar.dataset.value = value;
      }
    });
    box.querySelectorAll("[data-live-width]").forEach(function (bar) {
      bar.style.width = pick(data, bar.dataset.liveWidth) + "%";
    });
    var columns = box.querySelectorAll(".campaign-column");
    (data.per_minute || []).forEach(function (count, index) {
      if (columns[index]) {
        columns[index].dataset.value = count;
        columns[index].title = count;
      }
    });
    drawBars();
  }

  function poll() {
    fetch(box.dataset.liveUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data) {
          show(data);
        }
      })
      .catch(function () {})
      .finally(function () {
        window.setTimeout(poll, 3000);
      });
  }

  drawBars();
  window.setTimeout(poll, 3000);
})();
