// The segment builder: the rules as rows (field / operator / value) inside groups
// (all / any / not) that nest. It writes the rules, as JSON, into the form's rules box on
// every change (the box's own HTMX trigger then refreshes the live count and sample), and
// redraws itself when the box is edited by hand ("Advanced"). The server's faults, which
// name a rule by its path (rules.all.0.op), are shown next to that rule.
// Without JavaScript the builder stays hidden and the JSON box is the editor.
(function () {
  "use strict";

  var OPS = {
    eq: "is",
    ne: "is not",
    contains: "contains",
    starts_with: "starts with",
    ends_with: "ends with",
    is_set: "is set",
    is_not_set: "is not set",
    gt: "is more than",
    gte: "is at least",
    lt: "is less than",
    lte: "is at most",
    in: "is one of",
    not_in: "is none of",
    before: "is before",
    after: "is after",
    within_days: "in the last … days",
    older_than_days: "not in the last … days",
    has: "has",
    has_not: "has not",
    has_any: "has any of",
    has_all: "has all of",
  };
  var GROUPS = { all: "All of these (AND)", any: "Any of these (OR)", not: "Not these (NOT)" };
  var VALUELESS = { is_set: true, is_not_set: true };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) {
        return;
      }
      if (key === "text") {
        node.textContent = value;
      } else if (key === "className") {
        node.className = value;
      } else {
        node.setAttribute(key, value === true ? "" : value);
      }
    });
    (children || []).forEach(function (child) {
      if (child) {
        node.appendChild(child);
      }
    });
    return node;
  }

  function Builder(root, input, options) {
    this.root = root;
    this.input = input;
    this.fields = {};
    this.fieldOrder = [];
    this.options = options;
    this.uid = 0;
    this.tree = null;
    this.syncing = false;
    this.wrapped = false;
    var self = this;
    options.fields.forEach(function (field) {
      self.fields[field.field] = field;
      self.fieldOrder.push(field);
    });
  }

  // --- the model: groups {type, children} and rules {field, op, value} ---------------

  Builder.prototype.group = function (type, children) {
    return { kind: "group", id: "rb" + ++this.uid, type: type, children: children || [] };
  };

  Builder.prototype.rule = function (field, op, value) {
    return { kind: "rule", id: "rb" + ++this.uid, field: field, op: op, value: value };
  };

  Builder.prototype.newRule = function () {
    var field = this.fieldOrder[0];
    return this.rule(field.field, field.ops[0], this.defaultValue(field, field.ops[0]));
  };

  // The builder's tree for some rules, or null when it cannot show them (the JSON box can).
  Builder.prototype.parse = function (json) {
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      return null;
    }
    if (Object.keys(json).length === 0) {
      return this.group("all", []);
    }
    var node = this.parseNode(json);
    if (node && node.kind === "rule") {
      this.wrapped = true; // until the builder writes it as {"all": [rule]}
      return this.group("all", [node]);
    }
    return node;
  };

  Builder.prototype.parseNode = function (json) {
    var self = this;
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      return null;
    }
    var keys = Object.keys(json);
    if (keys.length === 1 && (keys[0] === "all" || keys[0] === "any")) {
      if (!Array.isArray(json[keys[0]])) {
        return null;
      }
      var children = json[keys[0]].map(function (child) {
        return self.parseNode(child);
      });
      return children.indexOf(null) >= 0 ? null : this.group(keys[0], children);
    }
    if (keys.length === 1 && keys[0] === "not") {
      var inner = this.parseNode(json.not);
      if (!inner) {
        return null;
      }
      return this.group("not", inner.kind === "group" && inner.type === "all" ? inner.children : [inner]);
    }
    var known = keys.every(function (key) {
      return key === "field" || key === "op" || key === "value";
    });
    var field = this.fields[json.field];
    if (!known || !field || field.ops.indexOf(json.op) < 0) {
      return null;
    }
    return this.rule(json.field, json.op, json.value);
  };

  // The rules as JSON; gives every node its path (what the server's faults name).
  Builder.prototype.serialize = function (node, path) {
    var self = this;
    node.path = path;
    if (node.kind === "rule") {
      var out = { field: node.field, op: node.op };
      if (!VALUELESS[node.op]) {
        out.value = node.value === undefined ? "" : node.value;
      }
      return out;
    }
    if (node.type === "not") {
      if (node.children.length === 1) {
        return { not: this.serialize(node.children[0], path + ".not") };
      }
      return {
        not: {
          all: node.children.map(function (child, i) {
            return self.serialize(child, path + ".not.all." + i);
          }),
        },
      };
    }
    if (path === "rules" && node.children.length === 0) {
      return {}; // no rule: everyone
    }
    var list = node.children.map(function (child, i) {
      return self.serialize(child, path + "." + node.type + "." + i);
    });
    var group = {};
    group[node.type] = list;
    return group;
  };

  // --- values fit the field's type and the operator -----------------------------------

  // What input a (field, operator) takes: text, number, date, days, select, checks,
  // tag, tags, campaign, product or none.
  Builder.prototype.valueKind = function (field, op) {
    if (VALUELESS[op]) {
      return "none";
    }
    switch (field.type) {
      case "number":
        return "number";
      case "id":
        return "whole";
      case "days":
        return "days";
      case "date":
        return op === "within_days" || op === "older_than_days" ? "days" : "date";
      case "attr_date":
        return "date";
      case "choice":
        return op === "in" || op === "not_in" ? "checks" : "select";
      case "consent":
        return "select";
      case "boolean":
        return "boolean";
      case "tag":
        return op === "has_any" || op === "has_all" ? "tags" : "tag";
      case "campaign":
        return "campaign";
      case "product_days":
        return "product";
      default:
        return "text";
    }
  };

  Builder.prototype.defaultValue = function (field, op) {
    switch (this.valueKind(field, op)) {
      case "select":
        return field.choices[0];
      case "checks":
        return [];
      case "tags":
        return [];
      case "boolean":
        return true;
      case "campaign":
        return this.options.campaigns.length ? this.options.campaigns[0][0] : "";
      case "product":
        return { sku: "", days: 90 };
      case "days":
        return 30;
      case "none":
        return undefined;
      default:
        return "";
    }
  };

  // The value kept when the operator changes (a scalar becomes a one-item list...).
  Builder.prototype.carryValue = function (field, oldOp, newOp, value) {
    var before = this.valueKind(field, oldOp);
    var after = this.valueKind(field, newOp);
    if (before === after) {
      return value;
    }
    if (before === "select" && after === "checks") {
      return value ? [value] : [];
    }
    if (before === "checks" && after === "select" && Array.isArray(value) && value.length) {
      return value[0];
    }
    if (before === "tag" && after === "tags") {
      return value ? [value] : [];
    }
    if (before === "tags" && after === "tag" && Array.isArray(value)) {
      return value[0] || "";
    }
    return this.defaultValue(field, newOp);
  };

  function asNumber(text, whole) {
    var trimmed = String(text).trim();
    if (whole ? /^-?\d+$/.test(trimmed) : trimmed !== "" && isFinite(Number(trimmed))) {
      return Number(trimmed);
    }
    return trimmed; // the server says what is wrong with it
  }

  function asList(text) {
    return String(text)
      .split(",")
      .map(function (item) {
        return item.trim();
      })
      .filter(function (item) {
        return item !== "";
      });
  }

  // --- drawing ---------------------------------------------------------------------------

  Builder.prototype.labelled = function (id, label, control, extraClass) {
    return el("div", { className: "rule__part" + (extraClass ? " " + extraClass : "") }, [
      el("label", { for: id, className: "rule__label", text: label }),
      control,
    ]);
  };

  Builder.prototype.select = function (id, options, selected, onChange) {
    var select = el("select", { id: id });
    options.forEach(function (option) {
      var value = String(option[0]);
      var opt = el("option", { value: value, text: option[1] });
      if (value === String(selected)) {
        opt.selected = true;
      }
      select.appendChild(opt);
    });
    select.addEventListener("change", function () {
      onChange(select.value);
    });
    return select;
  };

  Builder.prototype.fieldSelect = function (node) {
    var self = this;
    var select = el("select", { id: node.id + "-field" });
    var groups = {};
    var order = [];
    this.fieldOrder.forEach(function (field) {
      var name = field.field;
      var group = /^consent\./.test(name)
        ? "Consent"
        : /^fact\./.test(name)
          ? "Facts from other apps"
          : /^attr\./.test(name)
            ? "Custom attributes"
            : "Profile and behaviour";
      if (!groups[group]) {
        groups[group] = el("optgroup", { label: group });
        order.push(group);
      }
      var option = el("option", { value: name, text: field.label });
      if (name === node.field) {
        option.selected = true;
      }
      groups[group].appendChild(option);
    });
    order.forEach(function (group) {
      select.appendChild(groups[group]);
    });
    select.addEventListener("change", function () {
      var field = self.fields[select.value];
      node.field = field.field;
      node.op = field.ops[0];
      node.value = self.defaultValue(field, node.op);
      self.changed(true);
    });
    return select;
  };

  Builder.prototype.valueInput = function (node, field) {
    var self = this;
    var id = node.id + "-value";
    var kind = this.valueKind(field, node.op);
    function set(value) {
      node.value = value;
      self.changed(false);
    }
    function textInput(type, value, parse, attrs) {
      var input = el("input", Object.assign({ id: id, type: type }, attrs || {}));
      input.value = value === undefined || value === null ? "" : String(value);
      input.addEventListener("input", function () {
        set(parse(input.value));
      });
      return self.labelled(id, "Value", input, "rule__part--value");
    }
    switch (kind) {
      case "none":
        return null;
      case "number":
        return textInput("number", node.value, asNumber, { step: "any", inputmode: "decimal" });
      case "whole":
        return textInput("number", node.value, function (t) {
          return asNumber(t, true);
        }, { step: "1", min: "1" });
      case "days":
        return textInput("number", node.value, function (t) {
          return asNumber(t, true);
        }, { step: "1", min: "0", "aria-describedby": id + "-unit" });
      case "date":
        return textInput("date", node.value, function (t) {
          return t;
        });
      case "tag":
        return textInput("text", node.value, function (t) {
          return t.trim();
        }, { list: "rb-tags", autocomplete: "off" });
      case "tags":
        return textInput("text", Array.isArray(node.value) ? node.value.join(", ") : node.value, asList, {
          list: "rb-tags",
          autocomplete: "off",
          placeholder: "vip, partner",
          "aria-describedby": id + "-hint",
        });
      case "select":
        return this.labelled(
          id,
          "Value",
          this.select(id, field.choices.map(function (c) {
            return [c, c.replace(/_/g, " ")];
          }), node.value, set),
          "rule__part--value"
        );
      case "boolean":
        return this.labelled(
          id,
          "Value",
          this.select(id, [["true", "yes"], ["false", "no"]], node.value === false ? "false" : "true", function (v) {
            set(v === "true");
          }),
          "rule__part--value"
        );
      case "campaign":
        var campaigns = this.options.campaigns.map(function (c) {
          return [c[0], c[1] + " (#" + c[0] + ")"];
        });
        var known = campaigns.some(function (c) {
          return String(c[0]) === String(node.value);
        });
        if (!known && node.value !== "" && node.value !== undefined) {
          campaigns.unshift([node.value, "Campaign #" + node.value]);
        }
        if (!campaigns.length) {
          campaigns.push(["", "(no campaign yet)"]);
        }
        return this.labelled(
          id,
          "Campaign",
          this.select(id, campaigns, node.value, function (v) {
            set(asNumber(v, true));
          }),
          "rule__part--value"
        );
      case "checks":
        var chosen = Array.isArray(node.value) ? node.value : [];
        var boxes = field.choices.map(function (choice, i) {
          var boxId = id + "-" + i;
          var box = el("input", { type: "checkbox", id: boxId, value: choice });
          box.checked = chosen.indexOf(choice) >= 0;
          box.addEventListener("change", function () {
            var values = [];
            field.choices.forEach(function (c, j) {
              if (document.getElementById(id + "-" + j).checked) {
                values.push(c);
              }
            });
            set(values);
          });
          return el("span", { className: "rule__check" }, [
            box,
            el("label", { for: boxId, text: choice.replace(/_/g, " ") }),
          ]);
        });
        return el("fieldset", { className: "rule__part rule__part--value rule__checks", id: id }, [
          el("legend", { className: "rule__label", text: "Values" }),
        ].concat(boxes));
      case "product":
        var value = node.value && typeof node.value === "object" ? node.value : { sku: "", days: 90 };
        node.value = value;
        var sku = el("input", { id: id, type: "text", list: "rb-products", autocomplete: "off" });
        sku.value = value.sku || "";
        sku.addEventListener("input", function () {
          set({ sku: sku.value.trim(), days: node.value.days });
        });
        var days = el("input", { id: id + "-days", type: "number", step: "1", min: "0" });
        days.value = value.days === undefined ? "" : String(value.days);
        days.addEventListener("input", function () {
          set({ sku: node.value.sku, days: asNumber(days.value, true) });
        });
        return el("div", { className: "rule__part rule__part--value rule__product" }, [
          this.labelled(id, "Product (SKU)", sku),
          this.labelled(id + "-days", "In the last (days)", days),
        ]);
      default:
        return textInput("text", node.value, function (t) {
          return t;
        });
    }
  };

  Builder.prototype.drawRule = function (node, parent, position) {
    var self = this;
    var field = this.fields[node.field];
    var opSelect = this.select(
      node.id + "-op",
      field.ops.map(function (op) {
        return [op, OPS[op] || op];
      }),
      node.op,
      function (op) {
        node.value = self.carryValue(field, node.op, op, node.value);
        node.op = op;
        self.changed(true);
      }
    );
    var remove = el("button", {
      type: "button",
      className: "button button--quiet button--small",
      id: node.id + "-remove",
      text: "Remove rule",
      "aria-label": "Remove rule " + position,
    });
    remove.addEventListener("click", function () {
      parent.children.splice(parent.children.indexOf(node), 1);
      self.focusAfter = parent.id + "-add-rule";
      self.changed(true);
    });
    var kind = this.valueKind(field, node.op);
    var hints = [];
    if (kind === "days") {
      hints.push(el("span", { className: "rule__hint", id: node.id + "-value-unit", text: "days" }));
    }
    if (kind === "tags") {
      hints.push(el("span", { className: "rule__hint", id: node.id + "-value-hint", text: "separate tags with commas" }));
    }
    if (field.help && kind !== "product") {
      hints.push(el("span", { className: "rule__hint", text: field.help }));
    }
    return el("li", { className: "rule", id: node.id, "data-rule-path": node.path }, [
      el("fieldset", { className: "rule__fieldset" }, [
        el("legend", { className: "visually-hidden", text: "Rule " + position }),
        el("div", { className: "rule__parts" }, [
          this.labelled(node.id + "-field", "Field", this.fieldSelect(node), "rule__part--field"),
          this.labelled(node.id + "-op", "Operator", opSelect, "rule__part--op"),
          this.valueInput(node, field),
          remove,
        ]),
        hints.length ? el("p", { className: "rule__hints" }, hints) : null,
        el("ul", { className: "rule__errors errorlist", id: node.id + "-errors", hidden: true }),
      ]),
    ]);
  };

  Builder.prototype.drawGroup = function (node, parent, position) {
    var self = this;
    var label = parent ? "Group " + position : "Rules";
    var type = this.select(
      node.id + "-type",
      Object.keys(GROUPS).map(function (key) {
        return [key, GROUPS[key]];
      }),
      node.type,
      function (value) {
        node.type = value;
        self.changed(true);
      }
    );
    var list = el("ol", { className: "rule-group__list" });
    node.children.forEach(function (child, i) {
      var where = position ? position + "." + (i + 1) : String(i + 1);
      list.appendChild(
        child.kind === "group" ? self.drawGroup(child, node, where) : self.drawRule(child, node, where)
      );
    });
    var addRule = el("button", {
      type: "button",
      className: "button button--quiet button--small",
      id: node.id + "-add-rule",
      text: "Add rule",
      "aria-label": parent ? "Add rule to group " + position : "Add rule",
    });
    addRule.addEventListener("click", function () {
      var rule = self.newRule();
      node.children.push(rule);
      self.focusAfter = rule.id + "-field";
      self.changed(true);
    });
    var addGroup = el("button", {
      type: "button",
      className: "button button--quiet button--small",
      id: node.id + "-add-group",
      text: "Add group",
      "aria-label": parent ? "Add group to group " + position : "Add group",
    });
    addGroup.addEventListener("click", function () {
      var group = self.group("any", [self.newRule()]);
      node.children.push(group);
      self.focusAfter = group.id + "-type";
      self.changed(true);
    });
    var actions = [addRule, addGroup];
    if (parent) {
      var remove = el("button", {
        type: "button",
        className: "button button--quiet button--small",
        id: node.id + "-remove",
        text: "Remove group",
        "aria-label": "Remove group " + position,
      });
      remove.addEventListener("click", function () {
        parent.children.splice(parent.children.indexOf(node), 1);
        self.focusAfter = parent.id + "-add-rule";
        self.changed(true);
      });
      actions.push(remove);
    }
    var note =
      node.type === "not" && node.children.length > 1
        ? el("p", { className: "rule__hints", text: "Customers who do not match all of these at once." })
        : null;
    var empty = node.children.length
      ? null
      : el("p", {
          className: "rule-group__empty muted",
          text: parent ? "No rule in this group yet." : "No rule yet: the segment is every customer.",
        });
    var wrapper = parent ? "li" : "div";
    return el(wrapper, { className: "rule-group", id: node.id, "data-rule-path": node.path }, [
      el("fieldset", { className: "rule-group__fieldset" }, [
        el("legend", { className: "rule-group__legend", text: label }),
        this.labelled(node.id + "-type", parent ? "Match" : "Customers who match", type, "rule-group__type"),
        note,
        el("ul", { className: "rule__errors errorlist", id: node.id + "-errors", hidden: true }),
        empty,
        list,
        el("div", { className: "rule-group__actions" }, actions),
      ]),
    ]);
  };

  Builder.prototype.datalists = function () {
    var tags = el("datalist", { id: "rb-tags" });
    this.options.tags.forEach(function (tag) {
      tags.appendChild(el("option", { value: tag }));
    });
    var products = el("datalist", { id: "rb-products" });
    this.options.products.forEach(function (product) {
      products.appendChild(el("option", { value: product[0], text: product[1] }));
    });
    return [tags, products];
  };

  Builder.prototype.render = function () {
    var focused = document.activeElement && this.root.contains(document.activeElement) ? document.activeElement.id : null;
    this.root.textContent = "";
    if (!this.tree) {
      this.root.appendChild(
        el("p", {
          className: "message message--warning rule-builder__notice",
          id: "rule-builder-notice",
          role: "status",
          text: "These rules cannot be shown in the builder yet: edit them as JSON below (Advanced).",
        })
      );
      return;
    }
    this.serialize(this.tree, "rules"); // the paths
    this.root.appendChild(this.drawGroup(this.tree, null, ""));
    this.datalists().forEach(function (list) {
      this.root.appendChild(list);
    }, this);
    var target = document.getElementById(this.focusAfter || focused || "");
    this.focusAfter = null;
    if (target) {
      target.focus();
    }
    this.showErrors();
  };

  // --- keeping the JSON box, the builder and the preview in step ---------------------------

  Builder.prototype.changed = function (redraw) {
    this.wrapped = false;
    var json = this.serialize(this.tree, "rules");
    if (redraw) {
      this.render();
    }
    this.syncing = true;
    this.input.value = JSON.stringify(json, null, 2);
    this.input.dispatchEvent(new Event("input", { bubbles: true })); // the live count's trigger
    this.syncing = false;
  };

  Builder.prototype.readInput = function () {
    var text = this.input.value.trim();
    var json;
    try {
      json = text ? JSON.parse(text) : {};
    } catch (err) {
      json = undefined;
    }
    this.wrapped = false;
    this.tree = json === undefined ? null : this.parse(json);
    this.render();
  };

  // The server's faults (the preview's list, each with the path it names) next to the
  // rule or group they name: the longest path that is the fault's or a prefix of it.
  Builder.prototype.showErrors = function () {
    var self = this;
    var root = this.root;
    Array.prototype.forEach.call(root.querySelectorAll(".rule__errors"), function (list) {
      list.textContent = "";
      list.hidden = true;
    });
    Array.prototype.forEach.call(root.querySelectorAll("[aria-invalid]"), function (control) {
      control.removeAttribute("aria-invalid");
      var described = (control.getAttribute("aria-describedby") || "").replace(/\s*\S+-errors\b/, "").trim();
      if (described) {
        control.setAttribute("aria-describedby", described);
      } else {
        control.removeAttribute("aria-describedby");
      }
    });
    var nodes = Array.prototype.slice.call(root.querySelectorAll("[data-rule-path]"));
    var faults = document.querySelectorAll("#preview-errors [data-rule-path]");
    Array.prototype.forEach.call(faults, function (fault) {
      var path = fault.getAttribute("data-rule-path");
      if (!path) {
        return;
      }
      if (self.wrapped && path.indexOf("rules.") === 0) {
        path = "rules.all.0." + path.slice(6); // the JSON's one rule is the builder's first row
      } else if (self.wrapped && path === "rules") {
        path = "rules.all.0";
      }
      var best = null;
      nodes.forEach(function (node) {
        var own = node.getAttribute("data-rule-path");
        if ((path === own || path.indexOf(own + ".") === 0) && (!best || own.length > best.getAttribute("data-rule-path").length)) {
          best = node;
        }
      });
      if (!best) {
        return;
      }
      var list = document.getElementById(best.id + "-errors");
      var parts = path.slice(best.getAttribute("data-rule-path").length + 1).split(".");
      var rest = parts[0];
      // value.days names the product rule's second input; value.0 a list's first item.
      var control =
        document.getElementById(best.id + "-" + parts.slice(0, 2).join("-")) ||
        document.getElementById(best.id + "-" + (rest || "type"));
      list.appendChild(el("li", { text: fault.getAttribute("data-rule-message") }));
      list.hidden = false;
      if (control && /^(field|op|value)$/.test(rest)) {
        control.setAttribute("aria-invalid", "true");
        var described = control.getAttribute("aria-describedby");
        if (!described || described.indexOf(list.id) < 0) {
          control.setAttribute("aria-describedby", ((described || "") + " " + list.id).trim());
        }
      }
      best.classList.add("rule--invalid");
    });
    Array.prototype.forEach.call(root.querySelectorAll(".rule--invalid"), function (node) {
      var list = document.getElementById(node.id + "-errors");
      if (list && list.hidden) {
        node.classList.remove("rule--invalid");
      }
    });
  };

  function setUp(root) {
    var input = document.getElementById(root.getAttribute("data-rules-input"));
    if (!input) {
      return;
    }
    var builder = new Builder(root, input, JSON.parse(root.getAttribute("data-options")));
    input.addEventListener("input", function () {
      if (!builder.syncing) {
        builder.readInput(); // edited by hand: redraw the builder from it
      }
    });
    document.body.addEventListener("htmx:afterSettle", function () {
      builder.showErrors();
    });
    root.hidden = false;
    var advanced = document.querySelector("[data-rules-advanced]");
    builder.readInput();
    if (advanced && builder.tree) {
      advanced.open = false; // the builder shows the rules; the JSON stays one click away
    }
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-rule-builder]"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
