// Behaviour every page shares; no page carries a script of its own inline.
(function () {
  // The language menu switches as soon as a language is picked.
  document.querySelectorAll("select[data-submit-on-change]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // A form, or the button that sends it, with data-confirm asks first: an action that
  // cannot be undone says so, and cancelling sends nothing.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) ||
      event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
})();
