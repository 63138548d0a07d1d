// The discovery list upload form (discovery/upload.html): read the chosen file into the form as base64, which is
// posted as a plain form (see webapp/discovery/pages.py upload). A file of its own: the CSP allows no inline script.
document.getElementById("discovery-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  const form = event.target.form;
  form.elements.filename.value = file ? file.name : "";
  if (!file) {
    form.elements.content_base64.value = "";
    return;
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  form.elements.content_base64.value = btoa(binary);
});
