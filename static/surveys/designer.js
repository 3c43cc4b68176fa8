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
