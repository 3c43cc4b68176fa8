// The agent console, keyboard first. Every control that has a key carries it in the page
// (data-key, data-answer-key, data-disposition-key, data-pause-key, data-enter), so the
// keys are defined once, on the server, and shown beside the controls.
// - The call: polls the call's JSON, shows its phase, a live timer, the ringing notice
//   until the customer answers; Next waits for the customer on the line; the Hang up and
//   Dial buttons follow the call; dispositions the call has not come far enough for wait.
// - The pace: times each stretch of script read to a customer (from the text shown, with
//   the customer on the line, to the answer or the disposition) and posts it with them.
// - The desk: in progressive mode, counts down and takes and dials the next contact,
//   unless the agent pauses.
// - The supervisor page: polls the agents' states and counts their time up.
(function () {
  "use strict";

  var now = function () {
    return Date.now();
  };

  function visible(element) {
    return Boolean(element) && element.getClientRects().length > 0;
  }

  function usable(element) {
    return visible(element) && !element.disabled;
  }

  function editable(element) {
    if (!element || element === document.body) {
      return false;
    }
    if (element.isContentEditable || element.tagName === "TEXTAREA" || element.tagName === "SELECT") {
      return true;
    }
    if (element.tagName !== "INPUT") {
      return false;
    }
    return ["radio", "checkbox", "button", "submit", "hidden"].indexOf(element.type) === -1;
  }

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var rest = seconds % 60;
    var two = function (n) {
      return (n < 10 ? "0" : "") + n;
    };
    return hours ? hours + ":" + two(minutes) + ":" + two(rest) : minutes + ":" + two(rest);
  }

  function submit(form, submitter) {
    if (!form) {
      return;
    }
    if (submitter && submitter.disabled) {
      return;
    }
    if (form.requestSubmit) {
      form.requestSubmit(submitter || undefined);
    } else {
      form.submit();
    }
  }

  // --- the agent's own state ---------------------------------------------------------------

  var bar = document.getElementById("agent-state");
  var barBase = null;

  function showMe(me) {
    if (!bar || !me) {
      return;
    }
    bar.dataset.state = me.state;
    var label = bar.querySelector("[data-agent-state-label]");
    if (label) {
      label.textContent = me.state_label;
    }
    var reason = bar.querySelector("[data-agent-reason]");
    if (reason) {
      reason.textContent = me.reason_label || "";
    }
    barBase = now() - me.seconds * 1000;
  }

  if (bar) {
    var shownSeconds = Number(bar.dataset.seconds || 0);
    barBase = now() - shownSeconds * 1000;
    window.setInterval(function () {
      var target = bar.querySelector("[data-agent-clock]");
      if (target && barBase !== null && bar.dataset.state !== "offline") {
        target.textContent = clock((now() - barBase) / 1000);
      }
    }, 500);
  }

  // --- the call ------------------------------------------------------------------------------

  var box = document.getElementById("call-state");
  var answerForm = document.getElementById("answer-form");
  var dispositionForm = document.getElementById("disposition-form");
  var closingSection = document.querySelector('[data-reading="closing"]');
  var call = { connected: false, live: false, dialled: false, phase: "idle" };
  var readingStart = null;
  var readingEnd = null;
  var closingStart = null;
  var closingEnd = null;
  var timerBase = null;

  function startReading() {
    // Reading to a customer happens only with the customer on the line.
    if (!call.connected || !call.live) {
      return;
    }
    if (answerForm && readingStart === null) {
      readingStart = now();
    }
    if (closingSection && closingStart === null) {
      closingStart = now();
    }
  }

  function showCall(data) {
    if (!box) {
      return;
    }
    call = data;
    box.dataset.phase = data.phase;
    box.dataset.connected = String(Boolean(data.connected));
    box.dataset.live = String(Boolean(data.live));
    var phase = box.querySelector("[data-call-phase]");
    phase.textContent = phase.getAttribute("data-label-" + data.phase) || data.phase;
    var duration = box.querySelector("[data-call-duration]");
    duration.textContent = data.duration === null || data.duration === undefined ? "–" : data.duration + " s";
    box.querySelector("[data-call-outcome]").textContent = data.outcome_label || "–";
    var ringing = ["agent_ringing", "agent_connected", "ringing"].indexOf(data.phase) !== -1;
    var notice = box.querySelector("[data-ringing-notice]");
    notice.classList.toggle("d-none", !ringing);
    notice.textContent = data.phase === "agent_ringing" ? notice.dataset.textAgent : notice.dataset.textCustomer;
    var dial = box.querySelector("[data-testid=dial]");
    if (dial) {
      dial.disabled = data.phase !== "idle";
    }
    var hangUp = box.querySelector("[data-testid=hang-up]");
    if (hangUp) {
      hangUp.disabled = !data.live;
    }
    if (data.connected && data.live && data.duration !== null && data.duration !== undefined) {
      timerBase = now() - data.duration * 1000;
    } else {
      timerBase = null;
      box.querySelector("[data-call-timer]").textContent =
        data.duration === null || data.duration === undefined ? "–" : clock(data.duration);
    }
    var next = document.querySelector("[data-needs-connected]");
    if (next && answerForm && answerForm.dataset.holding === "true") {
      next.disabled = !data.connected;
    }
    var waiting = document.querySelector("[data-waiting-note]");
    if (waiting) {
      waiting.classList.toggle("d-none", Boolean(data.connected));
    }
    if (dispositionForm) {
      var reached = { nothing: true, dialled: Boolean(data.dialled), connected: Boolean(data.connected) };
      dispositionForm.querySelectorAll("[data-needs]").forEach(function (row) {
        var ok = reached[row.dataset.needs];
        row.classList.toggle("agent-unavailable", !ok);
        var input = row.querySelector("input");
        input.disabled = !ok;
        if (!ok && input.checked) {
          input.checked = false;
        }
      });
      var finish = dispositionForm.querySelector("[data-testid=finish]");
      finish.textContent = data.live ? finish.dataset.labelLive : finish.dataset.labelEnded;
    }
    startReading();
    // Once the customer has gone, nothing more is read to them.
    if (data.phase === "ended" && closingStart !== null && closingEnd === null) {
      closingEnd = now();
    }
    if (data.phase === "ended" && readingStart !== null && readingEnd === null) {
      readingEnd = now();
    }
    showMe(data.me);
  }

  if (box) {
    call = {
      phase: box.dataset.phase,
      connected: box.dataset.connected === "true",
      live: box.dataset.live === "true",
      dialled: box.dataset.dialled === "true",
    };
    if (answerForm) {
      answerForm.dataset.holding = String(Boolean(document.querySelector("[data-testid=disposition]")));
    }
    startReading();
    var poll = function () {
      fetch(box.dataset.callUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (data) {
          if (data) {
            showCall(data);
          }
        })
        .catch(function () {})
        .finally(function () {
          window.setTimeout(poll, call.live ? 1000 : 4000);
        });
    };
    window.setTimeout(poll, call.live ? 500 : 1500);
    window.setInterval(function () {
      if (timerBase !== null) {
        box.querySelector("[data-call-timer]").textContent = clock((now() - timerBase) / 1000);
      }
    }, 250);
  }

  if (answerForm) {
    answerForm.addEventListener("submit", function (event) {
      var field = answerForm.querySelector("[data-reading-ms]");
      var back = event.submitter && event.submitter.getAttribute("formaction");
      if (field && readingStart !== null && !back) {
        field.value = String(Math.max(1, Math.round((readingEnd || now()) - readingStart)));
      }
    });
  }
  if (dispositionForm) {
    dispositionForm.addEventListener("submit", function () {
      var field = dispositionForm.querySelector("[name=closing_ms]");
      if (field && closingStart !== null) {
        field.value = String(Math.max(1, Math.round((closingEnd || now()) - closingStart)));
      }
    });
  }

  // --- the keys ------------------------------------------------------------------------------

  var pausePanel = document.getElementById("pause-panel");
  var typed = "";
  var typedAt = 0;
  var lastToggled = null;
  var armed = null;
  var countdown = null;

  function panelOpen() {
    return pausePanel && !pausePanel.classList.contains("d-none");
  }

  function openPanel(open) {
    if (!pausePanel) {
      return;
    }
    pausePanel.classList.toggle("d-none", !open);
    if (open) {
      var first = pausePanel.querySelector("input[type=radio]");
      if (first && !pausePanel.querySelector("input:checked")) {
        first.checked = true;
      }
    }
    if (countdown) {
      countdown.hold(open);
    }
  }

  function pickAnswer(key) {
    var keys = Array.prototype.slice.call(document.querySelectorAll("#answer-form [data-answer-key]"));
    if (!keys.length) {
      return false;
    }
    var extending = now() - typedAt < 800 && typed !== "";
    var candidate = extending ? typed + key : key;
    var matches = keys.filter(function (kbd) {
      return kbd.dataset.answerKey.indexOf(candidate) === 0;
    });
    if (!matches.length) {
      candidate = key;
      extending = false;
      matches = keys.filter(function (kbd) {
        return kbd.dataset.answerKey.indexOf(candidate) === 0;
      });
    }
    var exact = keys.filter(function (kbd) {
      return kbd.dataset.answerKey === candidate;
    })[0];
    typed = candidate;
    typedAt = now();
    if (!exact) {
      return matches.length > 0;
    }
    var input = document.getElementById(exact.dataset["for"]);
    if (!input || input.disabled) {
      return true;
    }
    if (extending && lastToggled && lastToggled !== input && lastToggled.type === "checkbox") {
      lastToggled.checked = !lastToggled.checked; // "1" then "0" meant 10, not 1 and 10
    }
    if (input.type === "checkbox") {
      input.checked = !input.checked;
    } else {
      input.checked = true;
    }
    input.dispatchEvent(new Event("change", { bubbles: true }));
    lastToggled = input;
    return true;
  }

  function pickSpecial(key) {
    var kbd = document.querySelector('#answer-form [data-answer-key="' + key + '"]');
    if (!kbd) {
      return false;
    }
    var input = document.getElementById(kbd.dataset["for"]);
    if (input && !input.disabled) {
      input.checked = true;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    return true;
  }

  function pickPauseReason(key) {
    var kbd = pausePanel && pausePanel.querySelector('[data-pause-key="' + key + '"]');
    if (!kbd) {
      return false;
    }
    var input = kbd.closest(".form-check").querySelector("input");
    input.checked = true;
    return true;
  }

  function pickDisposition(key) {
    var kbd = dispositionForm && dispositionForm.querySelector('[data-disposition-key="' + key + '"]');
    if (!kbd) {
      return false;
    }
    var input = document.getElementById(kbd.dataset["for"]);
    if (!input || input.disabled) {
      return true;
    }
    input.checked = true;
    armed = input;
    dispositionForm.classList.add("agent-armed");
    if (input.value === "callback") {
      var when = dispositionForm.querySelector("[name=callback_at]");
      if (when) {
        when.focus();
      }
    }
    return true;
  }

  function goOn() {
    if (panelOpen()) {
      submit(pausePanel);
      return true;
    }
    if (armed && dispositionForm) {
      submit(dispositionForm);
      return true;
    }
    var next = answerForm && answerForm.querySelector("[data-testid=answer-next]");
    if (next && visible(next)) {
      submit(answerForm, next);
      return true;
    }
    if (dispositionForm && !answerForm && dispositionForm.querySelector("input[name=disposition]:checked")) {
      submit(dispositionForm);
      return true;
    }
    var enter = document.querySelector("[data-enter]");
    if (usable(enter)) {
      enter.click();
      return true;
    }
    return false;
  }

  function pressKeyed(key) {
    var target = Array.prototype.slice
      .call(document.querySelectorAll('[data-key="' + key + '"]'))
      .filter(usable)[0];
    if (!target) {
      return false;
    }
    if (target.dataset.opens) {
      openPanel(!panelOpen());
    } else {
      target.click();
    }
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.defaultPrevented) {
      return;
    }
    var key = event.key;
    var inField = editable(event.target);
    if (key === "Escape") {
      if (inField) {
        event.target.blur();
      } else if (panelOpen()) {
        openPanel(false);
      } else if (armed) {
        armed.checked = false;
        armed = null;
        dispositionForm.classList.remove("agent-armed");
      }
      return;
    }
    if (inField) {
      if (key === "Enter" && !event.shiftKey && event.target.tagName === "TEXTAREA") {
        event.preventDefault();
        var form = event.target.form;
        submit(form, form === answerForm ? form.querySelector("[data-testid=answer-next]") : null);
      }
      return;
    }
    var handled = false;
    if (key === "Enter") {
      handled = goOn();
    } else if (/^[0-9]$/.test(key)) {
      handled = panelOpen() ? pickPauseReason(key) : pickAnswer(key);
    } else if (key === "*" || key === "-") {
      handled = pickSpecial(key);
    } else if (key === "Backspace") {
      handled = pressKeyed("Backspace");
    } else if (key.length === 1) {
      var letter = key.toLowerCase();
      handled = pickDisposition(letter) || pressKeyed(letter);
    }
    if (handled) {
      event.preventDefault();
    }
  });

  // --- the desk: progressive dialling ----------------------------------------------------

  var desk = document.getElementById("agent-desk");
  var nextForm = document.getElementById("next-form");
  if (desk && nextForm && desk.dataset.progressive === "true" && desk.dataset.state === "ready") {
    var left = Number(desk.dataset.delay || 0);
    var shown = desk.querySelector("[data-countdown]");
    var held = false;
    var tick = function () {
      if (held) {
        return;
      }
      if (shown) {
        shown.textContent = String(Math.max(0, left));
      }
      if (left <= 0) {
        window.clearInterval(timer);
        submit(nextForm);
        return;
      }
      left -= 1;
    };
    var timer = window.setInterval(tick, 1000);
    countdown = {
      hold: function (value) {
        held = value;
      },
    };
    tick();
  }

  // --- the supervisor's board ------------------------------------------------------------

  var board = document.getElementById("agent-board");
  if (board) {
    var rows = board.querySelector("[data-board-rows]");
    var bases = {};
    var remember = function () {
      rows.querySelectorAll("tr[data-agent]").forEach(function (row) {
        bases[row.dataset.agent] = now() - Number(row.dataset.seconds || 0) * 1000;
      });
    };
    var cell = function (row, text, className) {
      var td = document.createElement("td");
      if (className) {
        td.className = className;
      }
      td.textContent = text;
      row.appendChild(td);
      return td;
    };
    var draw = function (data) {
      var template = rows.querySelector("tr[data-agent]");
      var states = Array.prototype.map.call(board.querySelectorAll("thead [data-spent-head]"), function (th) {
        return th.dataset.spentHead;
      });
      rows.textContent = "";
      data.agents.forEach(function (agent) {
        var row = document.createElement("tr");
        row.dataset.agent = agent.agent;
        row.dataset.state = agent.state;
        row.dataset.seconds = String(agent.seconds);
        var who = cell(row, agent.name + (agent.agent_no ? " (" + agent.agent_no + ")" : ""));
        if (agent.away) {
          var away = document.createElement("span");
          away.className = "badge text-bg-light ms-1";
          away.textContent = board.dataset.labelAway;
          who.appendChild(away);
        }
        var stateCell = cell(row, "");
        var badge = document.createElement("span");
        badge.className = "badge agent-state-badge";
        badge.dataset.stateBadge = agent.state;
        badge.dataset.testid = "agent-state";
        badge.setAttribute("data-testid", "agent-state");
        badge.textContent = agent.state_label;
        stateCell.appendChild(badge);
        var reason = document.createElement("span");
        reason.className = "small text-body-secondary ms-1";
        reason.setAttribute("data-testid", "agent-reason");
        reason.textContent = agent.reason_label;
        stateCell.appendChild(reason);
        cell(row, clock(agent.seconds), "font-monospace").setAttribute("data-testid", "agent-for");
        cell(row, agent.campaign);
        cell(row, agent.contact);
        states.forEach(function (state) {
          cell(row, clock(agent.spent[state] || 0), "text-end small font-monospace").dataset.spent = state;
        });
        cell(row, String(agent.finished_today), "text-end").setAttribute("data-testid", "finished-today");
        cell(row, String(agent.completes_last_hour), "text-end");
        var paceCell = cell(row, agent.pace ? "" : "–");
        paceCell.setAttribute("data-testid", "agent-pace");
        if (agent.pace) {
          var figure = document.createElement("span");
          figure.className = "agent-pace agent-pace-" + agent.pace.verdict;
          figure.textContent = agent.pace.per_minute + " " + agent.pace.unit_label + "/" + board.dataset.labelMin;
          paceCell.appendChild(figure);
          paceCell.appendChild(document.createTextNode(" " + agent.pace.verdict_label));
        }
        rows.appendChild(row);
      });
      if (!data.agents.length && template) {
        rows.appendChild(template);
      }
      remember();
    };
    remember();
    var refresh = function () {
      fetch(board.dataset.boardUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (data) {
          if (data) {
            draw(data);
          }
        })
        .catch(function () {})
        .finally(function () {
          window.setTimeout(refresh, Number(board.dataset.refreshMs || 2000));
        });
    };
    window.setTimeout(refresh, Number(board.dataset.refreshMs || 2000));
    window.setInterval(function () {
      rows.querySelectorAll("tr[data-agent]").forEach(function (row) {
        var target = row.querySelector("[data-testid=agent-for]");
        if (target && bases[row.dataset.agent] !== undefined) {
          target.textContent = clock((now() - bases[row.dataset.agent]) / 1000);
        }
      });
    }, 1000);
  }
})();
