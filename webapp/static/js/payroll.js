// The bank return form (payroll/payroll.html): read the chosen file into the form as Base64, which is posted
// with the form (see webapp/payroll/pages.py bank_return). A file of its own: the CSP allows no inline script.
document.getElementById("return-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  const form = event.target.form;
  form.elements.file_name.value = file ? file.name : "";
  if (!file) { form.elements.content_base64.value = ""; return; }
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  form.elements.content_base64.value = btoa(binary);
});
