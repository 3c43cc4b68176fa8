// A masked phone number's "Show" button: asks for the whole number (the server records
// the reveal in the audit trail) and puts it in place of the masked one. Without this
// script the form's POST shows the number on a page of its own.
(function () {
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-reveal]")) {
      return;
    }
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) {
      button.disabled = true;
    }
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      return response.json();
    }).then(function (data) {
      var shown = form.parentNode.querySelector('[data-phone="' + form.getAttribute("data-reveal") + '"]');
      if (shown) {
        shown.textContent = data.phone;
      }
      form.remove();
    }).catch(function () {
      // Fall back on the page that shows the number (or says why not).
      form.submit();
    });
  });
})();
