/*
 * cairn API reference: renders /openapi.json (OpenAPI 3.1, JSON Schema 2020-12) as a browsable
 * page. Operations are grouped by their first tag; schemas are shown as indented property
 * lists with local `$ref`s resolved. Everything from the document is written with textContent.
 */
"use strict";

(() => {
  const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
  const MAX_DEPTH = 6; // how deep nested schemas are expanded inline

  const $ = (id) => document.getElementById(id);
  let spec = null;

  // ---------------------------------------------------------------------------------------------
  // Small DOM helpers
  // ---------------------------------------------------------------------------------------------

  /** el("span", "class", "text" | [children]) */
  function el(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (Array.isArray(content)) node.append(...content.filter((c) => c !== null && c !== undefined));
    else if (content !== undefined && content !== null) node.textContent = String(content);
    return node;
  }

  function link(href, text, className) {
    const a = el("a", className, text);
    a.href = href;
    return a;
  }

  const anchorId = (prefix, text) => `${prefix}-${String(text).replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-|-$/g, "")}`;

  // ---------------------------------------------------------------------------------------------
  // $ref resolution
  // ---------------------------------------------------------------------------------------------

  /** Follows a local JSON pointer such as `#/components/schemas/Account`. */
  function resolvePointer(ref) {
    if (typeof ref !== "string" || !ref.startsWith("#/")) return undefined;
    let node = spec;
    for (const raw of ref.slice(2).split("/")) {
      const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
      if (node === null || typeof node !== "object" || !(key in node)) return undefined;
      node = node[key];
    }
    return node;
  }

  /** A schema (or parameter, response, body) with `$ref`s followed; `name` is the last ref's. */
  function deref(obj) {
    let node = obj;
    let name = null;
    const seen = new Set();
    while (node && typeof node === "object" && typeof node.$ref === "string" && !seen.has(node.$ref)) {
      seen.add(node.$ref);
      name = node.$ref.split("/").pop();
      const target = resolvePointer(node.$ref);
      if (target === undefined) return { node: {}, name, missing: node.$ref };
      // 3.1 allows siblings of $ref (description, …): they override the target's.
      const { $ref, ...siblings } = node;
      node = Object.keys(siblings).length ? { ...target, ...siblings } : target;
    }
    return { node: node || {}, name };
  }

  /** Folds `allOf` parts into one schema (properties and required merged). */
  function mergeAllOf(schema) {
    if (!Array.isArray(schema.allOf)) return schema;
    const merged = { ...schema, properties: { ...(schema.properties || {}) }, required: [...(schema.required || [])] };
    delete merged.allOf;
    for (const part of schema.allOf) {
      const p = mergeAllOf(deref(part).node);
      Object.assign(merged.properties, p.properties || {});
      merged.required.push(...(p.required || []));
      for (const k of ["type", "description", "additionalProperties", "items", "oneOf", "anyOf", "enum"]) {
        if (merged[k] === undefined && p[k] !== undefined) merged[k] = p[k];
      }
    }
    if (!Object.keys(merged.properties).length) delete merged.properties;
    return merged;
  }

  // ---------------------------------------------------------------------------------------------
  // Schemas as text and as indented property lists
  // ---------------------------------------------------------------------------------------------

  /** The schema's types as a list: `type` (string or array), else what its keywords imply. */
  function typesOf(s) {
    let types = Array.isArray(s.type) ? [...s.type] : s.type ? [s.type] : [];
    if (!types.length) {
      if (s.properties || s.additionalProperties) types = ["object"];
      else if (s.items || s.prefixItems) types = ["array"];
      else if (Array.isArray(s.enum) && s.enum.length) types = [...new Set(s.enum.map((v) => (v === null ? "null" : typeof v)))];
    }
    if (s.nullable === true && !types.includes("null")) types.push("null"); // OpenAPI 3.0 style
    return types;
  }

  /** A short type label, e.g. `string (date-time) | null`, `array<Lot>`, `map<string, string>`. */
  function typeLabel(schema, depth = 0) {
    if (schema === true || schema === undefined) return "any";
    if (schema === false) return "never";
    const { node, name } = deref(schema);
    if (name && depth > 0) return name;
    const s = mergeAllOf(node);
    if (s.const !== undefined) return `const ${JSON.stringify(s.const)}`;
    const alternatives = s.oneOf || s.anyOf;
    const types = typesOf(s);
    if (!types.length && alternatives) {
      return alternatives.map((a) => typeLabel(a, depth + 1)).join(" | ");
    }
    const labels = types.map((t) => {
      if (t === "array") return `array<${s.items ? typeLabel(s.items, depth + 1) : "any"}>`;
      if (t === "object" && !s.properties && s.additionalProperties && typeof s.additionalProperties === "object") {
        return `map<string, ${typeLabel(s.additionalProperties, depth + 1)}>`;
      }
      if (s.format && t !== "null") return `${t} (${s.format})`;
      return t;
    });
    if (!labels.length) return alternatives ? "one of" : "any";
    return labels.join(" | ");
  }

  /** The type label element: a link to the named schema when the type is a `$ref`. */
  function typeElement(schema) {
    const span = el("span", "type");
    const { name, missing } = deref(schema || {});
    const label = typeLabel(schema);
    if (name && !missing && spec.components && spec.components.schemas && spec.components.schemas[name]) {
      span.append(link(`#${anchorId("schema", name)}`, name));
      if (label !== name && !/^object/.test(label)) span.append(` (${label})`);
    } else {
      span.textContent = label;
    }
    return span;
  }

  /** Constraints and metadata after the description: enum, default, pattern, bounds, example. */
  function facts(s) {
    const parts = [];
    if (Array.isArray(s.enum)) parts.push(`one of: ${s.enum.map((v) => JSON.stringify(v)).join(", ")}`);
    if (s.default !== undefined) parts.push(`default: ${JSON.stringify(s.default)}`);
    if (s.pattern) parts.push(`pattern: ${s.pattern}`);
    for (const k of ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems"]) {
      if (s[k] !== undefined) parts.push(`${k}: ${s[k]}`);
    }
    if (s.examples && s.examples.length) parts.push(`example: ${JSON.stringify(s.examples[0])}`);
    else if (s.example !== undefined) parts.push(`example: ${JSON.stringify(s.example)}`);
    if (s.readOnly) parts.push("read-only");
    if (s.writeOnly) parts.push("write-only");
    if (s.deprecated) parts.push("deprecated");
    return parts.length ? el("div", "enum", parts.join(" · ")) : null;
  }

  /**
   * The nested part of a schema as a `<ul class="schema">`: its properties, its array items'
   * properties, its additional properties, its oneOf/anyOf alternatives. Null when flat.
   * `seen` holds the schema names on the current path, so recursive schemas stop.
   */
  function schemaChildren(schema, depth, seen) {
    if (depth > MAX_DEPTH || schema === true || schema === false || !schema) return null;
    const { node, name } = deref(schema);
    if (name && seen.has(name)) return el("ul", "schema", [el("li", "prop-desc", `${name} (recursive, see above)`)]);
    const inner = name ? new Set(seen).add(name) : seen;
    const s = mergeAllOf(node);
    const items = [];

    const required = new Set(s.required || []);
    for (const [prop, propSchema] of Object.entries(s.properties || {})) {
      items.push(propertyItem(prop, propSchema, required.has(prop), depth, inner));
    }
    if (s.additionalProperties && typeof s.additionalProperties === "object" && s.properties) {
      items.push(propertyItem("[any other key]", s.additionalProperties, false, depth, inner));
    } else if (s.additionalProperties && typeof s.additionalProperties === "object") {
      const nested = schemaChildren(s.additionalProperties, depth + 1, inner);
      if (nested) items.push(el("li", null, [el("span", "prop-desc", "each value:"), nested]));
    }
    if (s.items && typesOf(s).includes("array")) {
      const nested = schemaChildren(s.items, depth + 1, inner);
      if (nested) items.push(el("li", null, [el("span", "prop-desc", "each item:"), nested]));
    }
    const alternatives = s.oneOf ? ["one of", s.oneOf] : s.anyOf ? ["any of", s.anyOf] : null;
    if (alternatives) {
      const list = el("ul", "schema");
      alternatives[1].forEach((alt, i) => {
        const { node: a } = deref(alt);
        const li = el("li", null, [el("span", "prop-name", `#${i + 1}`), " ", typeElement(alt)]);
        if (a.title || a.description) li.append(" ", el("span", "prop-desc", a.title || a.description));
        const f = facts(a);
        if (f) li.append(f);
        const nested = schemaChildren(alt, depth + 1, inner);
        if (nested) li.append(nested);
        list.append(li);
      });
      items.push(el("li", null, [el("span", "prop-desc", `${alternatives[0]}:`), list]));
    }
    return items.length ? el("ul", "schema", items) : null;
  }

  /** One property: name, type, required badge, description, facts and its nested schema. */
  function propertyItem(prop, propSchema, required, depth, seen) {
    const { node, name } = deref(propSchema);
    const s = mergeAllOf(node);
    const li = el("li", null, [el("span", "prop-name", prop), " ", typeElement(propSchema)]);
    if (required) li.append(" ", el("span", "badge required", "required"));
    if (s.description) li.append(el("div", "prop-desc", s.description));
    const f = facts(s);
    if (f) li.append(f);
    const nested = schemaChildren(propSchema, depth + 1, seen);
    if (nested) {
      // Named schemas fold away (they are listed in full under Schemas); inline ones stay open.
      if (name) {
        const details = el("details", null, [el("summary", "prop-desc", `${name} fields`), nested]);
        li.append(details);
      } else {
        li.append(nested);
      }
    }
    return li;
  }

  /** A whole schema: its type line and description, then its nested property list. `selfName`
   *  is the component it is, when it is one (so that it does not expand inside itself). */
  function schemaBlock(schema, selfName) {
    const { node } = deref(schema || {});
    const s = mergeAllOf(node);
    const block = el("div", "schema-block", [el("div", null, [typeElement(schema)])]);
    if (s.description && !deref(schema || {}).name) block.append(el("div", "prop-desc", s.description));
    const f = facts(s);
    if (f) block.append(f);
    const nested = schemaChildren(schema, 0, new Set(selfName ? [selfName] : []));
    if (nested) {
      nested.classList.add("schema-root");
      block.append(nested);
    }
    return block;
  }

  // ---------------------------------------------------------------------------------------------
  // Operations
  // ---------------------------------------------------------------------------------------------

  /** Every operation in document order: { method, path, op, tag, id, params }. */
  function collectOperations() {
    const ops = [];
    for (const [path, rawItem] of Object.entries(spec.paths || {})) {
      const item = deref(rawItem).node;
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const tag = (op.tags && op.tags[0]) || "Other";
        ops.push({
          method,
          path,
          op,
          tag,
          id: anchorId("op", op.operationId || `${method}-${path}`),
          params: mergeParameters(item.parameters, op.parameters),
        });
      }
    }
    return ops;
  }

  /** Path-level parameters overridden by operation-level ones with the same name and `in`. */
  function mergeParameters(pathParams = [], opParams = []) {
    const byKey = new Map();
    for (const p of [...pathParams, ...opParams]) {
      const param = deref(p).node;
      byKey.set(`${param.in}:${param.name}`, param);
    }
    return [...byKey.values()];
  }

  /** Tags in the order `spec.tags` gives, then any others in order of first use. */
  function groupByTag(ops) {
    const groups = new Map();
    for (const t of spec.tags || []) groups.set(t.name, { tag: t, ops: [] });
    for (const o of ops) {
      if (!groups.has(o.tag)) groups.set(o.tag, { tag: { name: o.tag }, ops: [] });
      groups.get(o.tag).ops.push(o);
    }
    return [...groups.values()].filter((g) => g.ops.length);
  }

  function methodBadge(method) {
    return el("span", `method ${method}`, method);
  }

  /** What authentication the operation asks for, as a badge (or null when none). */
  function authBadge(op) {
    const requirements = op.security !== undefined ? op.security : spec.security || [];
    if (!requirements.length) return null;
    const names = requirements.map((r) => Object.keys(r).join(" + ")).filter(Boolean);
    const optional = requirements.some((r) => !Object.keys(r).length);
    if (!names.length) return null;
    return el("span", "badge auth", `auth: ${names.join(" or ")}${optional ? " (optional)" : ""}`);
  }

  function parametersTable(params) {
    const table = el("table", "params");
    const head = table.createTHead().insertRow();
    for (const h of ["Name", "In", "Required", "Type", "Description"]) head.append(el("th", null, h));
    const body = table.createTBody();
    for (const p of params) {
      const schema = p.schema || firstContentSchema(p.content) || {};
      const tr = body.insertRow();
      tr.append(
        el("td", null, p.name),
        el("td", null, p.in),
        el("td", null, p.required ? "yes" : "no"),
        el("td", null, [typeElement(schema)]),
      );
      const desc = el("td", null, [p.description ? el("div", null, p.description) : null, facts(deref(schema).node)]);
      if (p.deprecated) desc.prepend(el("span", "badge", "deprecated"), " ");
      tr.append(desc);
    }
    return table;
  }

  function firstContentSchema(content) {
    const first = content && Object.values(content)[0];
    return first && first.schema;
  }

  /** Media types with their schema and first example. */
  function contentBlock(content) {
    const wrap = el("div");
    for (const [media, m] of Object.entries(content || {})) {
      wrap.append(el("div", "media", media));
      if (m.schema) wrap.append(schemaBlock(m.schema));
      const example = m.example !== undefined ? m.example
        : m.examples ? (Object.values(m.examples)[0] || {}).value : undefined;
      if (example !== undefined) {
        const pre = el("pre", "example", typeof example === "string" ? example : JSON.stringify(example, null, 2));
        wrap.append(el("details", null, [el("summary", "prop-desc", "Example"), pre]));
      }
    }
    return wrap;
  }

  function requestBodyBlock(rawBody) {
    const body = deref(rawBody).node;
    const section = el("div", null, [el("h4", null, "Request body")]);
    if (body.required) section.append(el("span", "badge required", "required"), " ");
    if (body.description) section.append(el("span", "prop-desc", body.description));
    section.append(contentBlock(body.content));
    return section;
  }

  function responsesBlock(responses) {
    const section = el("div", null, [el("h4", null, "Responses")]);
    for (const [code, raw] of Object.entries(responses || {})) {
      const r = deref(raw).node;
      const codeClass = `status-code s${String(code).charAt(0)}`;
      const div = el("div", "response", [el("span", codeClass, code), " ", el("span", null, r.description || "")]);
      const headers = Object.entries(r.headers || {});
      if (headers.length) {
        div.append(el("div", "prop-desc", `Headers: ${headers.map(([name, h]) => {
          const hd = deref(h).node;
          return hd.description ? `${name} (${hd.description})` : name;
        }).join(", ")}`));
      }
      if (r.content) div.append(contentBlock(r.content));
      section.append(div);
    }
    return section;
  }

  function operationArticle(o) {
    const { op } = o;
    const article = el("article", `operation card${op.deprecated ? " deprecated" : ""}`);
    article.id = o.id;
    const head = el("div", "op-head", [methodBadge(o.method), el("span", "op-path", o.path), authBadge(op)]);
    if (op.deprecated) head.append(el("span", "badge", "deprecated"));
    article.append(el("h3", null, [head]));
    if (op.summary) article.append(el("p", "op-summary", op.summary));
    if (op.description) article.append(el("p", "op-desc", op.description));
    if (op.operationId) article.append(el("div", "prop-desc", `operationId: ${op.operationId}`));
    if (o.params.length) article.append(el("h4", null, "Parameters"), parametersTable(o.params));
    if (op.requestBody) article.append(requestBodyBlock(op.requestBody));
    if (op.responses) article.append(responsesBlock(op.responses));
    return article;
  }

  // ---------------------------------------------------------------------------------------------
  // Page
  // ---------------------------------------------------------------------------------------------

  function renderInfo() {
    const info = spec.info || {};
    $("docs-title").textContent = `${info.title || "API"} ${info.version ? `— ${info.version}` : ""}`.trim();
    document.title = `${info.title || "API"} — reference`;
    const status = $("docs-status");
    status.textContent = info.description || `OpenAPI ${spec.openapi || ""}`;
    status.className = "op-desc";
  }

  /** Builds the sidebar and the operation list; returns the entries the filter works on. */
  function renderOperations() {
    const groups = groupByTag(collectOperations());
    const toc = $("docs-toc");
    const main = $("docs-operations");
    const entries = [];
    for (const { tag, ops } of groups) {
      const tocGroup = el("div", "toc-group", [el("h2", null, tag.name)]);
      const tocList = el("ul");
      const section = el("section", "docs-tag", [el("h2", null, tag.name)]);
      section.id = anchorId("tag", tag.name);
      if (tag.description) section.append(el("p", "op-desc", tag.description));
      for (const o of ops) {
        const a = link(`#${o.id}`, null);
        a.append(methodBadge(o.method), el("span", "path", o.path));
        if (o.op.summary) a.title = o.op.summary;
        const li = el("li", null, [a]);
        tocList.append(li);
        const article = operationArticle(o);
        section.append(article);
        const haystack = [o.method, o.path, o.tag, o.op.summary, o.op.description, o.op.operationId].join(" ").toLowerCase();
        entries.push({ haystack, li, article, tocGroup, section });
      }
      tocGroup.append(tocList);
      toc.append(tocGroup);
      main.append(section);
    }
    return entries;
  }

  function renderSchemas() {
    const schemas = (spec.components && spec.components.schemas) || {};
    const list = $("docs-schema-list");
    for (const [name, schema] of Object.entries(schemas)) {
      const card = el("article", "operation card", [el("h3", null, [el("span", "op-path", name)])]);
      card.id = anchorId("schema", name);
      if (schema.description) card.append(el("p", "op-desc", schema.description));
      card.append(schemaBlock(schema, name));
      list.append(card);
    }
    $("docs-schemas").hidden = !Object.keys(schemas).length;
    if (Object.keys(schemas).length) {
      $("docs-toc").append(el("div", "toc-group", [el("h2", null, "Schemas"), el("ul", null, [el("li", null, [link("#docs-schemas", "All schemas")])])]));
    }
  }

  /** Shows only operations whose method, path, tag, summary or id contain every filter word. */
  function applyFilter(entries, text) {
    const words = text.toLowerCase().split(/\s+/).filter(Boolean);
    const visibleGroups = new Set();
    const visibleSections = new Set();
    let shown = 0;
    for (const e of entries) {
      const match = words.every((w) => e.haystack.includes(w));
      e.li.hidden = !match;
      e.article.hidden = !match;
      if (match) {
        shown += 1;
        visibleGroups.add(e.tocGroup);
        visibleSections.add(e.section);
      }
    }
    for (const e of entries) {
      e.tocGroup.hidden = !visibleGroups.has(e.tocGroup);
      e.section.hidden = !visibleSections.has(e.section);
    }
    $("docs-no-match").hidden = shown > 0;
  }

  async function start() {
    try {
      const res = await fetch("/openapi.json", { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!res.ok) throw new Error(`/openapi.json answered HTTP ${res.status}`);
      spec = await res.json();
    } catch (err) {
      const status = $("docs-status");
      status.textContent = `Could not load the API description: ${err.message}`;
      status.className = "error";
      return;
    }
    renderInfo();
    const entries = renderOperations();
    renderSchemas();
    const filter = $("docs-filter");
    filter.addEventListener("input", () => applyFilter(entries, filter.value));
    // Anchors did not exist when the page loaded: jump to the one in the address now.
    if (location.hash) {
      const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (target) target.scrollIntoView();
    }
  }

  start();
})();
