// Admin Center behaviour. No inline scripts (the Content-Security-Policy forbids them).
(function () {
  "use strict";

  var announcer = document.getElementById("live-announcer");
  function announce(text) {
    if (!announcer) { return; }
    announcer.textContent = "";
    // A fresh text node after a tick, so the same words are announced again.
    setTimeout(function () { announcer.textContent = text; }, 50);
  }

  // Elements that only work with this script are hidden in the HTML and shown here.
  document.querySelectorAll("[data-needs-js]").forEach(function (el) { el.hidden = false; });
  document.querySelectorAll(".js-hidden").forEach(function (el) { el.hidden = true; });

  // Copy buttons: <button data-copy="#id" data-copied="Copied" hidden data-needs-js>Copy host</button>.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-copy"));
      if (!target) { return; }
      var text = target.value !== undefined && target.value !== "" ? target.value : target.textContent.trim();
      var copied = button.getAttribute("data-copied") || "Copied";
      var done = function () {
        var original = button.getAttribute("data-label") || button.textContent;
        button.setAttribute("data-label", original);
        button.textContent = copied;
        announce(copied);
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

  // Confirmation dialogs: <a data-dialog="#dialog-id"> opens a <dialog>; without the script
  // the link leads to a confirmation page instead.
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

  // Import selection: every tick is saved as it changes; counts and labels follow at once.
  // Labels carry their singular and plural forms with __N__ for the number.
  var selection = document.querySelector("[data-selection-url]");
  if (selection) {
    var count = parseInt(selection.getAttribute("data-selected") || "0", 10);
    var csrf = selection.querySelector("[name=csrfmiddlewaretoken]");
    var render = function () {
      document.querySelectorAll("[data-count-one]").forEach(function (el) {
        var template = el.getAttribute(count === 1 ? "data-count-one" : "data-count-many");
        el.textContent = template.replace("__N__", String(count));
      });
      document.querySelectorAll("[data-when-selected]").forEach(function (el) { el.hidden = count === 0; });
      document.querySelectorAll("[data-when-none-selected]").forEach(function (el) { el.hidden = count !== 0; });
    };
    var failed = selection.getAttribute("data-save-failed") || "";
    selection.querySelectorAll("input[type=checkbox][name=row]").forEach(function (box) {
      box.addEventListener("change", function () {
        count = Math.max(0, count + (box.checked ? 1 : -1));
        render();
        var body = new FormData();
        body.append("csrfmiddlewaretoken", csrf ? csrf.value : "");
        body.append("page_rows", box.value);
        if (box.checked) { body.append("row", box.value); }
        fetch(selection.getAttribute("data-selection-url"), {
          method: "POST", body: body, credentials: "same-origin", headers: { "X-Requested-With": "fetch" }
        }).then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
          .then(function (data) { count = data.selected; render(); })
          .catch(function () { announce(failed); });
      });
    });
    // Starting with the selection sends this page's ticks too: none is lost if a save failed.
    document.querySelectorAll("form[data-send-ticks]").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("input[data-tick-copy]").forEach(function (el) { el.remove(); });
        selection.querySelectorAll("input[type=checkbox][name=row]").forEach(function (box) {
          var page = document.createElement("input");
          page.type = "hidden"; page.name = "page_rows"; page.value = box.value; page.setAttribute("data-tick-copy", "");
          form.appendChild(page);
          if (box.checked) {
            var row = document.createElement("input");
            row.type = "hidden"; row.name = "row"; row.value = box.value; row.setAttribute("data-tick-copy", "");
            form.appendChild(row);
          }
        });
      });
    });
    render();
  }

  // Live regions that poll a fragment URL: <div data-poll="/url" data-poll-seconds="2"
  // data-poll-note="#id">. A redirect means the session ended: the page itself is reloaded, so
  // the browser lands on the sign-in page (and comes back here after it). Any other failure
  // (a 502 during a deploy, the network gone) shows the "reconnecting" note and tries again,
  // waiting twice as long each time up to a minute.
  document.querySelectorAll("[data-poll]").forEach(function (region) {
    var seconds = parseFloat(region.getAttribute("data-poll-seconds") || "2");
    var note = document.querySelector(region.getAttribute("data-poll-note") || "[data-poll-note-missing]");
    var failures = 0;
    var reconnecting = function (on) {
      if (!note || note.hidden === !on) { return; }
      note.hidden = !on;
      if (on) { announce(note.textContent.trim()); }
    };
    var tick = function () {
      fetch(region.getAttribute("data-poll"), {
        headers: { "X-Requested-With": "fetch" }, credentials: "same-origin", cache: "no-store"
      })
        .then(function (r) {
          if (r.redirected || r.status === 401 || r.status === 403) {
            window.location.reload();
            return null;
          }
          if (!r.ok) { throw new Error("HTTP " + r.status); }
          return r.text();
        })
        .then(function (html) {
          if (html === null) { return; }
          failures = 0;
          reconnecting(false);
          region.innerHTML = html;
          if (region.querySelector("[data-poll-done]")) {
            if (region.hasAttribute("data-reload-when-done")) { window.location.reload(); }
            return;
          }
          setTimeout(tick, seconds * 1000);
        })
        .catch(function () {
          failures += 1;
          reconnecting(true);
          setTimeout(tick, Math.min(60, seconds * Math.pow(2, failures)) * 1000);
        });
    };
    if (!region.querySelector("[data-poll-done]")) { setTimeout(tick, seconds * 1000); }
  });
})();
