// The holiday calendar's import form (admin/calendar.html): read the chosen file into the form, which is posted
// as text (see webapp/admin/calendar.py import_file). A file of its own: the CSP allows no inline script.
document.getElementById("notice-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  const form = event.target.form;
  form.elements.filename.value = file ? file.name : "";
  form.elements.content.value = file ? await file.text() : "";
});
