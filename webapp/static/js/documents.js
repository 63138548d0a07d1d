// The documents panel: drop files on the box, and upload through the API (the Idempotency-Key and CSRF token in
// headers) so that a refusal is shown beside the form; then the page reloads to show the new thumbnails.
// Without this script the form posts as it is and the server answers with the page again.
(function () {
  "use strict";

  function key() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return String(Date.now()) + "-" + String(Math.random()).slice(2);
  }

  function setup(form) {
    var input = form.querySelector("input[type=file]");
    var drop = form.querySelector("[data-drop]");
    var chosen = form.querySelector("[data-chosen]");
    var error = form.querySelector("[data-upload-error]");
    var dropped = null;

    function list(files) {
      chosen.textContent = "";
      Array.prototype.forEach.call(files, function (f) {
        var li = document.createElement("li");
        li.textContent = f.name;
        chosen.appendChild(li);
      });
    }

    input.addEventListener("change", function () { dropped = null; list(input.files); });
    ["dragenter", "dragover"].forEach(function (name) {
      drop.addEventListener(name, function (e) { e.preventDefault(); drop.classList.add("doc-over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      drop.addEventListener(name, function () { drop.classList.remove("doc-over"); });
    });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      dropped = e.dataTransfer.files;
      list(dropped);
    });

    var idempotencyKey = key();
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var data = new FormData();
      data.append("doc_type", form.querySelector("select[name=doc_type]").value);
      var supersede = form.querySelector("input[name=supersede]");
      data.append("supersede", supersede.checked ? "true" : "false");
      Array.prototype.forEach.call(dropped || input.files, function (f) { data.append("files", f, f.name); });
      error.hidden = true;
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      fetch(form.dataset.api, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: {
          "x-csrftoken": form.querySelector("input[name=csrftoken]").value,
          "idempotency-key": idempotencyKey,
        },
      }).then(function (r) {
        if (r.ok) {
          window.location.hash = "documents";
          window.location.reload();
          return;
        }
        return r.json().then(function (body) {
          error.textContent = body.message || String(r.status);
          error.hidden = false;
          button.disabled = false;
          idempotencyKey = key();
        });
      }).catch(function () {
        error.textContent = form.dataset.offline || "网络错误，请稍后再试";
        error.hidden = false;
        button.disabled = false;
      });
    });
  }

  document.querySelectorAll("form.doc-upload").forEach(setup);
})();
