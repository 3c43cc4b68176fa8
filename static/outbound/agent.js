// Keeps the call's state live on the agent's page: polls the call's JSON while the call
// is under way and shows its phase, duration and outcome; the supervisor page reloads.
(function () {
  "use strict";
  var box = document.getElementById("call-state");
  if (box) {
    var phase = box.querySelector("[data-call-phase]");
    var duration = box.querySelector("[data-call-duration]");
    var outcome = box.querySelector("[data-call-outcome]");
    var dial = box.querySelector("[data-testid=dial]");
    var show = function (data) {
      var changed = box.dataset.phase !== data.phase;
      box.dataset.phase = data.phase;
      phase.textContent = phase.getAttribute("data-label-" + data.phase) || data.phase;
      duration.textContent = data.duration === null || data.duration === undefined ? "–" : data.duration + " s";
      outcome.textContent = data.outcome_label || "–";
      if (dial) {
        dial.disabled = data.phase !== "idle";
      }
      return changed;
    };
    var poll = function () {
      fetch(box.dataset.callUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
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
          window.setTimeout(poll, box.dataset.phase === "idle" ? 4000 : 1500);
        });
    };
    window.setTimeout(poll, 1000);
  }
  var board = document.querySelector("[data-refresh-seconds]");
  if (board) {
    window.setTimeout(function () {
      window.location.reload();
    }, Number(board.dataset.refreshSeconds) * 1000);
  }
})();
