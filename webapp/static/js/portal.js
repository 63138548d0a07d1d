// The portal's ID number fields (portal/base.html): the check character (GB 11643-1999), checked as soon as the
// field is left; the server checks again. A file of its own: the CSP allows no inline script.
document.querySelectorAll("input[data-idcheck]").forEach(function (input) {
  input.addEventListener("change", function () {
    var v = input.value.trim().toUpperCase(), out = document.getElementById(input.id + "-error"), w = [7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2], s = 0;
    if (!/^[0-9]{17}[0-9X]$/.test(v)) { out.textContent = v ? input.dataset.shape : ""; input.setAttribute("aria-invalid", v ? "true" : "false"); return; }
    for (var i = 0; i < 17; i++) s += Number(v[i]) * w[i];
    var expected = "10X98765432"[s % 11];
    out.textContent = expected === v[17] ? "" : input.dataset.check.replace("%s", expected);
    input.setAttribute("aria-invalid", expected === v[17] ? "false" : "true");
  });
});
