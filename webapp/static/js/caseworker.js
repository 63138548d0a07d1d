// Caseworker forms: add/remove rows, keep the income "member" choices in step with the member rows,
// check ID numbers with the server's own validator while they are typed, and show only the half of
// the decision form that applies. Everything also works without this script (the server re-checks).
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrftoken]");
    return input ? input.value : "";
  }

  function nextIndex(tbody) {
    var max = -1;
    tbody.querySelectorAll("tr[data-row]").forEach(function (tr) {
      max = Math.max(max, parseInt(tr.dataset.row, 10));
    });
    return max + 1;
  }

  function memberChoices(form) {
    return Array.prototype.map.call(form.querySelectorAll("table[data-section=members] tr[data-row]"), function (tr, n) {
      var name = tr.querySelector(".member-name").value.trim();
      return { value: tr.dataset.row, label: name || form.dataset.memberLabel.replace("%(n)s", n + 1) };
    });
  }

  function refreshMemberSelects(form) {
    var choices = memberChoices(form);
    form.querySelectorAll("select.member-select").forEach(function (select) {
      var keep = select.value;
      while (select.options.length > 1) select.remove(1);
      choices.forEach(function (c) {
        select.add(new Option(c.label, c.value, false, c.value === keep));
      });
    });
  }

  function showIdResult(input, ok, message) {
    var error = input.parentElement.querySelector(".field-error");
    input.classList.toggle("invalid", !ok);
    input.classList.toggle("valid", ok);
    if (ok) input.removeAttribute("aria-invalid");
    else input.setAttribute("aria-invalid", "true");
    if (error) error.textContent = message;
  }

  function checkId(form, input, final) {
    var value = input.value.trim();
    if (!value) {
      showIdResult(input, true, "");
      input.classList.remove("valid");
      return;
    }
    if (value.length < 18 && !final) return; // still typing: judge once the number is complete
    var body = new URLSearchParams({ id_number: value });
    fetch(form.dataset.checkUrl, {
      method: "POST",
      headers: { "x-csrftoken": csrfToken(form) },
      body: body,
      credentials: "same-origin",
    })
      .then(function (r) { return r.json(); })
      .then(function (result) {
        if (input.value.trim() !== value) return; // typed on meanwhile
        showIdResult(input, result.ok, result.message);
        if (result.ok && final) input.value = result.value;
      })
      .catch(function () { /* the server checks again on submit */ });
  }

  function setUpIntake(form) {
    var timers = new WeakMap();
    form.addEventListener("click", function (event) {
      var add = event.target.closest("button.add-row");
      if (add) {
        var section = add.dataset.section;
        var tbody = form.querySelector("table[data-section=" + section + "] tbody");
        var template = form.querySelector("template[data-row-template=" + section + "]");
        var html = template.innerHTML.replace(/__i__/g, String(nextIndex(tbody)));
        tbody.insertAdjacentHTML("beforeend", html);
        if (section === "members" || section === "incomes") refreshMemberSelects(form);
        var first = tbody.lastElementChild.querySelector("input, select");
        if (first) first.focus();
        return;
      }
      var remove = event.target.closest("button.remove-row");
      if (remove) {
        remove.closest("tr").remove();
        refreshMemberSelects(form);
      }
    });
    form.addEventListener("input", function (event) {
      var input = event.target;
      if (input.classList.contains("member-name")) refreshMemberSelects(form);
      if (input.classList.contains("id-number")) {
        clearTimeout(timers.get(input));
        timers.set(input, setTimeout(function () { checkId(form, input, false); }, 250));
      }
    });
    form.addEventListener("change", function (event) {
      if (event.target.classList.contains("id-number")) checkId(form, event.target, true);
    });
  }

  function setUpDecision(form) {
    function sync() {
      var choice = form.querySelector("input[name=approve]:checked");
      var approve = !choice || choice.value === "yes";
      form.querySelectorAll("[data-when]").forEach(function (part) {
        part.hidden = (part.dataset.when === "approve") !== approve;
      });
    }
    form.addEventListener("change", sync);
    sync();
  }

  document.querySelectorAll("form.intake").forEach(setUpIntake);
  document.querySelectorAll("form[data-action=decision]").forEach(setUpDecision);
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
