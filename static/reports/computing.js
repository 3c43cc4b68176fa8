// The page of results being computed follows the task: the progress bar and its status,
// then the page itself once the figures are ready; a failure shows its reason and a retry.
(function () {
  const box = document.getElementById("computing");
  if (!box) return;
  const bar = document.getElementById("computing-bar");
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((data) => {
        bar.style.width = data.progress + "%";
        bar.textContent = data.progress + "%";
        bar.parentElement.setAttribute("aria-valuenow", data.progress);
        document.getElementById("computing-status").textContent = data.status_label;
        document.getElementById("computing-error").textContent = data.error;
        if (data.ready) {
          window.location.reload();
        } else if (data.status === "failed") {
          document.getElementById("computing-again").classList.remove("d-none");
        } else {
          setTimeout(poll, 1000);
        }
      })
      .catch(() => setTimeout(poll, 3000));
  }
  poll();
})();
