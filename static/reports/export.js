// The export page follows its job: the progress bar, the status, then the download link.
(function () {
  const box = document.getElementById("export");
  if (!box) return;
  const bar = document.getElementById("export-bar");
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((data) => {
        bar.style.width = data.progress + "%";
        bar.textContent = data.progress + "%";
        bar.parentElement.setAttribute("aria-valuenow", data.progress);
        document.getElementById("export-status").textContent = data.status_label;
        document.getElementById("export-error").textContent = data.error;
        if (data.download_url) {
          const link = document.getElementById("export-download");
          link.href = data.download_url;
          link.classList.remove("d-none");
        } else if (data.status !== "failed") {
          setTimeout(poll, 1000);
        }
      })
      .catch(() => setTimeout(poll, 3000));
  }
  poll();
})();
