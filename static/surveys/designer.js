/* Questionnaire designer: show only the fields that apply to the chosen question type, rule
   condition or rule action. Every page works without this script; it only tidies the forms.
   (Confirmations before destructive posts, data-confirm, are waihu.js's, on every page.) */
(function () {
  "use strict";

  function controlFor(block, name) {
    var form = block.closest("form");
    if (!form) return null;
    var fields = form.querySelectorAll("select, input");
    for (var i = 0; i < fields.length; i++) {
      var fieldName = fields[i].name || "";
      if (fieldName === name || fieldName.slice(-(name.length + 1)) === "-" + name) {
        return fields[i];
      }
    }
    return null;
  }

  function refresh(block) {
    var control = controlFor(block, block.getAttribute("data-depends"));
    if (!control) return;
    var values = block.getAttribute("data-values").split(" ");
    block.hidden = values.indexOf(control.value) === -1;
  }

  // After a form comes back with errors, bring it into view.
  var focus = document.querySelector("[data-focus]");
  if (focus) {
    var target = document.getElementById(focus.getAttribute("data-focus"));
    if (target) {
      if (target.tagName === "DETAILS") target.open = true;
      target.scrollIntoView();
    }
  }

  var blocks = document.querySelectorAll("[data-depends]");
  blocks.forEach(function (block) {
    var control = controlFor(block, block.getAttribute("data-depends"));
    if (!control) return;
    refresh(block);
    control.addEventListener("change", function () { refresh(block); });
  });
})();

/* Questions move by drag and drop: a card dropped on another takes its place, and the page
   comes back in the new order (the server renumbers; the arrow buttons stay for the
   keyboard). Nothing moves until the server has saved it. */
(function () {
  "use strict";

  var list = document.querySelector("[data-testid=question-list]");
  if (!list) return;
  var cards = function () {
    return Array.prototype.slice.call(list.querySelectorAll("article[data-move-url]"));
  };
  var dragged = null;

  list.addEventListener("dragstart", function (event) {
    dragged = event.target.closest && event.target.closest("article[data-move-url]");
    if (!dragged) return;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.code || "");
    dragged.classList.add("opacity-50");
  });

  list.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("opacity-50");
    cards().forEach(function (card) { card.classList.remove("border-primary"); });
  });

  list.addEventListener("dragover", function (event) {
    var over = event.target.closest && event.target.closest("article[data-move-url]");
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    cards().forEach(function (card) { card.classList.toggle("border-primary", card === over); });
  });

  list.addEventListener("drop", function (event) {
    var over = event.target.closest && event.target.closest("article[data-move-url]");
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    var position = cards().indexOf(over) + 1;
    var token = dragged.querySelector("input[name=csrfmiddlewaretoken]");
    var body = new URLSearchParams();
    body.append("position", String(position));
    if (token) body.append("csrfmiddlewaretoken", token.value);
    var moved = dragged;
    fetch(moved.dataset.moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token ? token.value : "" }
    }).then(function () {
      // Back at the moved question, in one navigation (setting the hash would be another).
      window.history.replaceState(null, "", "#" + moved.id);
      window.location.reload();
    });
  });
})();

/* A question's choices are one form: "Add a choice" adds a blank row (the formset's empty
   form, numbered like the rows before it) at the end. Without this script the form still
   has one blank row for a new choice. */
(function () {
  "use strict";

  document.querySelectorAll("form[data-formset]").forEach(function (form) {
    var prefix = form.getAttribute("data-formset");
    var total = form.querySelector("input[name=" + prefix + "-TOTAL_FORMS]");
    var rows = form.querySelector("[data-formset-rows]");
    var empty = form.querySelector("template[data-formset-empty]");
    var add = form.querySelector("[data-formset-add]");
    if (!total || !rows || !empty || !add) return;
    add.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var html = empty.innerHTML.replace(/__prefix__/g, String(index));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var row = rows.lastElementChild;
      var order = row.querySelector("input[name$=-ORDER]");
      if (order) order.value = String(rows.children.length);
      var label = row.querySelector("input[name$=-label]");
      if (label) label.focus();
    });
  });
})();
