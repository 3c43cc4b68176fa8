// Keeps the campaign page live: polls the small JSON endpoint and redraws the counts, bars
// and per-minute columns, and the table of attempts (the page's filters and page number
// travel in the endpoint's query string). Every value goes in as text, never as markup.
(function () {
  "use strict";
  var box = document.getElementById("campaign-live");
  if (!box) {
    return;
  }
  var format = new Intl.NumberFormat();
  var attemptsTable = document.querySelector("[data-testid=attempts]");
  var attemptsBody = attemptsTable ? attemptsTable.tBodies[0] : null;
  var playerTemplate = document.getElementById("recording-player");

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function player(recording) {
    var details = playerTemplate.content.firstElementChild.cloneNode(true);
    details.dataset.recording = recording.sid;
    var duration = details.querySelector("[data-duration]");
    if (recording.duration) {
      duration.before(" ");
      duration.textContent = "(" + recording.duration + " s)";
    } else {
      duration.remove();
    }
    details.querySelectorAll("source[data-format]").forEach(function (source) {
      source.src = recording[source.dataset.format];
      source.removeAttribute("data-format");
    });
    return details;
  }

  // The same markup as the rows the server draws in detail.html.
  function attemptRow(row) {
    var tr = element("tr");
    tr.dataset.attempt = row.id;
    tr.dataset.key = row.key;
    var who = element("td", "", row.to);
    who.append(element("br"), element("small", "text-body-secondary", row.name));
    var outcome = element("td", "", row.outcome ? row.outcome_label : "—");
    if (row.outcome && row.error_code) {
      outcome.append(" ", element("small", "text-body-secondary", "(" + row.error_code + ")"));
    }
    var timeline = element("ol", "campaign-timeline");
    var created = element("li", "", row.created + " " + attemptsTable.dataset.createdLabel);
    created.dataset.status = "created";
    timeline.append(created);
    row.events.forEach(function (event) {
      var item = element("li", "", event.time + " " + event.label);
      item.dataset.status = event.status;
      timeline.append(item);
    });
    var recordings = element("td");
    if (playerTemplate) {
      row.recordings.forEach(function (recording) {
        recordings.append(player(recording));
      });
    }
    var timelineCell = element("td");
    timelineCell.append(timeline);
    tr.append(
      who,
      element("td", "", row.number),
      element("td", "", row.status_label),
      outcome,
      element("td", "text-end", row.duration === null ? "" : row.duration + " s"),
      timelineCell,
      recordings
    );
    return tr;
  }

  function drawAttempts(rows) {
    if (!attemptsBody || !Array.isArray(rows)) {
      return;
    }
    var shown = {};
    var order = [];
    attemptsBody.querySelectorAll("tr[data-key]").forEach(function (tr) {
      shown[tr.dataset.key] = tr;
      order.push(tr.dataset.key);
    });
    var wanted = rows.map(function (row) {
      return row.key;
    });
    var empty = attemptsBody.querySelector("tr[data-empty]");
    if (wanted.join(" ") === order.join(" ") && (rows.length > 0 || empty)) {
      return; // nothing changed: leave the rows (and any recording playing) alone
    }
    var fresh = document.createDocumentFragment();
    rows.forEach(function (row) {
      fresh.append(shown[row.key] || attemptRow(row));
    });
    if (rows.length === 0) {
      var none = element("tr");
      none.dataset.empty = "";
      var cell = element("td", "text-body-secondary", attemptsTable.dataset.emptyLabel);
      cell.colSpan = 7;
      none.append(cell);
      fresh.append(none);
    }
    attemptsBody.replaceChildren(fresh);
  }

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
    drawAttempts(data.attempts);
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
