// Behaviour every staff page shares (ui/base.html). The CSP allows no inline script or on*= handler, so pages
// declare behaviour with data attributes and it is wired here.
// data-confirm: a submit button (or link) that asks first; cancelling stops the submission.
document.addEventListener("click", function (event) {
  var el = event.target.closest("[data-confirm]");
  if (el && !window.confirm(el.dataset.confirm)) {
    event.preventDefault();
  }
});
