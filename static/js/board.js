// The pipeline board: drag and drop on top of each card's "Move to" form, which stays
// the keyboard and no-JavaScript way. A drop posts the same form values through HTMX.
(function () {
  "use strict";

  function setUp() {
    var board = document.querySelector("[data-board]");
    if (!board || !window.htmx) {
      return;
    }
    board.querySelectorAll("[data-card][draggable=true]").forEach(function (card) {
      card.addEventListener("dragstart", function (event) {
        event.dataTransfer.setData("text/plain", card.id);
        event.dataTransfer.effectAllowed = "move";
        card.classList.add("is-dragging");
      });
      card.addEventListener("dragend", function () {
        card.classList.remove("is-dragging");
      });
    });
    board.querySelectorAll("[data-stage-id]").forEach(function (column) {
      if (column.getAttribute("data-stage-kind") === "lost") {
        return; // losing needs a reason: done on the opportunity page
      }
      column.addEventListener("dragover", function (event) {
        event.preventDefault();
        column.classList.add("is-drop-target");
      });
      column.addEventListener("dragleave", function () {
        column.classList.remove("is-drop-target");
      });
      column.addEventListener("drop", function (event) {
        event.preventDefault();
        column.classList.remove("is-drop-target");
        var card = document.getElementById(event.dataTransfer.getData("text/plain"));
        var form = card && card.querySelector("form");
        if (!form) {
          return;
        }
        form.querySelector("select[name=stage]").value = column.getAttribute("data-stage-id");
        window.htmx.trigger(form, "submit");
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUp();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    setUp();
    var status = document.getElementById("board-status");
    if (event.detail.target && event.detail.target.id === "board" && status && status.textContent.trim()) {
      status.setAttribute("tabindex", "-1");
      status.focus();
    }
  });
})();
