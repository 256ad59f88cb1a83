// Rollcall's small behaviours: copy buttons, recovery-code download, dialogs, "I have pasted it".
// No inline handlers: everything is wired from data- attributes, so the CSP needs no 'unsafe-inline'.
(function () {
  "use strict";

  function announce(text) {
    var region = document.getElementById("live-announcer");
    if (region) {
      region.textContent = "";
      window.setTimeout(function () { region.textContent = text; }, 30);
    }
  }

  function fallbackCopy(field) {
    field.focus();
    field.select();
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  function copy(button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target) { return; }
    var text = "value" in target ? target.value : target.textContent;
    var done = function () {
      var label = button.getAttribute("data-label") || button.textContent;
      button.setAttribute("data-label", label);
      button.textContent = "Copied";
      button.setAttribute("data-copied", "true");
      announce("Copied to the clipboard");
      window.setTimeout(function () {
        button.textContent = label;
        button.removeAttribute("data-copied");
      }, 1800);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { if (fallbackCopy(target)) { done(); } });
    } else if (fallbackCopy(target)) {
      done();
    }
  }

  function download(button) {
    var source = document.getElementById(button.getAttribute("data-download-source"));
    if (!source) { return; }
    var lines = Array.prototype.map.call(source.querySelectorAll("[data-code]"), function (el) {
      return el.getAttribute("data-code");
    });
    var header = button.getAttribute("data-download-header") || "";
    var blob = new Blob([header + lines.join("\n") + "\n"], { type: "text/plain" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = button.getAttribute("data-download-name") || "recovery-codes.txt";
    document.body.appendChild(link);
    link.click();
    window.setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }

  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-copy-target], [data-download-source], [data-dialog-open], [data-dialog-close]");
    if (!el) { return; }
    if (el.hasAttribute("data-copy-target")) { copy(el); }
    if (el.hasAttribute("data-download-source")) { download(el); }
    if (el.hasAttribute("data-dialog-open")) {
      var dialog = document.getElementById(el.getAttribute("data-dialog-open"));
      if (dialog && dialog.showModal) { event.preventDefault(); dialog.showModal(); }
    }
    if (el.hasAttribute("data-dialog-close")) {
      var open = el.closest("dialog");
      if (open) { event.preventDefault(); open.close(); }
    }
  });

  // A submit button that waits for a checkbox ("I have pasted it into ..."); the server checks too.
  function syncRequires(root) {
    (root || document).querySelectorAll("[data-requires]").forEach(function (button) {
      var box = document.getElementById(button.getAttribute("data-requires"));
      if (!box) { return; }
      var update = function () { button.disabled = !box.checked; };
      box.addEventListener("change", update);
      update();
    });
  }
  document.addEventListener("DOMContentLoaded", function () { syncRequires(document); });
  document.addEventListener("htmx:afterSwap", function (event) { syncRequires(event.target); });
})();
