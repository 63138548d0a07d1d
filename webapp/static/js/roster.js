// The roster import form (admin/roster.html): read the chosen file into the form, base64-encoded, which is posted
// as a plain form (see webapp/admin/roster.py). A file of its own: the CSP allows no inline script.
document.getElementById("roster-file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  const form = event.target.form;
  form.elements.filename.value = file ? file.name : "";
  form.elements.content.value = "";
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    form.elements.content.value = String(reader.result).split(",", 2)[1] || "";
  };
  reader.readAsDataURL(file);
});
