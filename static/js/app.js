// Frontoffice: small enhancements on top of HTMX. Every page works without this file.
(function () {
  "use strict";

  // A form that came back with errors: move focus to its summary so that keyboard
  // and screen-reader users land on what to fix.
  function focusErrorSummary(root) {
    var summary = (root || document).querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  }

  // After "Load more", focus the first new timeline entry (the button that had focus is gone).
  function focusLoadedContent() {
    var target = document.querySelector("[data-focus-on-load]");
    if (target) {
      target.removeAttribute("data-focus-on-load");
      target.focus();
    }
  }

  // The global search: arrow keys move between the input and the result links,
  // Escape closes the results, a click elsewhere closes them too.
  function setUpSearch(form) {
    var input = form.querySelector("input[type=search]");
    var results = form.querySelector("#global-search-results");
    if (!input || !results) {
      return;
    }
    function links() {
      return Array.prototype.slice.call(results.querySelectorAll("a"));
    }
    function close() {
      results.innerHTML = "";
    }
    form.addEventListener("keydown", function (event) {
      var items = links();
      var index = items.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && items.length) {
        event.preventDefault();
        items[Math.min(index + 1, items.length - 1)].focus();
      } else if (event.key === "ArrowUp" && index >= 0) {
        event.preventDefault();
        if (index === 0) {
          input.focus();
        } else {
          items[index - 1].focus();
        }
      } else if (event.key === "Escape" && results.innerHTML.trim()) {
        event.preventDefault();
        close();
        input.focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (!form.contains(event.target)) {
        close();
      }
    });
    form.addEventListener("focusout", function (event) {
      if (event.relatedTarget && !form.contains(event.relatedTarget)) {
        close();
      }
    });
  }

  // A secret shown once (a new API token): focusing it selects it, ready to copy.
  function selectOnFocus(field) {
    field.addEventListener("focus", function () {
      field.select();
    });
  }

  // Phones: the navigation and the account links fold behind the "Menu" button (closed
  // on load); wider screens always show them (the button is hidden by the style sheet).
  function setUpMenu(button) {
    var header = button.closest(".site-header");
    function set(open) {
      header.setAttribute("data-menu", open ? "open" : "closed");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    button.hidden = false;
    set(false);
    button.addEventListener("click", function () {
      set(header.getAttribute("data-menu") !== "open");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary(document);
    var menu = document.querySelector("[data-menu-toggle]");
    if (menu) {
      setUpMenu(menu);
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-select-on-focus]"), selectOnFocus);
    var search = document.querySelector("[data-search]");
    if (search) {
      setUpSearch(search);
    }
  });

  document.addEventListener("htmx:afterSettle", focusLoadedContent);

  // The keys a page announces (Alt+K and Alt+L on the agent console): Alt and a letter
  // focus the element with that `accesskey`, whatever modifier the browser itself uses
  // for access keys (and where it uses none, as headless ones).
  document.addEventListener("keydown", function (event) {
    if (!event.altKey || event.ctrlKey || event.metaKey || !/^Key[A-Z]$/.test(event.code)) {
      return;
    }
    var target = document.querySelector('[accesskey="' + event.code.slice(3).toLowerCase() + '"]');
    if (target) {
      event.preventDefault();
      target.focus();
    }
  });
})();
