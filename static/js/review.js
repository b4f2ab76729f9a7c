/* reviewqueue — keyboard for the review queue and the draft page.
 *
 * Loaded once per page with `defer` (a nonce'd <script src>; no inline script, no eval, no hx-on),
 * and it keeps working across htmx swaps because every listener sits on `document`.
 *
 * The pages declare what each key does with data attributes, so this file knows no URLs:
 *   data-key="a"  on a button   → pressing "a" clicks it (approve, claim, skip, …)
 *   data-key="r"  on a field    → pressing "r" focuses it (the reject reason; "f" the feedback)
 *   data-key="e"  on a <summary> → pressing "e" opens the edit panel; its body field takes the focus
 *   [data-queue-row]            → rows of the queue; j/k move the selection, Enter/o opens it
 *   #keyboard-help (<dialog>)   → "?" opens it, Esc closes it
 *   [data-bulk-select] checkboxes → "x" ticks the selected row's, shift-click ticks a range; the ticks
 *                                   survive the table being swapped by polling ([data-bulk-count] counts them)
 * Keys are ignored while typing in a field, and when Ctrl, Alt or Meta is held.
 */
(function () {
  "use strict";

  var SELECTED = "is-selected";
  var selectedDraftId = null; // survives the queue table being swapped by polling

  function isTyping(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    if (tag === "input" && /^(checkbox|radio|button|submit)$/i.test(target.type || "")) return false;
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function isVisible(element) {
    return !!(element.offsetWidth || element.offsetHeight || element.getClientRects().length);
  }

  function keyTarget(key) {
    var candidates = document.querySelectorAll('[data-key="' + key + '"]');
    for (var i = 0; i < candidates.length; i++) {
      var candidate = candidates[i];
      if (!candidate.disabled && (isVisible(candidate) || candidate.hasAttribute("data-key-hidden-ok"))) {
        return candidate;
      }
    }
    return null;
  }

  function activate(element) {
    if (isTyping(element)) {
      var section = element.closest("details");
      if (section) section.open = true;
      element.focus();
      if (element.scrollIntoView) element.scrollIntoView({ block: "center" });
    } else {
      element.click();
    }
  }

  // --- the queue ---------------------------------------------------------------------------------

  function queueRows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-queue-row]"));
  }

  function select(rows, index) {
    rows.forEach(function (row, i) {
      var on = i === index;
      row.classList.toggle(SELECTED, on);
      row.setAttribute("aria-selected", on ? "true" : "false");
    });
    if (rows[index]) {
      selectedDraftId = rows[index].getAttribute("data-draft-id");
      if (rows[index].scrollIntoView) rows[index].scrollIntoView({ block: "nearest" });
    }
  }

  function moveInQueue(step) {
    var rows = queueRows();
    if (!rows.length) return false;
    var current = rows.findIndex(function (row) {
      return row.classList.contains(SELECTED);
    });
    var next = current < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, current + step));
    select(rows, next);
    return true;
  }

  function openSelectedRow() {
    var row = document.querySelector("[data-queue-row]." + SELECTED);
    var link = row && row.querySelector("a[data-draft-link]");
    if (!link) return false;
    link.click();
    return true;
  }

  function restoreSelection() {
    if (selectedDraftId === null) return;
    var rows = queueRows();
    var index = rows.findIndex(function (row) {
      return row.getAttribute("data-draft-id") === selectedDraftId;
    });
    if (index >= 0) select(rows, index);
  }

  // --- bulk selection ----------------------------------------------------------------------------

  var ticked = new Set(); // draft ids ticked for a bulk action, kept across polling swaps
  var rangeAnchor = null; // the draft id last ticked or unticked: shift-click runs from it

  function bulkBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll("input[data-bulk-select]"));
  }

  function showTickedCount() {
    var count = document.querySelector("[data-bulk-count]");
    if (!count) return;
    count.textContent = ticked.size ? ticked.size + " selected" : "None selected (x ticks a row, shift-click a range)";
  }

  function setTicked(box, on) {
    box.checked = on;
    if (on) ticked.add(box.value);
    else ticked.delete(box.value);
  }

  function tickRange(box) {
    var boxes = bulkBoxes();
    var from = boxes.findIndex(function (b) {
      return b.value === rangeAnchor;
    });
    var to = boxes.indexOf(box);
    if (from < 0 || to < 0) return;
    var start = Math.min(from, to);
    var end = Math.max(from, to);
    for (var i = start; i <= end; i++) setTicked(boxes[i], box.checked);
  }

  function onBulkClick(event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-bulk-select]")) return;
    if (event.shiftKey && rangeAnchor !== null) tickRange(box);
    setTicked(box, box.checked);
    rangeAnchor = box.value;
    showTickedCount();
  }

  function onBulkChange(event) {
    var target = event.target;
    if (!target.matches) return;
    if (target.matches("input[data-bulk-select-all]")) {
      bulkBoxes().forEach(function (box) {
        setTicked(box, target.checked);
      });
      showTickedCount();
    }
  }

  function tickSelectedRow() {
    var rows = queueRows();
    var index = rows.findIndex(function (row) {
      return row.classList.contains(SELECTED);
    });
    if (index < 0 && rows.length) {
      index = 0;
      select(rows, 0);
    }
    var box = rows[index] && rows[index].querySelector("input[data-bulk-select]");
    if (!box) return false;
    setTicked(box, !box.checked);
    rangeAnchor = box.value;
    showTickedCount();
    return true;
  }

  function restoreTicks() {
    var present = new Set();
    bulkBoxes().forEach(function (box) {
      present.add(box.value);
      box.checked = ticked.has(box.value);
    });
    ticked.forEach(function (id) {
      if (!present.has(id)) ticked.delete(id); // decided or gone since: no longer offered
    });
    showTickedCount();
  }

  // --- help --------------------------------------------------------------------------------------

  function help() {
    return document.getElementById("keyboard-help");
  }

  function toggleHelp() {
    var dialog = help();
    if (!dialog) return;
    if (dialog.open) {
      dialog.close();
    } else if (dialog.showModal) {
      dialog.showModal();
    } else {
      dialog.setAttribute("open", "");
    }
  }

  // --- dispatch ----------------------------------------------------------------------------------

  function onKeydown(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    var key = event.key;
    if (key === "Escape") {
      var dialog = help();
      if (dialog && dialog.open) {
        dialog.close();
        event.preventDefault();
      } else if (isTyping(event.target)) {
        event.target.blur();
      }
      return;
    }
    if (isTyping(event.target)) return;
    if (key === "?") {
      toggleHelp();
      event.preventDefault();
      return;
    }
    if (help() && help().open) return;

    var onQueue = queueRows().length > 0;
    if (onQueue && (key === "j" || key === "k")) {
      if (moveInQueue(key === "j" ? 1 : -1)) event.preventDefault();
      return;
    }
    if (onQueue && key === "x") {
      if (tickSelectedRow()) event.preventDefault();
      return;
    }
    var onControl = event.target.tagName && /^(button|a|input)$/i.test(event.target.tagName);
    if (onQueue && (key === "o" || (key === "Enter" && !onControl))) {
      if (openSelectedRow()) event.preventDefault();
      return;
    }
    if (key.length !== 1) return;
    var target = keyTarget(key);
    if (target) {
      event.preventDefault();
      activate(target);
    }
  }

  // The "Other reason" option needs the free-text field: make it required only then. (Without
  // JavaScript the server asks for a reason instead.)
  function requireReasonText(select) {
    var other = select.form && select.form.querySelector("[data-reason-other]");
    if (other) other.required = select.value === "";
  }

  function onChange(event) {
    if (event.target.matches && event.target.matches("select[data-reason-preset]")) requireReasonText(event.target);
  }

  function initReasons() {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-reason-preset]"), requireReasonText);
  }

  // "e" opens the edit panel (a <details>): put the cursor in the body, where most edits are.
  function onToggle(event) {
    var panel = event.target;
    if (!panel.matches || !panel.matches("details[data-edit-panel]") || !panel.open) return;
    var body = panel.querySelector("textarea");
    if (body) body.focus();
  }

  document.addEventListener("keydown", onKeydown);
  document.addEventListener("toggle", onToggle, true); // toggle does not bubble: listen while capturing
  document.addEventListener("change", onChange);
  document.addEventListener("htmx:afterSwap", restoreSelection);
  document.addEventListener("htmx:afterSwap", initReasons);
  document.addEventListener("click", onBulkClick);
  document.addEventListener("change", onBulkChange);
  document.addEventListener("htmx:afterSwap", restoreTicks);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initReasons);
  } else {
    initReasons();
  }
})();
