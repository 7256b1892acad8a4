// The pipeline board: drag and drop on top of each card's "Move to" form, which stays
// the keyboard and no-JavaScript way. A drop sets the form's stage and submits it through
// HTMX: the same server action, the CSRF token and the card's version go with it, so a
// card someone else changed meanwhile is refused (409) and the board shows the latest.
// Listeners sit on the document, so a board swapped in by HTMX needs no new wiring.
(function () {
  "use strict";

  var dragged = null;

  function columnOf(node) {
    var column = node && node.closest ? node.closest("[data-board] [data-stage-id]") : null;
    // Losing needs a reason: done on the opportunity page, not by a drop.
    return column && column.getAttribute("data-stage-kind") !== "lost" ? column : null;
  }

  function clearTargets() {
    document.querySelectorAll("[data-board] .is-drop-target").forEach(function (column) {
      column.classList.remove("is-drop-target");
    });
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest("[data-board] [data-card][draggable=true]") : null;
    if (!card || !window.htmx) {
      return;
    }
    dragged = card;
    event.dataTransfer.setData("text/plain", card.id);
    event.dataTransfer.effectAllowed = "move";
    card.classList.add("is-dragging");
  });

  document.addEventListener("dragend", function () {
    if (dragged) {
      dragged.classList.remove("is-dragging");
    }
    dragged = null;
    clearTargets();
  });

  document.addEventListener("dragover", function (event) {
    var column = dragged && columnOf(event.target);
    if (!column) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("is-drop-target")) {
      clearTargets();
      column.classList.add("is-drop-target");
    }
  });

  document.addEventListener("dragleave", function (event) {
    var column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) {
      column.classList.remove("is-drop-target");
    }
  });

  document.addEventListener("drop", function (event) {
    var column = dragged && columnOf(event.target);
    if (!column) {
      return;
    }
    event.preventDefault();
    clearTargets();
    var card = dragged;
    var form = card.querySelector("form");
    var select = form && form.querySelector("select[name=stage]");
    var stage = column.getAttribute("data-stage-id");
    if (!select || card.closest("[data-stage-id]") === column) {
      return; // dropped where it already is
    }
    select.value = stage;
    window.htmx.trigger(form, "submit");
  });

  // A refused move (409: stale version, or a rule) still answers with the board and its
  // message; HTMX leaves error answers unswapped unless told.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "board" && event.detail.xhr.status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // After a move (dropped or by keyboard) focus the board's message so it is read out.
  document.addEventListener("htmx:afterSwap", function (event) {
    var status = document.getElementById("board-status");
    if (event.detail.target && event.detail.target.id === "board" && status && status.textContent.trim()) {
      status.setAttribute("tabindex", "-1");
      status.focus();
    }
  });
})();
