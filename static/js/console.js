// Admin Center behaviour. No inline scripts (the Content-Security-Policy forbids them).
(function () {
  "use strict";

  // Language switch: submit on change; the button stays for keyboards without JS.
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
  document.querySelectorAll(".js-hidden").forEach(function (el) { el.hidden = true; });

  // Copy buttons: <button data-copy="#id">.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-copy"));
      if (!target) { return; }
      var text = target.value !== undefined && target.value !== "" ? target.value : target.textContent.trim();
      var done = function () {
        var original = button.textContent;
        button.textContent = button.getAttribute("data-copied") || "Copied";
        setTimeout(function () { button.textContent = original; }, 1500);
      };
      var fallback = function () {
        var area = document.createElement("textarea");
        area.value = text; document.body.appendChild(area); area.select();
        document.execCommand("copy"); area.remove(); done();
      };
      if (navigator.clipboard && window.isSecureContext) {
        // Permission may be refused (e.g. a headless browser): fall back instead of failing silently.
        navigator.clipboard.writeText(text).then(done, fallback);
      } else {
        fallback();
      }
    });
  });

  // Confirmation dialogs: <button data-dialog="#dialog-id"> opens a <dialog>.
  document.querySelectorAll("[data-dialog]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      var dialog = document.querySelector(button.getAttribute("data-dialog"));
      if (dialog && dialog.showModal) { event.preventDefault(); dialog.showModal(); }
    });
  });
  document.querySelectorAll("dialog [data-close]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault(); button.closest("dialog").close();
    });
  });

  // Live regions that poll a fragment URL: <div data-poll="/url" data-poll-seconds="2">.
  document.querySelectorAll("[data-poll]").forEach(function (region) {
    var seconds = parseFloat(region.getAttribute("data-poll-seconds") || "2");
    var tick = function () {
      fetch(region.getAttribute("data-poll"), { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          region.innerHTML = html;
          if (region.querySelector("[data-poll-done]")) {
            if (region.hasAttribute("data-reload-when-done")) { window.location.reload(); }
            return;
          }
          setTimeout(tick, seconds * 1000);
        })
        .catch(function () { setTimeout(tick, seconds * 2000); });
    };
    if (!region.querySelector("[data-poll-done]")) { setTimeout(tick, seconds * 1000); }
  });
})();
