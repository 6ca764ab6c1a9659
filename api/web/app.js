/*
 * cairn web front end.
 *
 * A single page over the JSON API. Plain DOM, no framework, no innerHTML with data: everything
 * the server sends is written with textContent. Runs under a strict Content-Security-Policy
 * (no inline scripts, handlers or style attributes).
 *
 * Sessions: the access token lives in memory only; the refresh token in sessionStorage so a
 * reload of the tab keeps the session. The access token is refreshed a minute before it
 * expires, and once more when any call answers 401 `unauthorized`.
 */
"use strict";

(() => {
  // ---------------------------------------------------------------------------------------------
  // Constants and state
  // ---------------------------------------------------------------------------------------------

  const REFRESH_KEY = "cairn.refresh_token";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const SECTIONS = ["overview", "performance", "allocation", "gains", "import", "audit", "security"];

  const state = {
    accessToken: null,
    refreshTimer: null,
    user: null, // { user_id, roles, household, households }
    household: null, // the household picked in #household-select
    asOf: null, // RFC 3339 UTC instant, auditors only
    benchmark: "", // the benchmark the performance section shows (the last one the server took)
    minPosition: 0, // highest event-log position we know was written (imports, live events)
    accounts: [], // the household's accounts ({ account, account_type }) for the trade form
    section: "overview",
    loadSeq: 0, // bumps on every section load; stale answers are dropped
    stream: null, // { controller } of the live-update reader
    streamDebounce: null,
    rateLimitTimer: null,
  };

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------------------------------------
  // API helper
  // ---------------------------------------------------------------------------------------------

  /** An RFC 7807 problem answered by the server (or a network failure dressed as one). */
  class ApiError extends Error {
    constructor(problem, status, headers) {
      super(problem.detail || problem.title || `HTTP ${status}`);
      this.problem = problem;
      this.status = status;
      this.slug = problemSlug(problem.type);
      this.retryAfter = retryAfter(problem, headers);
    }
  }

  /** `/problems/rate-limited` → `rate-limited`. */
  function problemSlug(type) {
    if (typeof type !== "string") return "";
    const parts = type.split(/[/#]/).filter(Boolean);
    return parts.length ? parts[parts.length - 1] : "";
  }

  /** Seconds to wait from the problem's `retry_after` or the `Retry-After` header. */
  function retryAfter(problem, headers) {
    const fromBody = Number(problem.retry_after);
    if (Number.isFinite(fromBody) && fromBody > 0) return Math.ceil(fromBody);
    const header = headers && headers.get("Retry-After");
    const fromHeader = Number(header);
    return Number.isFinite(fromHeader) && fromHeader > 0 ? Math.ceil(fromHeader) : 0;
  }

  /** Reads a failed response into an ApiError. */
  async function toApiError(res) {
    let problem = null;
    const text = await res.text().catch(() => "");
    try {
      problem = JSON.parse(text);
    } catch (_) {
      // Not JSON: a proxy page or plain text.
    }
    if (!problem || typeof problem !== "object") {
      problem = { title: res.statusText || "Request failed", status: res.status, detail: text.slice(0, 300) || undefined };
    }
    return new ApiError(problem, res.status, res.headers);
  }

  /**
   * The one way this page talks to the server.
   *
   * opts: method, body (object → JSON; string/ArrayBuffer/Blob sent as is), contentType,
   * headers (more request headers: Idempotency-Key), auth (default true: send the bearer token
   * and refresh on 401), raw (return the Response), signal. Answers the parsed JSON (or null
   * for 204); throws ApiError.
   */
  async function api(path, opts = {}) {
    const { method = "GET", body, contentType, headers: extra = {}, auth = true, raw = false, signal } = opts;
    const headers = Object.assign({ Accept: raw ? "text/event-stream" : "application/json" }, extra);
    let payload = body;
    if (body !== undefined && body !== null && !isBinaryOrText(body)) {
      payload = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    if (contentType) headers["Content-Type"] = contentType;

    const send = () => {
      if (auth && state.accessToken) headers.Authorization = `Bearer ${state.accessToken}`;
      return fetch(path, { method, headers, body: payload, signal, credentials: "same-origin", cache: "no-store" });
    };

    let res;
    try {
      res = await send();
    } catch (e) {
      if (e && e.name === "AbortError") throw e;
      throw new ApiError({ title: "Network error", detail: "The server could not be reached." }, 0, null);
    }

    // An expired or revoked access token: refresh once and retry, else back to sign-in.
    if (res.status === 401 && auth) {
      const err = await toApiError(res);
      if (!(await tryRefresh())) {
        signOutLocally("Your session has ended. Please sign in again.");
        throw err;
      }
      res = await send();
    }

    if (!res.ok) throw await toApiError(res);
    if (raw) return res;
    if (res.status === 204) return null;
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }

  function isBinaryOrText(body) {
    return typeof body === "string" || body instanceof ArrayBuffer || body instanceof Blob ||
      ArrayBuffer.isView(body) || body instanceof FormData;
  }

  /** A problem as one line for the user: detail (or title), plus line/field when given. */
  function problemMessage(err) {
    if (!(err instanceof ApiError)) return String((err && err.message) || err);
    const p = err.problem;
    let msg = p.detail || p.title || `Request failed (HTTP ${err.status})`;
    const where = [];
    if (p.line !== undefined && p.line !== null && !msg.includes(`line ${p.line}`)) where.push(`line ${p.line}`);
    if (p.field && !msg.includes(p.field)) where.push(`field ${p.field}`);
    if (where.length) msg = `${capitalize(where.join(", "))}: ${msg}`;
    if (err.slug === "rate-limited" && err.retryAfter) msg += ` Try again in ${err.retryAfter} s.`;
    return msg;
  }

  const capitalize = (s) => s.charAt(0).toUpperCase() + s.slice(1);

  // ---------------------------------------------------------------------------------------------
  // Session: login, refresh, logout
  // ---------------------------------------------------------------------------------------------

  let refreshing = null; // the refresh in flight, shared by concurrent callers

  /** Refreshes the access token; true when it worked. Concurrent callers share one request. */
  function tryRefresh() {
    if (!refreshing) {
      refreshing = doRefresh().then(() => true, () => false).finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  async function doRefresh() {
    const token = sessionStorage.getItem(REFRESH_KEY);
    if (!token) throw new Error("no refresh token");
    const session = await api("/v1/auth/refresh", { method: "POST", body: { refresh_token: token }, auth: false });
    acceptSession(session);
  }

  /** Stores the tokens from a login or refresh answer and schedules the next refresh. */
  function acceptSession(session) {
    state.accessToken = session.access_token;
    if (session.refresh_token) sessionStorage.setItem(REFRESH_KEY, session.refresh_token);
    if (session.user) state.user = session.user;
    clearTimeout(state.refreshTimer);
    const seconds = Math.max(10, (Number(session.expires_in) || 900) - 60);
    state.refreshTimer = setTimeout(async () => {
      if (!(await tryRefresh())) signOutLocally("Your session has expired. Please sign in again.");
    }, seconds * 1000);
  }

  /** Reads the sign-in form; the code field goes as `totp` (6 digits) or `backup_code`. */
  function loginBody() {
    const body = { email: $("login-email").value.trim(), password: $("login-password").value };
    const code = $("login-totp").value.trim();
    if (!$("login-totp-field").hidden && code) {
      if (code.includes("-") || !/^\d{6}$/.test(code)) body.backup_code = code;
      else body.totp = code;
    }
    return body;
  }

  async function onLoginSubmit(event) {
    event.preventDefault();
    const error = $("login-error");
    error.textContent = "";
    const body = loginBody();
    if (!body.email || !body.password) {
      error.textContent = "Enter your email and password.";
      return;
    }
    $("login-submit").disabled = true;
    try {
      const session = await api("/v1/auth/login", { method: "POST", body, auth: false });
      acceptSession(session);
      $("login-password").value = "";
      $("login-totp").value = "";
      $("login-totp-field").hidden = true;
      await enterApp(Boolean(session.new_device));
    } catch (err) {
      handleLoginError(err);
    } finally {
      if (!state.rateLimitTimer) $("login-submit").disabled = false;
    }
  }

  function handleLoginError(err) {
    const error = $("login-error");
    error.textContent = problemMessage(err);
    if (!(err instanceof ApiError)) return;
    if (err.slug === "mfa-required") {
      $("login-totp-field").hidden = false;
      $("login-totp").value = "";
      $("login-totp").focus();
      if (!err.problem.detail) error.textContent = "Enter the code from your authenticator app, or a backup code.";
    } else if (err.slug === "rate-limited") {
      lockLogin(err.retryAfter || 30);
    } else if (err.slug === "invalid-credentials") {
      $("login-totp").value = "";
    }
  }

  /** Disables the sign-in button for `seconds`, counting down on it. */
  function lockLogin(seconds) {
    const button = $("login-submit");
    clearInterval(state.rateLimitTimer);
    let left = seconds;
    const tick = () => {
      if (left <= 0) {
        clearInterval(state.rateLimitTimer);
        state.rateLimitTimer = null;
        button.disabled = false;
        button.textContent = "Sign in";
        return;
      }
      button.disabled = true;
      button.textContent = `Wait ${left} s`;
      left -= 1;
    };
    tick();
    state.rateLimitTimer = setInterval(tick, 1000);
  }

  async function onLogout() {
    const token = sessionStorage.getItem(REFRESH_KEY);
    if (token) {
      // Best effort: the local session ends whatever the server says.
      await api("/v1/auth/logout", { method: "POST", body: { refresh_token: token }, auth: false }).catch(() => {});
    }
    signOutLocally("");
  }

  /** Forgets the session, clears every rendered table and shows the sign-in form. */
  function signOutLocally(message) {
    clearTimeout(state.refreshTimer);
    stopStream();
    stopLivePrices();
    sessionStorage.removeItem(REFRESH_KEY);
    Object.assign(state, { accessToken: null, user: null, household: null, asOf: null, minPosition: 0, benchmark: "" });
    state.loadSeq += 1;
    clearAppData();
    $("app").hidden = true;
    $("session-bar").hidden = true;
    $("signin").hidden = false;
    $("login-error").textContent = message || "";
    $("login-email").focus();
  }

  /** Removes whatever the previous user could see. */
  function clearAppData() {
    document.querySelectorAll("#app table").forEach((t) => t.replaceChildren());
    $("drift-chart").replaceChildren();
    clearHoldings();
    clearTradeForm();
    $("trade-accounts").replaceChildren();
    state.accounts = [];
    clearPerformance();
    $("performance-benchmark").value = "";
    $("household-select").replaceChildren();
    for (const id of ["import-result", "app-error", "mfa-error", "mfa-secret", "mfa-uri", "total-value-note"]) {
      $(id).textContent = "";
    }
    $("total-value").textContent = "—";
    $("balances").hidden = true;
    $("balances-summary").textContent = "";
    $("mfa-backup-codes").replaceChildren();
    $("mfa-setup").hidden = true;
    $("new-device-notice").hidden = true;
    $("asof-banner").hidden = true;
    $("asof-input").value = "";
  }

  // ---------------------------------------------------------------------------------------------
  // Entering the app: header, roles, households
  // ---------------------------------------------------------------------------------------------

  const hasRole = (role) => Boolean(state.user && (state.user.roles || []).includes(role));
  const isAuditor = () => hasRole("auditor") || hasRole("admin");
  /** Auditors are read-only: they get no import unless they also hold a writing role. */
  const canImport = () => !hasRole("auditor") || hasRole("client") || hasRole("advisor") || hasRole("admin");

  async function enterApp(newDevice) {
    $("signin").hidden = true;
    $("app").hidden = false;
    $("session-bar").hidden = false;
    $("new-device-notice").hidden = !newDevice;
    renderUser();
    await Promise.all([loadMe(), loadHouseholds()]);
    showSection(sectionFromHash(), { force: true });
    startStream();
    loadAlerts().catch(() => {});
  }

  function renderUser() {
    const user = state.user || {};
    const name = $("user-name");
    name.textContent = user.name || user.user_id || "";
    name.title = user.user_id ? `User ${user.user_id}` : "";
    $("user-roles").textContent = (user.roles || []).join(", ");
    $("asof-form").hidden = !isAuditor();
    $("nav-import").hidden = !canImport();
    if (!canImport() && state.section === "import") state.section = "overview";
  }

  /** GET /v1/me: the user's name (tokens do not carry it) for the header. */
  async function loadMe() {
    try {
      const me = await api("/v1/me");
      state.user = Object.assign({}, state.user, { name: me.name });
      renderUser();
    } catch (err) {
      showAppError(err);
    }
  }

  /** Fills #household-select from GET /v1/households, keeping or pre-selecting a household. */
  async function loadHouseholds() {
    const select = $("household-select");
    let rows = [];
    try {
      rows = (await api("/v1/households")).rows || [];
    } catch (err) {
      showAppError(err);
      // Fall back to what the token names.
      rows = ((state.user && state.user.households) || []).map((h) => ({ household: h }));
    }
    select.replaceChildren(...rows.map((r) => {
      const option = document.createElement("option");
      option.value = r.household;
      option.textContent = r.name ? `${r.name} (${r.household})` : r.household;
      return option;
    }));
    const ids = rows.map((r) => r.household);
    const preferred = [state.household, state.user && state.user.household].find((h) => h && ids.includes(h));
    state.household = preferred || ids[0] || null;
    select.value = state.household || "";
    select.disabled = ids.length === 0;
    if (!ids.length) showAppError("No households are available to you.");
  }

  function onHouseholdChange() {
    state.household = $("household-select").value || null;
    $("import-result").textContent = "";
    clearTradeForm();
    loadSection(state.section);
    startStream();
    loadAlerts().catch(() => {});
  }

  // ---------------------------------------------------------------------------------------------
  // Navigation
  // ---------------------------------------------------------------------------------------------

  function sectionFromHash() {
    const name = location.hash.replace(/^#/, "");
    return SECTIONS.includes(name) ? name : state.section;
  }

  /** Shows one section, marks its nav link and loads its data. */
  function showSection(name, { force = false } = {}) {
    if (!SECTIONS.includes(name) || (name === "import" && !canImport())) name = "overview";
    const changed = name !== state.section;
    state.section = name;
    for (const s of SECTIONS) $(s).hidden = s !== name;
    document.querySelectorAll("nav.tabs a[data-section]").forEach((a) => {
      if (a.dataset.section === name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    if (changed || force) loadSection(name);
  }

  function onHashChange() {
    if (state.accessToken) showSection(sectionFromHash());
  }

  // ---------------------------------------------------------------------------------------------
  // Household queries
  // ---------------------------------------------------------------------------------------------

  /** `/v1/households/{h}/{what}?as_of=…&min_position=…&…` for the picked household. */
  function householdUrl(what, params = {}) {
    const query = new URLSearchParams();
    if (state.asOf) query.set("as_of", state.asOf);
    if (state.minPosition > 0) query.set("min_position", String(state.minPosition));
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== "") query.set(k, String(v));
    }
    const qs = query.toString();
    return `/v1/households/${encodeURIComponent(state.household)}/${what}${qs ? `?${qs}` : ""}`;
  }

  const queryHousehold = (what, params) => api(householdUrl(what, params));

  /** Loads a section's data; answers that arrive after a newer load are dropped. */
  async function loadSection(name) {
    if (!state.household || !state.accessToken) return;
    const seq = ++state.loadSeq;
    const current = () => seq === state.loadSeq;
    clearAppError();
    const loaders = {
      overview: loadOverview, performance: loadPerformance, allocation: loadAllocation, gains: loadGains,
      import: loadTradeAccounts, audit: loadAudit, security: loadSecurity,
    };
    const loader = loaders[name];
    if (loader) await loader(current);
  }

  /**
   * Fetches one household query into a table. `current()` says whether the answer is still
   * wanted. Returns the data (or null on error, which is shown in the table and #app-error).
   */
  async function fillTable(tableId, what, params, current, options) {
    try {
      const data = await queryHousehold(what, params);
      if (!current()) return null;
      renderTable($(tableId), data, options);
      return data;
    } catch (err) {
      if (!current()) return null;
      renderTableError($(tableId), err);
      showAppError(err);
      return null;
    }
  }

  async function loadOverview(current) {
    const value = queryHousehold("value", {}).catch((err) => {
      if (current()) showAppError(err);
      return null;
    });
    await Promise.all([
      fillTable("accounts-table", "accounts", {}, current, { preferred: ACCOUNT_COLUMNS }),
      fillTable("positions-table", "valuations", {}, current, { preferred: VALUATION_COLUMNS }).then((data) => {
        if (current()) showLivePrices($("positions-table"), data);
      }),
      loadBalances(current),
      loadGoals(current),
      loadEstate(current),
    ]);
    const answer = await value;
    if (current()) renderTotal(answer);
  }

  const ACCOUNT_COLUMNS = ["account", "account_type", "owner", "cash"];

  // ---------------------------------------------------------------------------------------------
  // Goals: each goal's funded ratio and chance of reaching it (GET …/goals)
  // ---------------------------------------------------------------------------------------------

  const GOAL_COLUMNS = [
    { name: "name", kind: "text" }, { name: "target", kind: "money" }, { name: "date", kind: "date" },
    { name: "accounts", kind: "text" }, { name: "monthly_contribution", kind: "money" },
    { name: "current", kind: "money" }, { name: "present_value", kind: "money" },
    { name: "funded_ratio", kind: "percent" }, { name: "probability", kind: "percent" },
  ];

  /**
   * Loads an Overview block that shows only when the household has something for it, and
   * renders it (with null when the household has nothing recorded: no ledger, a 404).
   */
  async function loadBlock(what, current, render) {
    let data = null;
    try {
      data = await queryHousehold(what, {});
    } catch (err) {
      if (!current()) return;
      if (!(err instanceof ApiError && err.status === 404)) showAppError(err);
    }
    if (current()) render(data);
  }

  /** The Overview's "Goals": shown only when the household has goals. */
  const loadGoals = (current) => loadBlock("goals", current, renderGoals);

  function renderGoals(data) {
    const goals = (data && data.goals) || [];
    $("goals").hidden = goals.length === 0;
    if (!goals.length) {
      $("goals-summary").textContent = "";
      $("goals-table").replaceChildren();
      return;
    }
    const rows = goals.map((g) => Object.assign({}, g, { accounts: (g.accounts || []).length ? g.accounts.join(", ") : "all" }));
    const on = goals.filter((g) => Number(g.funded_ratio) >= 1).length;
    $("goals-summary").textContent =
      `${on} of ${goals.length} goal${goals.length === 1 ? " is" : "s are"} fully funded at the assumed returns (as of ${data.day}).`;
    renderTable($("goals-table"), { position: data.position, as_of: data.as_of, columns: GOAL_COLUMNS, rows }, {
      rowData: ["name"],
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Estate and gifts: each donor's lifetime gifts as Form 709 folds them (GET …/estate/gifts)
  // and the estate tax if the first donor died this year (GET …/estate/tax?death_of=…)
  // ---------------------------------------------------------------------------------------------

  const ESTATE_COLUMNS = [
    { name: "donor", kind: "text" }, { name: "year", kind: "text" }, { name: "taxable_gifts", kind: "money" },
    { name: "gift_tax", kind: "money" }, { name: "exclusion_left", kind: "money" },
    { name: "gst_tax", kind: "money" }, { name: "gst_exemption_left", kind: "money" },
  ];

  /** The Overview's "Estate and gifts": shown only when a member has recorded gifts. */
  const loadEstate = (current) => loadBlock("estate/gifts", current, (data) => renderEstate(data, current));

  /** One row per donor: the totals over the years and what is left after the last one. */
  function estateRows(donors) {
    const sum = (years, key) => years.reduce((t, y) => t + Number(y[key] || 0), 0);
    return donors.filter((d) => (d.years || []).length).map((d) => {
      const last = d.years[d.years.length - 1];
      return {
        donor: d.donor, year: String(last.year), taxable_gifts: String(sum(d.years, "taxable_gifts")),
        gift_tax: String(sum(d.years, "gift_tax")), exclusion_left: last.exclusion_left,
        gst_tax: String(sum(d.years, "gst_tax")), gst_exemption_left: last.gst_exemption_left,
      };
    });
  }

  const STRATEGY_NAMES = {
    annual_gifts: "annual exclusion gifts", grat_programme: "a rolling GRAT programme",
    dynasty_trust: "a dynasty trust", charitable_lead_trust: "a charitable lead trust",
  };

  const ENTITY_COLUMNS = [
    { name: "name", kind: "text" }, { name: "kind", kind: "text" }, { name: "value", kind: "money" },
    { name: "held_by", kind: "text" }, { name: "in_estate", kind: "money" },
  ];

  /** One row per trust or business: who holds it, and what the estate tax counts of it. */
  function entityRows(entities, included) {
    const inEstate = new Map((included || []).map((i) => [i.entity, i.included]));
    return entities.map((e) => ({
      name: e.name, kind: e.kind.replace(/_/g, " "), value: e.value,
      held_by: (e.interests || []).length
        ? e.interests.map((i) => `${i.owner} ${Math.round(Number(i.share) * 1000) / 10}%`).join(", ")
        : (e.grantor || ""),
      in_estate: inEstate.has(e.name) ? inEstate.get(e.name) : "0",
    }));
  }

  async function renderEstate(data, current) {
    const rows = estateRows((data && data.donors) || []);
    let entities = [];
    try {
      entities = ((await queryHousehold("estate/entities", {})).entities) || [];
    } catch (err) {
      entities = [];
    }
    if (!current()) return;
    $("estate").hidden = rows.length === 0 && entities.length === 0;
    if (!rows.length && !entities.length) {
      $("estate-summary").textContent = "";
      $("estate-table").replaceChildren();
      $("estate-entities").replaceChildren();
      return;
    }
    if (rows.length) {
      renderTable($("estate-table"), { position: data.position, as_of: data.as_of, columns: ESTATE_COLUMNS, rows }, {
        rowData: ["donor"],
      });
    } else {
      $("estate-table").replaceChildren();
    }
    const first = rows[0];
    let sentence = first
      ? `${first.donor} has ${money(first.exclusion_left)} of the basic exclusion left after ${first.year}.`
      : "";
    let tax = null;
    try {
      tax = await queryHousehold("estate/tax", first ? { death_of: first.donor } : {});
      if (!current()) return;
      const who = first ? first.donor : (tax.decedent || "the principal");
      sentence += ` Were ${who} to die this year, the federal estate tax would be ${money(tax.net_estate_tax)}` +
        ` on a gross estate of ${money(tax.gross_estate)}`;
      if (tax.state) sentence += `, and ${tax.state.state}'s estate tax ${money(tax.state_tax)}`;
      if (Number(tax.entities_included || 0) > 0) {
        sentence += `; its trusts and businesses put ${money(tax.entities_included)} in the estate`;
      }
      sentence += ".";
    } catch (err) {
      if (!current()) return;
    }
    try {
      const plans = await queryHousehold("estate/strategies", {});
      if (!current()) return;
      const none = plans.outcomes.find((o) => o.strategy === "no_planning");
      const best = plans.outcomes.slice(1).reduce((a, b) => (Number(b.saved) > Number(a.saved) ? b : a));
      const owed = Number(none.federal_tax) + Number(none.state_tax);
      // Whose expected death ends the horizon, and by what (the ages recorded or Table 2010CM).
      const h = plans.horizon || {};
      const who = (h.members || []).join(" and ");
      const by = h.source === "given" ? "by the ages recorded" : "by Table 2010CM";
      const basis = !h.source ? ""
        : (h.members.length > 1 ? `, when the second of ${who} is expected to die ${by}`
          : `, ${who}'s expected death ${by}`);
      sentence += ` In ${plans.years} years${basis}, at ${Math.round(Number(plans.growth) * 1000) / 10}% a year it would owe` +
        ` ${money(String(owed))} in estate tax with no planning`;
      if (Number(best.saved) > 0) {
        sentence += `; ${STRATEGY_NAMES[best.strategy] || best.strategy} would leave the heirs ${money(best.saved)} more`;
      }
      sentence += ".";
    } catch (err) {
      if (!current()) return;
    }
    $("estate-summary").textContent = sentence.trim();
    if (entities.length) {
      const erows = entityRows(entities, tax && tax.entities);
      renderTable($("estate-entities"), { columns: ENTITY_COLUMNS, rows: erows }, { rowData: ["name"] });
    } else {
      $("estate-entities").replaceChildren();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Balance checks: statements' figures against the ledger (GET …/balances)
  // ---------------------------------------------------------------------------------------------

  /** The answer's assertions as a table: cash amounts in dollars, shares exact. */
  const BALANCE_COLUMNS = [
    { name: "date", kind: "date" }, { name: "account", kind: "text" }, { name: "holding", kind: "text" },
    { name: "asserted", kind: "decimal" }, { name: "actual", kind: "decimal" }, { name: "difference", kind: "decimal" },
    { name: "status", kind: "text" }, { name: "source", kind: "text" },
  ];
  const BALANCE_AMOUNTS = ["asserted", "actual", "difference"];

  /** The Overview's "Balance checks": shown only when the household has assertions. */
  const loadBalances = (current) => loadBlock("balances", current, renderBalances);

  function renderBalances(data) {
    const rows = (data && data.assertions) || [];
    const block = $("balances");
    const summary = $("balances-summary");
    block.hidden = rows.length === 0;
    if (!rows.length) {
      summary.textContent = "";
      $("balances-table").replaceChildren();
      return;
    }
    const mismatched = rows.filter((r) => r.status !== "ok");
    summary.textContent = balancesSentence(rows.length, mismatched);
    summary.classList.toggle("warn", mismatched.length > 0);
    summary.classList.toggle("ok", mismatched.length === 0);
    renderTable($("balances-table"), { position: data.position, as_of: data.as_of, columns: BALANCE_COLUMNS, rows }, {
      hide: ["tolerance"],
      rowData: ["status", "holding"],
      kindOf: (row, col, kind) => (row.holding === "cash" && BALANCE_AMOUNTS.includes(col) ? "money" : kind),
    });
    $("balances-table").querySelectorAll("tbody tr[data-status='mismatch']").forEach((tr) => tr.classList.add("mismatch"));
  }

  /** "All 3 balance checks agree with the ledger." or which do not, and by how much. */
  function balancesSentence(total, mismatched) {
    const checks = `balance check${total === 1 ? "" : "s"}`;
    if (!mismatched.length) {
      return total === 1 ? "The balance check agrees with the ledger." : `All ${total} ${checks} agree with the ledger.`;
    }
    const shown = mismatched.slice(0, 3).map(balanceGap);
    const more = mismatched.length - shown.length;
    if (more > 0) shown.push(`${more} more`);
    const verb = mismatched.length === 1 ? "does" : "do";
    return `${mismatched.length} of ${total} ${checks} ${verb} not agree with the ledger: ${shown.join("; ")}.`;
  }

  /** "brokerage cash on 2026-01-08 is $25.50 short": the ledger's count against the statement's. */
  function balanceGap(row) {
    const difference = String(row.difference || "0");
    const size = difference.replace(/^[+-]/, "");
    const cash = row.holding === "cash";
    const amount = cash ? money(size) : `${size} share${size === "1" ? "" : "s"}`;
    const way = difference.startsWith("-") ? "short" : "over";
    return `${row.account} ${row.holding} on ${row.date} is ${amount} ${way}`;
  }
  const VALUATION_COLUMNS = ["account", "symbol", "quantity", "price", "price_date", "market_value", "cost_basis", "unrealized_gain"];

  async function loadAllocation(current) {
    const holdings = loadHoldings(current);
    const portfolios = await fillTable("portfolios-table", "portfolios", {}, current, { preferred: ["name"] });
    // Allocations name their portfolio by its key: show the portfolio's name instead.
    const names = new Map(((portfolios && portfolios.rows) || []).map((p) => [p.portfolio, p.name]));
    const allocations = await fillTable("allocation-table", "allocations", {}, current, {
      show: { portfolio: true },
      values: { portfolio: (key) => names.get(key) || key },
    });
    if (current()) renderDriftChart($("drift-chart"), (allocations && allocations.rows) || [], (portfolios && portfolios.rows) || []);
    if (current()) fillRebalancePortfolios((portfolios && portfolios.rows) || []);
    await Promise.all([holdings, loadLocation(current)]);
  }

  const LOCATION_COLUMNS = [
    { name: "asset_class", kind: "text" }, { name: "taxable", kind: "money" }, { name: "traditional", kind: "money" },
    { name: "roth", kind: "money" }, { name: "suggested_taxable", kind: "money" },
    { name: "suggested_traditional", kind: "money" }, { name: "suggested_roth", kind: "money" },
  ];

  /** Asset location (GET …/tax/location): the classes by kind of account and the yearly saving. */
  async function loadLocation(current) {
    try {
      const l = await queryHousehold("tax/location", {});
      if (!current()) return;
      const left = l.unclassified.length ? ` Not counted, not yet described: ${l.unclassified.join(", ")}.` : "";
      $("location-summary").textContent =
        `Tax on the taxable accounts' yields: ${money(l.tax_now)} a year now, ${money(l.tax_suggested)} as suggested ` +
        `(${money(l.saving)} saved a year).${left}`;
      renderTable($("location-table"), { position: l.position, as_of: l.as_of, columns: LOCATION_COLUMNS, rows: l.classes });
    } catch (err) {
      if (!current()) return;
      $("location-summary").textContent = problemMessage(err);
      $("location-table").replaceChildren();
    }
  }

  /** The portfolios the rebalance form offers, by name. */
  function fillRebalancePortfolios(rows) {
    const select = $("rebalance-portfolio");
    const chosen = select.value;
    select.replaceChildren(...rows.map((p) => {
      const option = document.createElement("option");
      option.value = p.name;
      option.textContent = p.name;
      return option;
    }));
    if (rows.some((p) => p.name === chosen)) select.value = chosen;
    $("rebalance-run").disabled = rows.length === 0;
  }

  const REBALANCE_COLUMNS = [
    { name: "side", kind: "text" }, { name: "account", kind: "text" }, { name: "symbol", kind: "text" },
    { name: "quantity", kind: "decimal" }, { name: "price", kind: "money" }, { name: "amount", kind: "money" },
    { name: "lot_id", kind: "text" }, { name: "term", kind: "text" }, { name: "gain", kind: "money" },
    { name: "tax", kind: "money" }, { name: "note", kind: "text" },
  ];

  /** A rebalancing proposal (GET …/portfolios/{p}/rebalance): its trades and, in words, the tax and drift. */
  async function proposeRebalance() {
    const name = $("rebalance-portfolio").value;
    if (!name) return;
    const params = { cash: $("rebalance-cash").value || "0" };
    if ($("rebalance-short-term").checked) params.short_term = "true";
    try {
      const r = await queryHousehold(`portfolios/${encodeURIComponent(name)}/rebalance`, params);
      const trades = r.orders.length;
      const left = Object.entries(r.cash_left || {}).map(([a, c]) => `${money(c)} in ${a}`).join(", ");
      $("rebalance-summary").textContent =
        `${trades} trade${trades === 1 ? "" : "s"}, tax ${money(r.tax)} (short-term gain ${money(r.short_term_gain)}, long-term ${money(r.long_term_gain)}); ` +
        `largest drift ${r.max_drift_before} now, ${r.max_drift_after} after` +
        `${r.within ? ", every asset within its threshold" : ", still beyond the threshold"}.` +
        `${left ? ` Cash left: ${left}.` : ""}${r.notes.length ? ` ${r.notes.join(" ")}` : ""}`;
      renderTable($("rebalance-table"), { position: r.position, as_of: r.as_of, columns: REBALANCE_COLUMNS, rows: r.orders });
    } catch (err) {
      $("rebalance-summary").textContent = problemMessage(err);
      $("rebalance-table").replaceChildren();
    }
  }

  async function loadGains(current) {
    const year = gainsYear();
    await Promise.all([
      fillTable("gains-table", "gains", { year }, current, { preferred: GAIN_COLUMNS, hide: ["lot_id"], footer: gainTotals }),
      fillTable("wash-sales-table", "wash-sales", { year }, current),
      fillTable("contributions-table", "contributions", { year }, current),
      loadScheduleD(year, current),
    ]);
  }

  const SCHEDULE_D_COLUMNS = [
    { name: "line", kind: "text" }, { name: "form_box", kind: "text" }, { name: "rows", kind: "integer" },
    { name: "proceeds", kind: "money" }, { name: "cost", kind: "money" }, { name: "adjustment", kind: "money" },
    { name: "gain", kind: "money" },
  ];

  /** Schedule D of the year (GET …/tax/schedule-d): the lines by box and the nets in words. */
  async function loadScheduleD(year, current) {
    let d = null;
    try {
      d = await queryHousehold("tax/schedule-d", { year });
    } catch (err) {
      if (!current()) return;
      $("schedule-d-summary").textContent = problemMessage(err);
      $("schedule-d-table").replaceChildren();
      return;
    }
    if (!current()) return;
    const loss = d.deductible_loss ? ` The loss deductible this year is ${money(d.deductible_loss)}.` : "";
    $("schedule-d-summary").textContent =
      `Net short-term ${money(d.net_short_term)} (after ${money(d.short_term_carryover)} carried in), ` +
      `net long-term ${money(d.net_long_term)} (after ${money(d.long_term_carryover)}): ${money(d.net)} in all.${loss}`;
    renderTable($("schedule-d-table"), { position: d.position, as_of: d.as_of, columns: SCHEDULE_D_COLUMNS, rows: d.lines });
  }

  const HARVEST_COLUMNS = [
    { name: "lot_id", kind: "text" }, { name: "account", kind: "text" }, { name: "symbol", kind: "text" },
    { name: "quantity", kind: "decimal" }, { name: "acquired", kind: "text" }, { name: "basis", kind: "money" },
    { name: "value", kind: "money" }, { name: "loss", kind: "money" }, { name: "term", kind: "text" },
    { name: "tax_value", kind: "money" }, { name: "replacement", kind: "text" }, { name: "buy_back_from", kind: "text" },
    { name: "blocked", kind: "text" },
  ];

  /** The harvest's options from the form (the house thresholds when left empty). */
  function harvestOptions() {
    const minLoss = $("harvest-min-loss").value;
    return minLoss ? { min_loss: minLoss } : {};
  }

  /** Today's harvesting candidates (GET …/tax/harvest); the unblocked ones offered to harvest. */
  async function scanHarvest() {
    const select = $("harvest-lot");
    try {
      const h = await queryHousehold("tax/harvest", harvestOptions());
      const open = h.candidates.filter((c) => !c.blocked);
      $("harvest-summary").textContent =
        `${h.candidates.length} lot${h.candidates.length === 1 ? "" : "s"} at a loss; ${open.length} can be harvested today: ` +
        `${money(h.harvestable_loss)} of losses saving ${money(h.tax_value)} at the marginal rates ` +
        `(${h.short_term_rate} short-term, ${h.long_term_rate} long-term).`;
      renderTable($("harvest-table"), { position: h.position, as_of: h.as_of, columns: HARVEST_COLUMNS, rows: h.candidates });
      select.replaceChildren(...open.map((c) => {
        const o = document.createElement("option");
        o.value = c.lot_id;
        o.textContent = `${c.lot_id}: ${c.symbol} in ${c.account}, loss ${money(c.loss)}`;
        return o;
      }));
      select.disabled = $("harvest-accept").disabled = open.length === 0 || Boolean(state.asOf);
    } catch (err) {
      $("harvest-summary").textContent = problemMessage(err);
      $("harvest-table").replaceChildren();
      select.replaceChildren();
      select.disabled = $("harvest-accept").disabled = true;
    }
  }

  /** Books the chosen lot's harvest (POST …/tax/harvest), then scans again. */
  async function acceptHarvest() {
    const lot = $("harvest-lot").value;
    if (!lot) return;
    const url = `/v1/households/${encodeURIComponent(state.household)}/tax/harvest`;
    try {
      const done = await api(url, { method: "POST", body: { lot_ids: [lot], ...harvestOptions() } });
      const trades = done.orders.map((o) => `${o.side} ${o.quantity} ${o.symbol} at ${money(o.price)}`).join(", then ");
      await scanHarvest();
      $("harvest-summary").textContent = `Harvested ${lot}: ${trades} (recorded as ${done.recorded.trade_ids.join(", ")}). ` +
        $("harvest-summary").textContent;
    } catch (err) {
      $("harvest-summary").textContent = problemMessage(err);
    }
  }

  /** Harvesting back-tested on the stored closes (GET …/tax/harvest/backtest), in words. */
  async function backtestHarvest() {
    const from = $("harvest-from").value;
    const out = $("harvest-backtest-summary");
    if (!from) {
      out.textContent = "Choose the day whose lots to test.";
      return;
    }
    try {
      const b = await queryHousehold("tax/harvest/backtest", { from, ...harvestOptions() });
      const pct = (x) => `${(Number(x) * 100).toFixed(2)}%`;
      out.textContent =
        `Harvesting the ${b.lots} lot${b.lots === 1 ? "" : "s"} held on ${b.from} from ${b.start} to ${b.end} would have realized ` +
        `${money(b.harvested)} of losses in ${b.harvests} harvest${b.harvests === 1 ? "" : "s"}: ${pct(b.cumulative_yield)} of the ` +
        `starting ${money(b.starting_balance)}, ${pct(b.annualized_yield)} a year.`;
    } catch (err) {
      out.textContent = problemMessage(err);
    }
  }

  const ROTH_COLUMNS = [
    { name: "year", kind: "integer" }, { name: "age", kind: "integer" }, { name: "rmd", kind: "money" },
    { name: "conversion", kind: "money" }, { name: "taxable_income", kind: "money" }, { name: "bracket", kind: "percent" },
    { name: "tax", kind: "money" }, { name: "baseline_tax", kind: "money" }, { name: "irmaa_tier", kind: "integer" },
    { name: "penalty_free_from", kind: "integer" }, { name: "traditional", kind: "money" }, { name: "roth", kind: "money" },
  ];

  /** A Roth conversion plan (GET …/tax/roth): the summary in words, a chart and the years. */
  async function planRoth() {
    const strategy = $("roth-strategy").value;
    const params = { strategy };
    if (strategy === "bracket") params.bracket = $("roth-bracket").value;
    if ($("roth-monte-carlo").checked) params.paths = "1000";
    try {
      const r = await queryHousehold("tax/roth", params);
      const m = r.monte_carlo;
      const spread = m
        ? ` On ${m.paths} paths of returns (volatility ${m.volatility}), after-tax wealth in today's dollars has a median of ` +
          `${money(m.plan.p50)} (10th to 90th percentile ${money(m.plan.p10)} to ${money(m.plan.p90)}) against ` +
          `${money(m.baseline.p50)} converting nothing; the plan ends ahead on ${(Number(m.plan_ahead) * 100).toFixed(1)}% of them.`
        : "";
      $("roth-summary").textContent =
        `${r.method}: ${money(r.plan.converted)} converted, lifetime tax ${money(r.plan.lifetime_tax)} (converting nothing: ` +
        `${money(r.baseline.lifetime_tax)}), after-tax wealth at the end ${money(r.plan.after_tax_wealth)} against ` +
        `${money(r.baseline.after_tax_wealth)}: ${money(r.advantage)} more (${money(r.advantage_today)} in today's dollars).${spread}`;
      const rows = r.plan.years.map((y, i) => Object.assign({}, y, { baseline_tax: r.baseline.years[i].tax }));
      renderRothChart($("roth-chart"), rows);
      renderTable($("roth-table"), { position: r.position, as_of: r.as_of, columns: ROTH_COLUMNS, rows });
    } catch (err) {
      $("roth-summary").textContent = problemMessage(err);
      $("roth-table").replaceChildren();
      $("roth-chart").replaceChildren();
    }
  }

  /** Bars of each year's conversion and tax, and the tax of converting nothing as a line. */
  function renderRothChart(chart, rows) {
    chart.replaceChildren();
    const height = 220;
    const top = Math.max(1, ...rows.flatMap((r) => [fraction(r.conversion), fraction(r.tax), fraction(r.baseline_tax)]));
    const left = 60;
    const step = rows.length ? (CHART.width - left - 10) / rows.length : 0;
    const y = (v) => 10 + (1 - (fraction(v) || 0) / top) * (height - 40);
    const base = y(0);
    chart.append(svg("text", { x: 0, y: 16, class: "chart-axis" }, `$${Math.round(top).toLocaleString()}`));
    chart.append(svg("line", { x1: left, y1: base, x2: CHART.width - 10, y2: base, class: "chart-grid" }));
    const points = [];
    rows.forEach((r, i) => {
      const x = left + i * step;
      chart.append(svg("rect", { x, y: y(r.conversion), width: step * 0.45, height: base - y(r.conversion), class: "roth-conversion" }));
      chart.append(svg("rect", { x: x + step * 0.45, y: y(r.tax), width: step * 0.45, height: base - y(r.tax), class: "roth-tax" }));
      points.push(`${x + step * 0.45},${y(r.baseline_tax)}`);
      if (i % 5 === 0) chart.append(svg("text", { x, y: height - 8, class: "chart-axis" }, String(r.year)));
    });
    chart.append(svg("polyline", { points: points.join(" "), class: "roth-baseline", fill: "none" }));
    chart.setAttribute("viewBox", `0 0 ${CHART.width} ${height}`);
    chart.setAttribute("height", String(height));
  }

  const PLAN_COLUMNS = [
    { name: "year", kind: "integer" }, { name: "age", kind: "integer" }, { name: "spending", kind: "money" },
    { name: "income", kind: "money" }, { name: "rmd", kind: "money" }, { name: "from_taxable", kind: "money" },
    { name: "from_traditional", kind: "money" }, { name: "from_roth", kind: "money" }, { name: "from_hsa", kind: "money" },
    { name: "tax", kind: "money" }, { name: "irmaa", kind: "money" }, { name: "taxable", kind: "money" },
    { name: "traditional", kind: "money" }, { name: "roth", kind: "money" },
  ];

  /** The household as one Monte Carlo plan (GET …/plan): success in words, after-tax wealth's fan, medians by year. */
  async function planHousehold() {
    const params = {
      spending: String(Math.max(0, Math.round(Number($("plan-spending").value) || 0))),
      social_security: String(Math.max(0, Math.round(Number($("plan-social-security").value) || 0))),
      order: $("plan-order").value,
    };
    if ($("plan-order").value === "bracket") params.bracket = "0.12";
    const age = $("plan-retirement-age").value;
    if (age !== "") params.retirement_age = String(Math.round(Number(age)));
    try {
      const r = await queryHousehold("plan", params);
      const end = r.terminal_after_tax;
      $("plan-summary").textContent =
        `Every year's spending is paid on ${(r.success_probability * 100).toFixed(1)}% of ${r.paths} paths, ` +
        `starting from ${money(r.starting_wealth)} in the household's accounts. After-tax wealth after ${r.years} years ` +
        `(today's money): median ${money(end[2])}, 5th to 95th percentile ${money(end[0])} to ${money(end[4])}; ` +
        `lifetime tax (today's money) median ${money(r.lifetime_tax[2])}.` +
        (r.notes.length ? ` ${r.notes.join(" ")}` : "");
      renderFan($("plan-chart"), r.after_tax_bands);
      renderTable($("plan-table"), { position: r.position, as_of: r.as_of, columns: PLAN_COLUMNS, rows: r.median_years });
    } catch (err) {
      $("plan-summary").textContent = problemMessage(err);
      $("plan-table").replaceChildren();
      $("plan-chart").replaceChildren();
    }
  }

  /** Percentile bands by year as a fan: 5-95% and 25-75% areas and the median line. */
  function renderFan(chart, bands) {
    chart.replaceChildren();
    const height = 220;
    const left = 60;
    const top = Math.max(1, ...bands.map((b) => b.wealth[4]));
    const x = (i) => left + (bands.length > 1 ? (i / (bands.length - 1)) * (CHART.width - left - 10) : 0);
    const y = (v) => 10 + (1 - v / top) * (height - 40);
    const line = (k) => bands.map((b, i) => `${x(i)},${y(b.wealth[k])}`);
    const area = (lo, hi) => line(hi).concat(line(lo).reverse()).join(" ");
    chart.append(svg("text", { x: 0, y: 16, class: "chart-axis" }, `$${Math.round(top).toLocaleString()}`));
    chart.append(svg("line", { x1: left, y1: y(0), x2: CHART.width - 10, y2: y(0), class: "chart-grid" }));
    chart.append(svg("polygon", { points: area(0, 4), class: "fan-outer" }));
    chart.append(svg("polygon", { points: area(1, 3), class: "fan-inner" }));
    chart.append(svg("polyline", { points: line(2).join(" "), class: "fan-median", fill: "none" }));
    bands.forEach((b, i) => {
      if (i % 10 === 0) chart.append(svg("text", { x: x(i), y: height - 8, class: "chart-axis" }, `year ${b.year}`));
    });
    chart.setAttribute("viewBox", `0 0 ${CHART.width} ${height}`);
    chart.setAttribute("height", String(height));
  }

  /** The year's Form 8949 rows as a TXF file (GET …/reports/gains?format=txf), saved by the browser. */
  async function downloadTxf() {
    const year = gainsYear();
    try {
      const res = await api(householdUrl("reports/gains", { year, format: "txf" }), { raw: true, headers: { Accept: "text/plain" } });
      const blob = new Blob([await res.text()], { type: "text/plain" });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `${state.household}-${year}.txf`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 0);
    } catch (err) {
      showAppError(err);
    }
  }

  /** Form 8949's order: what was sold, when, proceeds, basis, adjustment, gain or loss. */
  const GAIN_COLUMNS = ["symbol", "quantity", "account", "date_acquired", "date_sold", "proceeds", "cost_basis",
    "adjustment_code", "adjustment_amount", "gain_loss", "term", "reportable"];
  const TOTAL_COLUMNS = ["proceeds", "cost_basis", "adjustment_amount", "gain_loss"];

  /** The gains answer's totals (reportable sales) as footer rows: one per term. */
  function gainTotals(data) {
    const totals = (data && data.totals) || {};
    return [["short", "Short-term total"], ["long", "Long-term total"]].map(([term, label]) => ({
      label,
      term,
      values: Object.fromEntries(TOTAL_COLUMNS.map((c) => [c, totals[term] ? totals[term][c] : null])),
    }));
  }
  function gainsYear() {
    const input = $("gains-year");
    const year = Number.parseInt(input.value, 10);
    if (Number.isInteger(year) && year > 1000) return year;
    input.value = String(new Date().getFullYear());
    return Number(input.value);
  }

  async function loadAudit(current) {
    await fillTable("audit-table", "events", {
      from: localInputToUtc($("audit-from").value),
      to: localInputToUtc($("audit-to").value),
    }, current);
  }

  async function loadSecurity(current) {
    try {
      const me = await api("/v1/me");
      if (!current()) return;
      $("me-name").textContent = me.name || "—";
      $("me-user-id").textContent = me.user_id || "";
      $("mfa-status").textContent = me.mfa_enabled ? "Enabled" : "Not enabled";
      $("kyc-status").textContent = me.kyc_status || "—";
      $("mfa-setup-start").textContent = me.mfa_enabled ? "Reset two-factor authentication" : "Set up two-factor authentication";
    } catch (err) {
      if (current()) showAppError(err);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Tables
  // ---------------------------------------------------------------------------------------------

  const NUMERIC = /^[+-]?\d+(\.\d+)?$/;

  /** Columns the page does not show: household keys and slugs, sequence numbers, log positions. */
  const HIDDEN = ["household", "portfolio", "seq", "position", "price_position", "sale_id"];

  /** Headings where the column's name would read badly. */
  const TITLES = {
    gain_loss: "Gain/loss",
    adjustment_code: "Code",
    adjustment_amount: "Adjustment",
    date_acquired: "Acquired",
    date_sold: "Sold",
    wash_adjustment: "Wash-sale adjustment",
    limit_amount: "Limit",
    unpriced_positions: "Unpriced",
    holding_period_days: "Holding days",
    first_acquired: "First acquired",
    time_weighted: "Time-weighted",
    money_weighted: "Money-weighted",
    benchmark_return: "Benchmark",
  };

  /**
   * Amounts: US dollars, thousands separated, two decimals ("$1,234.57", "-$200.00"); while a
   * section reporting in the household's base currency renders (`inCurrency`), that currency
   * ("€1,234.57").
   */
  let shownCurrency = "USD";
  const formats = new Map();
  function currencyFormat(options = {}) {
    const key = `${shownCurrency} ${JSON.stringify(options)}`;
    if (!formats.has(key)) formats.set(key, new Intl.NumberFormat("en-US", Object.assign({ style: "currency", currency: shownCurrency }, options)));
    return formats.get(key);
  }
  /** An amount as text (strings are formatted exactly, as decimals, by Intl.NumberFormat). */
  const money = (text) => currencyFormat().format(text);
  /** Runs `render` with amounts shown in `currency` (an ISO 4217 code; US dollars when absent). */
  function inCurrency(currency, render) {
    const before = shownCurrency;
    shownCurrency = /^[A-Z]{3}$/.test(currency || "") ? currency : "USD";
    try {
      return render();
    } finally {
      shownCurrency = before;
    }
  }

  /** The columns of `data` to show, in the server's order, with `preferred` ones (that exist) first. */
  function columnsOf(data, { preferred = [], hide = [], show = {} } = {}) {
    const rows = data.rows || [];
    const seen = (data.columns || []).map((c) => c.name);
    for (const row of rows) for (const k of Object.keys(row)) if (!seen.includes(k)) seen.push(k);
    const shown = seen.filter((k) => show[k] || (!HIDDEN.includes(k) && !hide.includes(k)));
    const first = preferred.filter((k) => shown.includes(k));
    return first.concat(shown.filter((k) => !first.includes(k)));
  }

  /** column → kind ("money", "flag", "decimal", …) from the answer's `columns`. */
  const kindsOf = (data) => new Map(((data && data.columns) || []).map((c) => [c.name, c.kind]));

  /** "account_type" → "Account type". */
  const columnTitle = (key) => TITLES[key] || capitalize(key.replace(/_/g, " "));

  /** The caption: the table's title and the log position the data reflects. */
  function renderCaption(table, data) {
    const caption = document.createElement("caption");
    const title = document.createElement("span");
    title.className = "caption-title";
    title.textContent = table.dataset.caption || "";
    caption.append(title);
    if (data && data.position !== undefined && data.position !== null) {
      const pos = document.createElement("span");
      pos.className = "position";
      pos.textContent = `as of position ${data.position}` + (data.as_of ? ` (${data.as_of})` : "");
      caption.append(" ", pos);
    }
    return caption;
  }

  /**
   * Renders `data.rows` into `table` (replacing what was there). options: preferred (columns
   * first), hide (more columns not to show), show (hidden ones to show after all), values
   * (column → function mapping a value before it is shown), footer (data → rows of
   * { label, values } under the table), rowData (columns copied to each row's data-* attributes),
   * kindOf ((row, column, kind) → the kind to render that cell as, for a column whose kind varies).
   */
  function renderTable(table, data, options = {}) {
    const rows = (data && data.rows) || [];
    const known = rows.length || (data && data.columns && data.columns.length);
    const columns = known ? columnsOf(data, options) : (table.dataset.columns || "").split(",").filter(Boolean);
    if (known) table.dataset.columns = columns.join(",");
    const kinds = kindsOf(data);
    const values = options.values || {};

    const thead = document.createElement("thead");
    const headRow = thead.insertRow();
    for (const col of columns) {
      const th = document.createElement("th");
      th.scope = "col";
      th.dataset.column = col;
      th.textContent = columnTitle(col);
      if (["money", "decimal", "integer", "percent"].includes(kinds.get(col))) th.classList.add("num");
      headRow.append(th);
    }

    const tbody = document.createElement("tbody");
    if (!rows.length) {
      appendMessageRow(tbody, "No rows", Math.max(columns.length, 1), "empty");
    }
    for (const row of rows) {
      const tr = tbody.insertRow();
      for (const key of options.rowData || []) tr.dataset[key] = String(row[key]);
      for (const col of columns) {
        const value = values[col] && row[col] !== null && row[col] !== undefined ? values[col](row[col]) : row[col];
        const kind = options.kindOf ? options.kindOf(row, col, kinds.get(col)) : kinds.get(col);
        tr.append(renderCell(col, value, kind));
      }
    }
    const parts = [renderCaption(table, data), thead, tbody];
    if (options.footer && rows.length) parts.push(renderFooter(columns, options.footer(data)));
    table.replaceChildren(...parts);
  }

  /** Footer rows: the label over the columns before the first value, then the values (amounts). */
  function renderFooter(columns, footRows) {
    const tfoot = document.createElement("tfoot");
    for (const { label, term, values } of footRows) {
      const tr = tfoot.insertRow();
      if (term) tr.dataset.term = term;
      const first = columns.findIndex((c) => c in values);
      const th = document.createElement("th");
      th.scope = "row";
      th.colSpan = Math.max(first, 1);
      th.textContent = label;
      tr.append(th);
      for (const col of columns.slice(Math.max(first, 1))) {
        tr.append(col in values ? renderCell(col, values[col], "money") : document.createElement("td"));
      }
    }
    return tfoot;
  }

  function renderCell(column, value, kind) {
    const td = document.createElement("td");
    td.dataset.column = column;
    if (value === null || value === undefined) {
      td.classList.add("null");
      if (["money", "percent", "decimal", "integer"].includes(kind)) td.classList.add("num");
      return td;
    }
    const text = typeof value === "object" ? JSON.stringify(value) : String(value);
    if (kind === "flag") {
      td.textContent = flag(text) ? "yes" : "no";
      td.classList.add("flag");
    } else if ((kind === "money" || kind === "percent") && NUMERIC.test(text)) {
      td.textContent = kind === "money" ? money(text) : percentOf(text);
      td.classList.add("num");
      if (text.startsWith("-") && /[1-9]/.test(text)) td.classList.add("neg");
    } else {
      td.textContent = text;
      if (NUMERIC.test(text) && kind !== "text") {
        td.classList.add("num");
        if (text.startsWith("-") && /[1-9]/.test(text)) td.classList.add("neg");
      } else if (/(^|_)id$/.test(column)) {
        td.classList.add("id");
      }
    }
    return td;
  }

  function appendMessageRow(tbody, text, colspan, className) {
    const tr = tbody.insertRow();
    const td = document.createElement("td");
    td.colSpan = colspan;
    td.className = className;
    td.textContent = text;
    tr.append(td);
  }

  /** Shows a load error in place of the table's rows. */
  function renderTableError(table, err) {
    const columns = (table.dataset.columns || "").split(",").filter(Boolean);
    const thead = document.createElement("thead");
    const tbody = document.createElement("tbody");
    appendMessageRow(tbody, `Could not load: ${problemMessage(err)}`, Math.max(columns.length, 1), "error-cell");
    table.replaceChildren(renderCaption(table, null), thead, tbody);
  }

  // ---------------------------------------------------------------------------------------------
  // The household's total (computed by the server: GET …/value)
  // ---------------------------------------------------------------------------------------------

  /**
   * #total-value: the server's total (positions at market value plus cash, data-value holds
   * it); the note says what it contains. The page does no arithmetic on amounts.
   */
  function renderTotal(value) {
    const out = $("total-value");
    const note = $("total-value-note");
    if (!value) {
      out.textContent = "—";
      delete out.dataset.value;
      note.textContent = "";
      return;
    }
    out.textContent = money(value.total);
    out.dataset.value = value.total;
    const unpriced = value.unpriced;
    note.textContent = `positions at market value ${money(value.positions)} + cash ${money(value.cash)}` +
      (unpriced ? ` (${unpriced} position${unpriced === 1 ? "" : "s"} without a price, not counted)` : "");
  }

  // ---------------------------------------------------------------------------------------------
  // Drift chart (SVG)
  // ---------------------------------------------------------------------------------------------

  function svg(name, attrs = {}, text) {
    const el = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  const fraction = (v) => {
    const n = Number.parseFloat(v);
    return Number.isFinite(n) ? n : null;
  };
  /** A read model's flag ("1"/"0", or true/false). */
  const flag = (v) => v === true || v === "1" || v === "true";
  const percent = (f, digits = 1) => `${(f * 100).toFixed(digits)}%`;
  const signedPoints = (f) => `${f > 0 ? "+" : f < 0 ? "−" : "±"}${Math.abs(f * 100).toFixed(1)} pp`;

  const CHART = { width: 760, label: 150, bars: 470, bar: 11, gap: 3, rowGap: 12, heading: 26, axis: 34 };

  /**
   * Draws one band per portfolio and one group per asset in it: the actual weight bar, the
   * target bar and the drift, in red when the asset is beyond the portfolio's drift threshold
   * (its `beyond_threshold`, as the server decides it); the heading says whether the portfolio
   * needs rebalancing.
   */
  function renderDriftChart(chart, allocations, portfolios) {
    chart.replaceChildren();
    const byPortfolio = new Map();
    for (const row of allocations) {
      if (!byPortfolio.has(row.portfolio)) byPortfolio.set(row.portfolio, []);
      byPortfolio.get(row.portfolio).push(row);
    }
    const info = new Map(portfolios.map((p) => [p.portfolio, p]));

    if (!byPortfolio.size) {
      chart.append(svg("text", { x: 0, y: 24, class: "chart-empty" }, "No allocations"));
      setChartSize(chart, 40);
      return;
    }

    const max = chartMax(allocations);
    const x = (f) => CHART.label + (Math.min(max, Math.max(0, f)) / max) * CHART.bars;
    let y = drawLegendAndAxis(chart, max, x);
    const axisTop = y;

    for (const [id, rows] of byPortfolio) {
      const p = info.get(id) || {};
      const threshold = fraction(p.drift_threshold);
      const verdict = flag(p.needs_rebalancing) ? " — needs rebalancing" : "";
      const title = (p.name || `Portfolio ${id}`) + (threshold === null ? "" : ` — drift threshold ${percent(threshold)}`) + verdict;
      chart.append(svg("text", { x: 0, y: y + 16, class: "chart-portfolio" }, title));
      y += CHART.heading;
      for (const row of rows) {
        chart.append(drawAsset(row, y, x));
        y += CHART.bar * 2 + CHART.gap + CHART.rowGap;
      }
    }
    drawGrid(chart, max, x, axisTop, y);
    setChartSize(chart, y + 4);
  }

  /** The scale's right end: the largest weight or target, rounded up to a whole tick. */
  function chartMax(rows) {
    let max = 0;
    for (const r of rows) max = Math.max(max, fraction(r.weight) || 0, fraction(r.target) || 0);
    const step = tickStep(max);
    return Math.min(1, Math.max(step, Math.ceil(max / step - 1e-9) * step));
  }

  /** Grid spacing: 5 % for small weights, 10 % up to a half, else 20 %. */
  const tickStep = (max) => (max > 0.5 ? 0.2 : max > 0.2 ? 0.1 : 0.05);

  function drawLegendAndAxis(chart, max, x) {
    const legend = svg("g", { class: "chart-legend" });
    legend.append(
      svg("rect", { x: CHART.label, y: 2, width: 12, height: 10, class: "bar-actual" }),
      svg("text", { x: CHART.label + 16, y: 11 }, "Actual weight"),
      svg("rect", { x: CHART.label + 130, y: 2, width: 12, height: 10, class: "bar-target" }),
      svg("text", { x: CHART.label + 146, y: 11 }, "Target"),
    );
    chart.append(legend);
    const step = tickStep(max);
    for (let f = 0; f <= max + 1e-9; f += step) {
      chart.append(svg("text", { x: x(f), y: CHART.axis - 6, class: "chart-tick", "text-anchor": "middle" }, percent(f, 0)));
    }
    return CHART.axis;
  }

  function drawGrid(chart, max, x, top, bottom) {
    const grid = svg("g", { class: "chart-grid" });
    const step = tickStep(max);
    for (let f = 0; f <= max + 1e-9; f += step) {
      grid.append(svg("line", { x1: x(f), x2: x(f), y1: top, y2: bottom }));
    }
    chart.insertBefore(grid, chart.firstChild);
  }

  function drawAsset(row, y, x) {
    const weight = fraction(row.weight);
    const target = fraction(row.target);
    const drift = fraction(row.drift);
    const over = flag(row.beyond_threshold);

    const g = svg("g", { class: `chart-asset${over ? " over" : ""}`, "data-asset": row.asset });
    g.append(svg("title", {}, `${row.asset}: actual ${weight === null ? "unpriced" : percent(weight)}, ` +
      `target ${target === null ? "none" : percent(target)}` + (drift === null ? "" : `, drift ${signedPoints(drift)}`)));
    const mid = y + CHART.bar + CHART.gap / 2;
    g.append(svg("text", { x: CHART.label - 8, y: mid + 4, "text-anchor": "end", class: "chart-label" }, row.asset));
    g.append(svg("rect", { x: CHART.label, y, width: Math.max(0, x(weight || 0) - CHART.label), height: CHART.bar, class: "bar-actual" }));
    g.append(svg("rect", { x: CHART.label, y: y + CHART.bar + CHART.gap, width: Math.max(0, x(target || 0) - CHART.label), height: CHART.bar, class: "bar-target" }));
    const right = Math.max(x(weight || 0), x(target || 0)) + 6;
    const values = `${weight === null ? "unpriced" : percent(weight)} / ${target === null ? "—" : percent(target)}`;
    g.append(svg("text", { x: right, y: y + CHART.bar - 2, class: "chart-value" }, values));
    if (drift !== null) {
      g.append(svg("text", { x: right, y: y + 2 * CHART.bar + CHART.gap - 1, class: "chart-drift" }, `drift ${signedPoints(drift)}`));
    }
    return g;
  }

  function setChartSize(chart, height) {
    chart.setAttribute("viewBox", `0 0 ${CHART.width} ${height}`);
    chart.setAttribute("width", String(CHART.width));
    chart.setAttribute("height", String(height));
  }

  // ---------------------------------------------------------------------------------------------
  // Holdings: the consolidated holdings table and the pies by asset class, sector and region
  // (GET …/holdings; the server computes every amount and weight)
  // ---------------------------------------------------------------------------------------------

  /** Asset classes as the security master names them (snake_case), in words. */
  const ASSET_CLASSES = {
    equity: "Equity",
    fixed_income: "Fixed income",
    cash: "Cash",
    real_estate: "Real estate",
    commodity: "Commodity",
    alternative: "Alternative",
    multi_asset: "Multi-asset",
    unclassified: "Unclassified",
  };
  const assetClassName = (name) => ASSET_CLASSES[name] || capitalize(String(name).replace(/_/g, " "));
  /** Sectors and regions are the security master's own words; only the filler is ours. */
  const sliceName = (name) => (name === "unclassified" ? "Unclassified" : name);

  const HOLDING_COLUMNS = [
    ["symbol", "text"], ["name", "text"], ["asset_class", "text"], ["sector", "text"], ["region", "text"],
    ["quantity", "decimal"], ["market_value", "money"], ["weight", "percent"], ["accounts", "text"],
  ];
  const PIES = [
    ["by_asset_class", "asset-class", "asset class", assetClassName],
    ["by_sector", "sector", "sector", sliceName],
    ["by_region", "region", "region", sliceName],
  ];
  const PIE_COLORS = 10; // .slice-0 … .slice-9 in app.css

  async function loadHoldings(current) {
    try {
      const data = await queryHousehold("holdings", {});
      if (current()) renderHoldings(data);
    } catch (err) {
      if (!current()) return;
      clearHoldings();
      if (err instanceof ApiError && err.status === 404) {
        // Nothing recorded in the household yet.
        renderTable($("holdings-table"), { rows: [] });
        for (const [, id, what] of PIES) renderPie($(`${id}-pie`), $(`${id}-legend`), [], what, assetClassName, null);
        return;
      }
      renderTableError($("holdings-table"), err);
      showAppError(err);
    }
  }

  function clearHoldings() {
    $("holdings-table").replaceChildren();
    for (const [, id] of PIES) {
      $(`${id}-pie`).replaceChildren();
      $(`${id}-legend`).replaceChildren();
    }
    $("holdings-unpriced").textContent = "";
    $("holdings-unclassified").replaceChildren();
    $("holdings-unclassified").hidden = true;
  }

  function renderHoldings(data) {
    const table = $("holdings-table");
    // A household reporting in another currency sees each value in it too, beside the dollars.
    const foreign = Boolean(data.currency && data.currency !== "USD");
    const columns = HOLDING_COLUMNS.slice();
    if (foreign) columns.splice(7, 0, ["market_value_base", "text"]);
    renderTable(table, {
      position: data.position,
      as_of: data.as_of,
      columns: columns.map(([name, kind]) => ({ name, kind })),
      rows: (data.holdings || []).map((h) => {
        const row = Object.assign({}, h, { accounts: (h.accounts || []).join(", ") });
        if (!foreign) delete row.market_value_base;
        return row;
      }),
    }, {
      values: {
        asset_class: assetClassName, sector: sliceName, region: sliceName,
        market_value_base: (v) => inCurrency(data.currency, () => money(v)),
      },
      rowData: ["symbol"],
      footer: () => [
        { label: "Cash", term: "cash", values: { market_value: data.cash } },
        { label: "Total", term: "total", values: { market_value: data.total } },
      ],
    });
    for (const [key, id, what, label] of PIES) {
      renderPie($(`${id}-pie`), $(`${id}-legend`), data[key] || [], what, label, data.total);
    }
    const baseHeading = table.querySelector("thead th[data-column='market_value_base']");
    if (baseHeading) baseHeading.textContent = `Value in ${data.currency}`;
    renderBaseTotal(data);
    const unpriced = Number(data.unpriced) || 0;
    $("holdings-unpriced").textContent = unpriced
      ? `${unpriced} holding${unpriced === 1 ? " has" : "s have"} no price: not counted in the total, the weights or the pies.`
      : "";
    renderUnclassifiedNote(data);
  }

  /**
   * For a household reporting in another currency: the total in it, at the rate used ("In EUR:
   * €10,800.00, at 1.1 US dollars per EUR on March 5, 2025."), or why there is none.
   */
  function renderBaseTotal(data) {
    const note = $("holdings-base");
    const foreign = data.currency && data.currency !== "USD";
    note.hidden = !foreign;
    if (!foreign) {
      note.textContent = "";
      return;
    }
    note.textContent = data.total_base
      ? `In ${data.currency}: ${inCurrency(data.currency, () => money(data.total_base))}, at ${data.usd_per_unit} US dollars per ${data.currency} on ${longDate(data.rate_date)}.`
      : `The household reports in ${data.currency}, but no ${data.currency}.USD rate is recorded: import one with cairn market rates.`;
  }

  /** Says which symbols the security master does not describe, and how to describe them. */
  function renderUnclassifiedNote(data) {
    const note = $("holdings-unclassified");
    const count = Number(data.unclassified) || 0;
    note.hidden = count === 0;
    if (!count) {
      note.replaceChildren();
      return;
    }
    const symbols = (data.holdings || []).filter((h) => h.asset_class === "unclassified").map((h) => h.symbol);
    const code = (text) => {
      const el = document.createElement("code");
      el.textContent = text;
      return el;
    };
    const p = document.createElement("p");
    p.append(
      `${count === 1 ? "One holding is" : `${count} holdings are`} not described in the security master` +
        (symbols.length ? ` (${symbols.join(", ")})` : "") + ", so " + (count === 1 ? "it is" : "they are") +
        ` counted as unclassified. To classify ${count === 1 ? "it" : "them"}, run `,
      code("cairn market securities FILE"),
      " with a CSV of the columns ",
      code("symbol,name,asset_class,sector,region"),
      " (asset class equity, fixed_income, cash, real_estate, commodity, alternative or multi_asset).",
    );
    note.replaceChildren(p);
  }

  /** The colour class of a slice: cash and the unclassified have their own, the rest in turn. */
  function sliceClass(name, index) {
    if (name === "cash" || name === "Cash") return "slice-cash";
    if (name === "unclassified") return "slice-unclassified";
    return `slice-${index % PIE_COLORS}`;
  }

  /**
   * A donut of `slices` ({ name, value, weight }, largest first, as the server sent them) in
   * `chart`, and its legend (name, percent, dollars) in `legend`. Angles come from the weights;
   * a slice below zero (an overdrawn cash balance) is listed but not drawn.
   */
  function renderPie(chart, legend, slices, what, label, total) {
    const title = `Holdings by ${what}`;
    const size = 180;
    const c = size / 2;
    const outer = 86;
    const inner = 52;
    const r = (n) => n.toFixed(2);
    chart.replaceChildren(svg("title", {}, title));
    legend.replaceChildren();
    const drawn = slices.filter((s) => (fraction(s.weight) || 0) > 0);
    const sum = drawn.reduce((a, s) => a + fraction(s.weight), 0);
    if (!drawn.length) {
      chart.append(
        svg("circle", { cx: c, cy: c, r: (outer + inner) / 2, class: "pie-empty" }),
        svg("text", { x: c, y: c + 4, "text-anchor": "middle", class: "pie-note" }, "Nothing held"),
      );
      chart.setAttribute("aria-label", `${title}: nothing held`);
      return;
    }
    const point = (radius, turn) => {
      const a = turn * 2 * Math.PI;
      return `${r(c + radius * Math.sin(a))},${r(c - radius * Math.cos(a))}`;
    };
    let start = 0;
    slices.forEach((s, i) => {
      const name = label(s.name);
      const cls = sliceClass(s.name, i);
      const share = fraction(s.weight);
      const text = `${name}: ${s.weight === null || s.weight === undefined ? "no weight" : percentOf(s.weight)}, ${money(s.value)}`;
      if (share > 0) {
        const turn = share / sum;
        let d;
        if (turn >= 0.999999) {
          // The whole ring: two half circles outside, two inside (even-odd leaves the hole).
          d = `M${point(outer, 0)}A${outer},${outer} 0 1 1 ${point(outer, 0.5)}A${outer},${outer} 0 1 1 ${point(outer, 0)}Z` +
            `M${point(inner, 0)}A${inner},${inner} 0 1 0 ${point(inner, 0.5)}A${inner},${inner} 0 1 0 ${point(inner, 0)}Z`;
        } else {
          const end = start + turn;
          const large = turn > 0.5 ? 1 : 0;
          d = `M${point(outer, start)}A${outer},${outer} 0 ${large} 1 ${point(outer, end)}` +
            `L${point(inner, end)}A${inner},${inner} 0 ${large} 0 ${point(inner, start)}Z`;
        }
        const path = svg("path", { d, class: `slice ${cls}`, "data-name": s.name, "fill-rule": "evenodd" });
        path.append(svg("title", {}, text));
        chart.append(path);
        start += turn;
      }
      const li = document.createElement("li");
      li.dataset.name = s.name;
      const swatch = document.createElement("span");
      swatch.className = `swatch ${cls}`;
      swatch.setAttribute("aria-hidden", "true");
      const nameEl = document.createElement("span");
      nameEl.className = "legend-name";
      nameEl.textContent = name;
      const pct = document.createElement("span");
      pct.className = "legend-percent";
      pct.textContent = s.weight === null || s.weight === undefined ? "—" : percentOf(s.weight);
      const dollars = document.createElement("span");
      dollars.className = "legend-value";
      dollars.textContent = money(s.value);
      li.append(swatch, nameEl, " ", pct, " ", dollars);
      if (!(share > 0)) li.classList.add("not-drawn");
      legend.append(li);
    });
    if (total !== null && total !== undefined) {
      chart.append(
        svg("text", { x: c, y: c - 3, "text-anchor": "middle", class: "pie-total" }, money(total)),
        svg("text", { x: c, y: c + 14, "text-anchor": "middle", class: "pie-note" }, "total"),
      );
    }
    chart.setAttribute("aria-label", `${title}` + (total ? ` (total ${money(total)})` : "") + ": " +
      slices.map((s) => `${label(s.name)} ${s.weight ? percentOf(s.weight) : "—"} (${money(s.value)})`).join("; "));
  }

  // ---------------------------------------------------------------------------------------------
  // Performance: a summary in words, value against contributions, growth against a benchmark,
  // returns per period and income per month (GET …/performance and …/income)
  // ---------------------------------------------------------------------------------------------

  const PERIOD_NAMES = {
    mtd: "Month to date",
    qtd: "Quarter to date",
    ytd: "Year to date",
    "1y": "1 year",
    "3y": "3 years",
    "5y": "5 years",
    inception: "Since inception",
    custom: "Custom",
  };
  const RETURN_COLUMNS = ["period", "start", "end", "time_weighted", "annualized", "money_weighted", "gain", "income", "fees"];
  const RETURN_KINDS = {
    period: "text", start: "date", end: "date", time_weighted: "percent", annualized: "percent",
    money_weighted: "percent", gain: "money", income: "money", fees: "money", benchmark_return: "percent", excess: "percent",
  };

  /**
   * Loads the section. `benchmark` is the one to show (the one shown so far unless the form
   * asks for another); when the server refuses one the form asked for (422), the refusal is
   * shown beside the form and the figures of the last benchmark it took stay on the page.
   */
  async function loadPerformance(current, { benchmark = state.benchmark, tried = false } = {}) {
    const [perf, income] = await Promise.allSettled([
      queryHousehold("performance", Object.assign({ by: "asset_class" }, benchmark ? { benchmark } : {})),
      queryHousehold("income", { by: "month" }),
    ]);
    if (!current()) return;
    if (perf.status === "rejected") {
      const err = perf.reason;
      if (err instanceof ApiError && err.status === 422 && (tried || err.problem.field === "benchmark")) {
        showBenchmarkError(err);
        return;
      }
      clearPerformance();
      if (err instanceof ApiError && err.status === 404) {
        // Nothing recorded in the household yet: no ledger to measure.
        renderPerformanceSummary({ series: [] }, null);
        renderChartMessage($("value-chart"), "No history yet");
        renderChartMessage($("income-chart"), "No dividends or interest yet");
        renderTable($("returns-table"), { rows: [] });
        return;
      }
      renderTableError($("returns-table"), err);
      showAppError(err);
      return;
    }
    state.benchmark = benchmark;
    if (tried) showBenchmarkError(null);
    const incomeAnswer = income.status === "fulfilled" ? income.value : null;
    renderPerformance(perf.value, incomeAnswer);
    if (!incomeAnswer) {
      renderChartMessage($("income-chart"), `Could not load: ${problemMessage(income.reason)}`);
      showAppError(income.reason);
    }
  }

  async function onBenchmarkSubmit(event) {
    event.preventDefault();
    if (!state.household || !state.accessToken) return;
    const seq = ++state.loadSeq;
    clearAppError();
    const button = $("performance-load");
    button.disabled = true;
    try {
      await loadPerformance(() => seq === state.loadSeq, { benchmark: $("performance-benchmark").value.trim(), tried: true });
    } finally {
      button.disabled = false;
    }
  }

  /** The refusal of a benchmark beside the form (null takes it away). */
  function showBenchmarkError(err) {
    const input = $("performance-benchmark");
    let text = "";
    if (err) {
      const p = err.problem || {};
      const detail = p.field && typeof p.detail === "string" && p.detail.startsWith(`${p.field}: `)
        ? p.detail.slice(p.field.length + 2) : problemMessage(err);
      text = `The benchmark was not applied: ${detail}`;
    }
    $("performance-error").textContent = text;
    if (err) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  function clearPerformance() {
    for (const id of ["performance-summary", "performance-note", "performance-error"]) $(id).textContent = "";
    delete $("performance-summary").dataset.value;
    $("performance-benchmark").removeAttribute("aria-invalid");
    for (const id of ["value-chart", "growth-chart", "income-chart"]) $(id).replaceChildren();
    $("growth-figure").hidden = true;
    $("returns-table").replaceChildren();
    $("class-returns-table").replaceChildren();
  }

  function renderPerformance(perf, income) {
    inCurrency(perf.currency, () => renderPerformanceIn(perf, income));
  }

  /** The section's figures, in the currency the answer is in. */
  function renderPerformanceIn(perf, income) {
    renderPerformanceSummary(perf, income);
    const series = perf.series || [];
    renderValueChart($("value-chart"), series);
    renderGrowthChart(perf);
    renderReturns($("returns-table"), perf);
    renderClassReturns($("class-returns-table"), perf);
    if (income) renderIncomeChart($("income-chart"), income, perf);
  }

  /**
   * "Your accounts are worth $15,906.30. This year they returned 7.46% after fees. They paid
   * $42.50 in dividends and interest over the last twelve months." From the answers as they
   * are: the last day's value, the year to date's time-weighted return, the income of the
   * trailing twelve months.
   */
  function renderPerformanceSummary(perf, income) {
    const out = $("performance-summary");
    const note = $("performance-note");
    const series = perf.series || [];
    if (!series.length) {
      out.textContent = "There is no history to measure yet: the household has no transactions.";
      delete out.dataset.value;
      note.textContent = "";
      return;
    }
    const last = series[series.length - 1];
    const one = (perf.accounts || []).length === 1;
    const [they, They] = one ? ["it", "It"] : ["they", "They"];
    const sentences = [`Your ${one ? "account is" : "accounts are"} worth ${money(last.value)}.`];
    const ytd = (perf.periods || []).find((p) => p.period === "ytd");
    if (ytd && NUMERIC.test(ytd.time_weighted)) {
      const when = ytd.start.endsWith("-01-01") ? "This year" : `Since ${longDate(ytd.start)},`;
      const lost = ytd.time_weighted.startsWith("-") && /[1-9]/.test(ytd.time_weighted);
      sentences.push(`${when} ${they} ${lost ? "lost" : "returned"} ${percentOf(ytd.time_weighted.replace(/^-/, ""))} after fees.`);
    }
    if (income) {
      sentences.push(`${They} paid ${money(income.trailing_twelve_months)} in dividends and interest over the last twelve months.`);
    }
    out.textContent = sentences.join(" ");
    out.dataset.value = last.value;
    const unpriced = Number(perf.unpriced) || 0;
    note.textContent = unpriced
      ? `Up to ${unpriced} position${unpriced === 1 ? "" : "s"} had no price on some days and ${unpriced === 1 ? "is" : "are"} counted at nothing on those days.`
      : "";
  }

  function renderReturns(table, perf) {
    const columns = RETURN_COLUMNS.concat(perf.benchmark ? ["benchmark_return", "excess"] : []);
    table.dataset.caption = perf.benchmark ? `Returns by period, against ${perf.benchmark}` : "Returns by period";
    const data = {
      position: perf.position,
      as_of: perf.as_of,
      columns: columns.map((name) => ({ name, kind: RETURN_KINDS[name] })),
      rows: (perf.periods || []).map((p) => Object.fromEntries(columns.map((c) => [c, p[c]]))),
    };
    renderTable(table, data, { values: { period: (p) => PERIOD_NAMES[p] || p }, rowData: ["period"] });
    // Why there is no money-weighted return, where there is none.
    (perf.periods || []).forEach((p, i) => {
      const cell = table.tBodies[0] && table.tBodies[0].rows[i] && table.tBodies[0].rows[i].querySelector("td[data-column='money_weighted']");
      if (cell && p.money_weighted_note) cell.title = p.money_weighted_note;
    });
  }

  const CLASS_RETURN_COLUMNS = ["asset_class", "closing", "ytd", "inception", "income"];
  const CLASS_RETURN_KINDS = { asset_class: "text", closing: "money", ytd: "percent", inception: "percent", income: "money" };
  const CLASS_RETURN_TITLES = { closing: "Value", ytd: "This year", inception: "Since inception", income: "Income since inception" };

  /**
   * Each asset class's positions measured as a portfolio of their own: its value, its
   * time-weighted return this year and since its first purchase, and its income.
   */
  function renderClassReturns(table, perf) {
    const rows = (perf.asset_classes || []).map((c) => {
      const period = (name) => (c.periods || []).find((p) => p.period === name) || {};
      const inception = period("inception");
      return {
        asset_class: c.asset_class, closing: inception.closing, ytd: period("ytd").time_weighted,
        inception: inception.time_weighted, income: inception.income,
      };
    });
    const columns = CLASS_RETURN_COLUMNS.map((name) => ({ name, kind: CLASS_RETURN_KINDS[name] }));
    renderTable(table, { position: perf.position, as_of: perf.as_of, columns, rows },
      { values: { asset_class: assetClassName }, rowData: ["asset_class"] });
    for (const th of table.querySelectorAll("thead th")) {
      if (CLASS_RETURN_TITLES[th.dataset.column]) th.textContent = CLASS_RETURN_TITLES[th.dataset.column];
    }
  }

  /** A fraction as text ("0.052341") as a percent with two decimals ("5.23%"), rounded from its decimals. */
  function percentOf(text) {
    const n = Number(text);
    if (!Number.isFinite(n)) return String(text);
    const hundredths = Math.round(Math.round(Math.abs(n) * 1e6) / 100); // of a percent
    return `${n < 0 && hundredths ? "-" : ""}${(hundredths / 100).toFixed(2)}%`;
  }

  const DAY_MS = 86400000;
  /** "2026-03-10" → its UTC midnight in milliseconds. */
  const dayMs = (date) => Date.parse(`${date}T00:00:00Z`);
  const dateText = (ms, options) => new Date(ms).toLocaleDateString("en-US", Object.assign({ timeZone: "UTC" }, options));
  const longDate = (date) => dateText(dayMs(date), { year: "numeric", month: "long", day: "numeric" });
  const shortDate = (date) => dateText(dayMs(date), { year: "numeric", month: "short", day: "numeric" });
  /** The decimals a tick step needs: 2.5 → 1, 0.025 → 3, 500 → 0. */
  function stepDigits(step) {
    let digits = 0;
    while (digits < 6 && Math.abs(step * 10 ** digits - Math.round(step * 10 ** digits)) > 1e-6) digits += 1;
    return digits;
  }
  /** Axis amounts: "$4,800", "$2.50", "$12.5K", "$1.25M" (in the currency shown). */
  function axisDollars(v, step) {
    if (Math.abs(v) >= 10000) return currencyFormat({ notation: "compact", maximumFractionDigits: 2 }).format(v);
    const digits = stepDigits(step) && Math.max(2, stepDigits(step));
    return currencyFormat({ minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
  }

  /** About `count` round ticks covering [lo, hi]: steps of 1, 2, 2.5 or 5 times a power of ten. */
  function niceTicks(lo, hi, count = 5) {
    if (!(hi > lo)) {
      const pad = Math.abs(hi) * 0.05 || 1;
      if (lo !== 0) lo -= pad;
      hi += pad;
    }
    const raw = (hi - lo) / count;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw * (1 - 1e-9));
    const first = Math.floor(lo / step + 1e-9) * step;
    const ticks = [];
    for (let v = first; v < hi + step * (1 - 1e-9); v += step) ticks.push(Number(v.toPrecision(12)));
    if (ticks.length < 2) ticks.push(Number((first + step).toPrecision(12)));
    return { ticks, step };
  }

  const LINE_CHART = { width: 900, height: 300, left: 70, right: 24, top: 34, bottom: 30 };

  /** The width to draw `chart` at: its figure's inner width (900 while the figure is not laid out). */
  function chartWidth(chart) {
    const box = chart.parentElement;
    if (!box || !box.clientWidth) return LINE_CHART.width;
    const style = getComputedStyle(box);
    const inner = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return Math.round(Math.max(480, Math.min(1400, inner)));
  }

  /** A chart with nothing to draw: its message alone. */
  function renderChartMessage(chart, text) {
    chart.replaceChildren(svg("text", { x: 0, y: 24, class: "chart-empty" }, text));
    chart.setAttribute("aria-label", `${chart.dataset.label || chart.getAttribute("aria-label") || "Chart"}: ${text}`);
    sizeChart(chart, chartWidth(chart), 40);
  }

  function sizeChart(chart, width, height) {
    chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
    chart.setAttribute("width", String(width));
    chart.setAttribute("height", String(height));
  }

  /**
   * Draws lines over time: `lines` are { key, name, latest (text for the legend), className,
   * points: [{ t (ms), v }] }; `format(v, step)` writes the value axis; `reference` draws a
   * dashed line at that value. The title, the legend and the aria-label say what is drawn.
   */
  function renderLineChart(chart, { title, lines, format, reference = null, empty }) {
    chart.dataset.label = title;
    const drawn = lines.filter((l) => l.points.length);
    if (!drawn.length) {
      renderChartMessage(chart, empty);
      return;
    }
    const C = Object.assign({}, LINE_CHART, { width: chartWidth(chart) });
    chart.replaceChildren(svg("title", {}, title));
    const all = drawn.flatMap((l) => l.points);
    let t0 = Math.min(...all.map((p) => p.t));
    let t1 = Math.max(...all.map((p) => p.t));
    if (t1 === t0) {
      t0 -= DAY_MS;
      t1 += DAY_MS;
    }
    const values = all.map((p) => p.v).concat(reference === null ? [] : [reference]);
    let lo = Math.min(...values);
    const hi = Math.max(...values);
    if (lo > 0 && lo < hi * 0.25) lo = 0; // close to zero: start at zero
    const { ticks, step } = niceTicks(lo, hi);
    const v0 = ticks[0];
    const v1 = ticks[ticks.length - 1];
    const right = C.width - C.right;
    const bottom = C.height - C.bottom;
    const x = (t) => C.left + ((t - t0) / (t1 - t0)) * (right - C.left);
    const y = (v) => bottom - ((v - v0) / (v1 - v0)) * (bottom - C.top);
    const r = (n) => n.toFixed(1);

    const grid = svg("g", { class: "chart-grid" });
    const axis = svg("g", { class: "chart-axis" });
    for (const v of ticks) {
      grid.append(svg("line", { x1: C.left, x2: right, y1: r(y(v)), y2: r(y(v)) }));
      axis.append(svg("text", { x: C.left - 8, y: r(y(v) + 4), "text-anchor": "end", class: "chart-tick" }, format(v, step)));
    }
    let previousYear = null;
    for (const t of dateTicks(t0, t1, 6)) {
      const year = new Date(t).getUTCFullYear();
      const options = { month: "short", day: "numeric" };
      if (year !== previousYear) options.year = "numeric";
      previousYear = year;
      const anchor = t === t0 ? "start" : t === t1 ? "end" : "middle";
      grid.append(svg("line", { x1: r(x(t)), x2: r(x(t)), y1: bottom, y2: bottom + 5, class: "chart-tickmark" }));
      axis.append(svg("text", { x: r(x(t)), y: bottom + 19, "text-anchor": anchor, class: "chart-tick" }, dateText(t, options)));
    }
    grid.append(svg("line", { x1: C.left, x2: right, y1: bottom, y2: bottom, class: "chart-baseline" }));
    chart.append(grid, axis);
    if (reference !== null) {
      chart.append(svg("line", { x1: C.left, x2: right, y1: r(y(reference)), y2: r(y(reference)), class: "chart-reference" }));
    }

    const legend = svg("g", { class: "chart-legend" });
    let lx = C.left;
    for (const line of lines) {
      const label = `${line.name}: ${line.points.length ? line.latest : "no data"}`;
      legend.append(
        svg("line", { x1: lx, x2: lx + 22, y1: 12, y2: 12, class: `line ${line.className}` }),
        svg("text", { x: lx + 28, y: 16 }, label),
      );
      lx += 28 + label.length * 6.6 + 26;
    }
    chart.append(legend);

    for (const line of drawn) {
      const d = line.points.map((p, i) => `${i ? "L" : "M"}${r(x(p.t))},${r(y(p.v))}`).join("");
      const path = svg("path", { d, class: `line ${line.className}`, "data-series": line.key });
      path.append(svg("title", {}, `${line.name}: ${line.latest}`));
      const last = line.points[line.points.length - 1];
      chart.append(path, svg("circle", { cx: r(x(last.t)), cy: r(y(last.v)), r: 3.5, class: `dot ${line.className}` }));
    }
    const from = shortDate(new Date(t0).toISOString().slice(0, 10));
    const to = shortDate(new Date(t1).toISOString().slice(0, 10));
    chart.setAttribute("aria-label", `${title}, ${from} to ${to}: ` +
      lines.map((l) => `${l.name} ${l.points.length ? l.latest : "no data"}`).join("; "));
    sizeChart(chart, C.width, C.height);
  }

  /** `count` dates spread evenly from t0 to t1 (whole days, no repeats). */
  function dateTicks(t0, t1, count) {
    const days = Math.round((t1 - t0) / DAY_MS);
    const n = Math.max(2, Math.min(count, days + 1));
    const out = [];
    for (let i = 0; i < n; i++) {
      const t = t0 + Math.round((days * i) / (n - 1)) * DAY_MS;
      if (!out.includes(t)) out.push(t);
    }
    return out;
  }

  const seriesPoints = (series, field) => series
    .filter((p) => p[field] !== null && p[field] !== undefined && Number.isFinite(Number(p[field])))
    .map((p) => ({ t: dayMs(p.date), v: Number(p[field]), text: p[field] }));

  /** The value of the accounts each day against the money put in (net of money taken out). */
  function renderValueChart(chart, series) {
    const value = seriesPoints(series, "value");
    const contributions = seriesPoints(series, "net_contributions");
    const latest = (points) => (points.length ? money(points[points.length - 1].text) : "");
    renderLineChart(chart, {
      title: "Value against net contributions",
      lines: [
        { key: "value", name: "Value", className: "series-value", points: value, latest: latest(value) },
        { key: "net_contributions", name: "Net contributions", className: "series-contributions", points: contributions, latest: latest(contributions) },
      ],
      format: axisDollars,
      empty: "No history yet",
    });
  }

  /** With a benchmark: $1 growing at the accounts' time-weighted return and at the benchmark's. */
  function renderGrowthChart(perf) {
    const figure = $("growth-figure");
    const chart = $("growth-chart");
    figure.hidden = !perf.benchmark;
    if (!perf.benchmark) {
      chart.replaceChildren();
      return;
    }
    const series = perf.series || [];
    const growth = seriesPoints(series, "growth");
    const bench = seriesPoints(series, "benchmark_growth");
    // "$1" in the currency shown: its symbol, as the amounts write it.
    const sign = currencyFormat({ maximumFractionDigits: 0 }).format(0).replace(/[\d\s.,]/g, "");
    const latest = (points) => (points.length ? `${sign}${Number(points[points.length - 1].text).toFixed(4)}` : "");
    $("growth-caption").textContent = `Growth of ${sign}1: your accounts against ${perf.benchmark}`;
    renderLineChart(chart, {
      title: `Growth of ${sign}1 against ${perf.benchmark}`,
      lines: [
        { key: "growth", name: "Your accounts", className: "series-growth", points: growth, latest: latest(growth) },
        { key: "benchmark_growth", name: perf.benchmark, className: "series-benchmark", points: bench, latest: latest(bench) },
      ],
      format: (v, step) => `${sign}${v.toFixed(Math.max(2, stepDigits(step)))}`,
      reference: 1,
      empty: "No history yet",
    });
  }

  const INCOME_PARTS = [
    ["qualified_dividends", "Qualified dividends", "bar-qualified"],
    ["ordinary_dividends", "Ordinary dividends", "bar-ordinary"],
    ["interest", "Interest", "bar-interest"],
  ];
  const INCOME_MONTHS = 24; // at most, the latest
  const BAR_CHART = { width: 900, height: 280, left: 70, right: 24, top: 34, bottom: 44 };

  /** "2026-03" → [2026, 3]; months are counted as year * 12 + month - 1. */
  const monthIndex = (text) => {
    const [year, month] = text.split("-").map(Number);
    return year * 12 + month - 1;
  };
  const monthKey = (i) => `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, "0")}`;
  const monthName = (i, month) => dateText(Date.UTC(Math.floor(i / 12), i % 12, 1), { month });

  /**
   * Dividends and interest per month, stacked by kind, from the household's first month (or
   * its first income) to the answer's end, the latest 24 months at most; months without
   * income are drawn empty.
   */
  function renderIncomeChart(chart, income, perf) {
    chart.dataset.label = "Dividends and interest per month";
    const rows = (income.rows || []).filter((row) => /^\d{4}-\d{2}$/.test(row.period));
    const end = monthIndex(income.end.slice(0, 7));
    const starts = rows.map((row) => monthIndex(row.period));
    if (perf.inception) starts.push(monthIndex(perf.inception.slice(0, 7)));
    const caption = $("income-caption");
    if (!rows.length) {
      caption.textContent = "Dividends and interest per month";
      renderChartMessage(chart, "No dividends or interest yet");
      return;
    }
    const start = Math.max(Math.min(...starts), end - INCOME_MONTHS + 1);
    const byMonth = new Map(rows.map((row) => [monthIndex(row.period), row]));
    const months = [];
    for (let i = start; i <= end; i++) months.push(i);
    caption.textContent = `Dividends and interest per month, ${monthName(start, "short")} ${Math.floor(start / 12)}` +
      ` to ${monthName(end, "short")} ${Math.floor(end / 12)}`;

    const C = Object.assign({}, BAR_CHART, { width: chartWidth(chart) });
    const right = C.width - C.right;
    const bottom = C.height - C.bottom;
    const max = Math.max(...months.map((i) => Number((byMonth.get(i) || {}).total) || 0));
    const { ticks, step } = niceTicks(0, max, 4);
    const top = ticks[ticks.length - 1];
    const y = (v) => bottom - (v / top) * (bottom - C.top);
    const slot = (right - C.left) / months.length;
    const barWidth = Math.min(48, slot * 0.66);
    const r = (n) => n.toFixed(1);

    chart.replaceChildren(svg("title", {}, "Dividends and interest per month"));
    const grid = svg("g", { class: "chart-grid" });
    const axis = svg("g", { class: "chart-axis" });
    for (const v of ticks) {
      grid.append(svg("line", { x1: C.left, x2: right, y1: r(y(v)), y2: r(y(v)) }));
      axis.append(svg("text", { x: C.left - 8, y: r(y(v) + 4), "text-anchor": "end", class: "chart-tick" }, axisDollars(v, step)));
    }
    grid.append(svg("line", { x1: C.left, x2: right, y1: bottom, y2: bottom, class: "chart-baseline" }));
    chart.append(grid, axis);

    const legend = svg("g", { class: "chart-legend" });
    let lx = C.left;
    for (const [, name, className] of INCOME_PARTS) {
      legend.append(svg("rect", { x: lx, y: 5, width: 12, height: 10, class: className }), svg("text", { x: lx + 16, y: 14 }, name));
      lx += 16 + name.length * 6.6 + 22;
    }
    const ttm = `Last twelve months: ${money(income.trailing_twelve_months)}` +
      (income.yield_on_cost ? ` (${percentOf(income.yield_on_cost)} yield on cost)` : "");
    legend.append(svg("text", { x: right, y: 14, "text-anchor": "end", class: "chart-total" }, ttm));
    chart.append(legend);

    const labelEvery = Math.ceil(34 / slot);
    months.forEach((i, k) => {
      const row = byMonth.get(i);
      const cx = C.left + slot * (k + 0.5);
      const g = svg("g", { class: "income-month", "data-period": monthKey(i) });
      const when = `${monthName(i, "long")} ${Math.floor(i / 12)}`;
      if (row) {
        g.append(svg("title", {}, `${when}: ${money(row.total)} (` +
          INCOME_PARTS.map(([key, name]) => `${name.toLowerCase()} ${money(row[key])}`).join(", ") + ")"));
        let base = 0;
        for (const [key, , className] of INCOME_PARTS) {
          const v = Number(row[key]) || 0;
          if (v <= 0) continue;
          g.append(svg("rect", { x: r(cx - barWidth / 2), y: r(y(base + v)), width: r(barWidth), height: r(y(base) - y(base + v)), class: className }));
          base += v;
        }
        if (slot >= 46 && base > 0) {
          g.append(svg("text", { x: r(cx), y: r(y(base) - 5), "text-anchor": "middle", class: "chart-value" }, money(row.total)));
        }
      } else {
        g.append(svg("title", {}, `${when}: no dividends or interest`));
      }
      if (k % labelEvery === 0) {
        g.append(svg("text", { x: r(cx), y: bottom + 16, "text-anchor": "middle", class: "chart-tick" }, monthName(i, "short")));
        if (k === 0 || i % 12 === 0) {
          g.append(svg("text", { x: r(cx), y: bottom + 31, "text-anchor": "middle", class: "chart-tick chart-year" }, String(Math.floor(i / 12))));
        }
      }
      chart.append(g);
    });
    const paid = rows.filter((row) => monthIndex(row.period) >= start)
      .map((row) => `${monthName(monthIndex(row.period), "short")} ${row.period.slice(0, 4)} ${money(row.total)}`);
    chart.setAttribute("aria-label", `Dividends and interest per month. ${ttm}. Paid: ${paid.join("; ")}`);
    sizeChart(chart, C.width, C.height);
  }

  // ---------------------------------------------------------------------------------------------
  // Auditors: as-of
  // ---------------------------------------------------------------------------------------------

  /** A datetime-local value (the browser's local time) as RFC 3339 UTC: 2026-11-21T12:00:00Z. */
  function localInputToUtc(value) {
    if (!value) return null;
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return null;
    return date.toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  function onAsOfApply(event) {
    event.preventDefault();
    const instant = localInputToUtc($("asof-input").value);
    if (!instant) {
      showAppError("Choose a date and time to view the ledger as of.");
      return;
    }
    setAsOf(instant);
  }

  function setAsOf(instant) {
    state.asOf = instant;
    const banner = $("asof-banner");
    banner.hidden = !instant;
    banner.textContent = instant ? `Viewing as of ${instant} (${new Date(instant).toLocaleString()})` : "";
    if (!instant) $("asof-input").value = "";
    loadSection(state.section);
  }

  // ---------------------------------------------------------------------------------------------
  // Import
  // ---------------------------------------------------------------------------------------------

  async function onImportSubmit(event) {
    event.preventDefault();
    const result = $("import-result");
    result.className = "result";
    const file = $("import-file").files[0];
    if (!file) {
      showImportResult("Choose a CSV file first.", true);
      return;
    }
    if (!state.household) {
      showImportResult("Pick a household first.", true);
      return;
    }
    const button = $("import-submit");
    button.disabled = true;
    result.textContent = `Importing ${file.name}…`;
    try {
      const body = await file.arrayBuffer();
      const url = `/v1/households/${encodeURIComponent(state.household)}/imports`;
      const done = await api(url, { method: "POST", body, contentType: "text/csv" });
      showImportResult(importSummary(done), false);
      notePosition(done.last_position);
      // Bring the tables up to (at least) the imported position.
      const seq = ++state.loadSeq;
      loadOverview(() => seq === state.loadSeq);
    } catch (err) {
      showImportResult(`Import failed: ${problemMessage(err)}`, true);
    } finally {
      button.disabled = false;
    }
  }

  /** "Imported 12 rows, 3 wash sales adjusted (position 57)". */
  function importSummary(done) {
    const n = Number(done.rows) || 0;
    const w = Number(done.wash_sales_adjusted) || 0;
    return `Imported ${n} ${n === 1 ? "row" : "rows"}, ${w} ${w === 1 ? "wash sale" : "wash sales"} adjusted` +
      ` (position ${done.last_position})`;
  }

  function showImportResult(text, isError) {
    const result = $("import-result");
    result.textContent = text;
    result.className = isError ? "result error" : "result ok";
  }

  /** Remembers that the log reached `position`, so later reads wait for it (min_position). */
  function notePosition(position) {
    const p = Number(position);
    if (Number.isFinite(p) && p > state.minPosition) state.minPosition = p;
  }

  // ---------------------------------------------------------------------------------------------
  // Record a trade (POST …/trades, one ledger row in the CSV's columns)
  // ---------------------------------------------------------------------------------------------

  /** Actions that move money only: one unit at the amount (the ledger's amount is quantity × price). */
  const CASH_ACTIONS = ["dividend", "interest", "deposit", "withdrawal", "fee"];
  /** Actions with no symbol on this form (a dividend keeps its symbol). */
  const NO_SYMBOL = ["interest", "deposit", "withdrawal", "fee"];
  /** The form's inputs by the body's field names (those a problem's `field` may name). */
  const TRADE_FIELDS = {
    trade_date: "trade-date",
    account: "trade-account",
    account_type: "trade-account-type",
    action: "trade-action",
    symbol: "trade-symbol",
    quantity: "trade-quantity",
    price: "trade-price",
    fees: "trade-fees",
    currency: "trade-currency",
    fx_rate: "trade-fx-rate",
    description: "trade-description",
  };

  /** The household's accounts for the form's list (GET …/accounts, with min_position). */
  async function loadTradeAccounts(current) {
    if (!canImport()) return;
    if (!$("trade-date").value) $("trade-date").value = localToday();
    try {
      const data = await queryHousehold("accounts", {});
      if (!current()) return;
      state.accounts = (data.rows || []).map((r) => ({ account: r.account, account_type: r.account_type }));
    } catch (err) {
      if (!current()) return;
      state.accounts = [];
      // A household with nothing recorded has no accounts yet: the form still takes a new one.
      if (!(err instanceof ApiError && err.status === 404)) showAppError(err);
    }
    $("trade-accounts").replaceChildren(...state.accounts.map((a) => {
      const option = document.createElement("option");
      option.value = a.account;
      option.label = `${a.account} (${accountTypeName(a.account_type)})`;
      return option;
    }));
    onTradeAccountInput();
  }

  /** An account type as the form's select names it ("roth_ira" → "Roth IRA"). */
  function accountTypeName(type) {
    const option = [...$("trade-account-type").options].find((o) => o.value === type);
    return option ? option.textContent : type || "";
  }

  /** Today in the browser's time zone, as YYYY-MM-DD. */
  function localToday() {
    const now = new Date();
    return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-${String(now.getDate()).padStart(2, "0")}`;
  }

  const knownAccount = (name) => state.accounts.some((a) => a.account === name);

  /** A name that is not one of the household's accounts opens a new one: it needs a type. */
  function onTradeAccountInput() {
    const name = $("trade-account").value.trim();
    $("trade-account-type-field").hidden = !name || knownAccount(name);
  }

  /** Cash movements take an amount; trades a quantity and a price; some take no symbol. */
  function onTradeActionChange() {
    const action = $("trade-action").value;
    const cash = CASH_ACTIONS.includes(action);
    $("trade-quantity-field").hidden = cash;
    $("trade-symbol-field").hidden = NO_SYMBOL.includes(action);
    $("trade-price-label").textContent = cash ? "Amount" : "Price per share";
  }

  /** The body: the ledger CSV's columns, decimals as the strings typed. */
  function tradeBody() {
    const value = (id) => $(id).value.trim();
    const action = value("trade-action");
    const body = { trade_date: value("trade-date"), account: value("trade-account"), action };
    if (!$("trade-account-type-field").hidden && value("trade-account-type")) body.account_type = value("trade-account-type");
    if (!$("trade-symbol-field").hidden && value("trade-symbol")) body.symbol = value("trade-symbol").toUpperCase();
    body.quantity = CASH_ACTIONS.includes(action) ? "1" : value("trade-quantity");
    body.price = value("trade-price");
    if (value("trade-fees")) body.fees = value("trade-fees");
    const currency = value("trade-currency").toUpperCase();
    if (currency && currency !== "USD") {
      body.currency = currency;
      body.fx_rate = value("trade-fx-rate");
    }
    if (value("trade-description")) body.description = value("trade-description");
    return body;
  }

  /** What must be typed before the server is asked (it checks everything else). */
  function tradeMissing(body) {
    const missing = {};
    if (!body.trade_date) missing.trade_date = "Choose the trade date.";
    if (!body.account) missing.account = "Pick an account or type a new one.";
    if (!CASH_ACTIONS.includes(body.action) && !body.quantity) missing.quantity = "Enter the number of shares.";
    if (!body.price) missing.price = CASH_ACTIONS.includes(body.action) ? "Enter the amount." : "Enter the price per share.";
    if (body.currency && !body.fx_rate) missing.fx_rate = `Enter the US dollars one ${body.currency} bought that day.`;
    return missing;
  }

  /** 16 random bytes as hex: a fresh Idempotency-Key (crypto.getRandomValues works over plain HTTP too). */
  function freshKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return `web-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }

  async function onTradeSubmit(event) {
    event.preventDefault();
    clearTradeMessages();
    if (!state.household) {
      $("trade-error").textContent = "Pick a household first.";
      return;
    }
    const body = tradeBody();
    const missing = Object.entries(tradeMissing(body));
    if (missing.length) {
      for (const [field, text] of missing) showTradeFieldError(field, text);
      $(TRADE_FIELDS[missing[0][0]]).focus();
      return;
    }
    const button = $("trade-submit");
    button.disabled = true;
    let done;
    try {
      const url = `/v1/households/${encodeURIComponent(state.household)}/trades`;
      done = await api(url, { method: "POST", body, headers: { "Idempotency-Key": freshKey() } });
    } catch (err) {
      showTradeError(err);
      return;
    } finally {
      button.disabled = false;
    }
    showTradeResult(done);
    notePosition(done.last_position);
    for (const id of ["trade-symbol", "trade-quantity", "trade-price", "trade-fees", "trade-currency", "trade-fx-rate", "trade-description"]) {
      $(id).value = "";
    }
    $("trade-account-type").value = "";
    // Read our own write: the account list and the overview wait for the recorded position.
    const seq = ++state.loadSeq;
    const current = () => seq === state.loadSeq;
    await Promise.all([loadTradeAccounts(current), loadOverview(current)]);
  }

  /** "Recorded T7", with what the ledger wants a person to check. */
  function showTradeResult(done) {
    const ids = done.trade_ids || [];
    const result = $("trade-result");
    let text = ids.length
      ? `Recorded ${ids.join(", ")}`
      : "Nothing new was recorded: the ledger already holds this trade.";
    const warnings = (done.warnings || []).map((w) => w.message).filter(Boolean);
    if (warnings.length) text += `. Check: ${warnings.join("; ")}`;
    result.textContent = text;
    result.dataset.tradeId = ids[0] || "";
    result.className = "result ok";
  }

  /** A refusal: next to the field it names (validation, 422, or a malformed field, 400), else under the form. */
  function showTradeError(err) {
    const p = (err instanceof ApiError && err.problem) || {};
    const field = typeof p.field === "string" ? p.field : "";
    const id = TRADE_FIELDS[field];
    const visible = id && !$(id).closest(".field").hidden;
    if (err instanceof ApiError && (err.status === 422 || err.status === 400) && visible) {
      let detail = String(p.detail || p.title || "");
      detail = detail.replace(/^line \d+: /, "");
      if (detail.startsWith(`${field}: `)) detail = detail.slice(field.length + 2);
      showTradeFieldError(field, capitalize(detail));
      $(id).focus();
      return;
    }
    // A quantity refused while the form hides it (cash movements send 1) belongs to the amount.
    if (err instanceof ApiError && field === "quantity" && CASH_ACTIONS.includes($("trade-action").value)) {
      showTradeFieldError("price", problemMessage(err));
      return;
    }
    $("trade-error").textContent = `Not recorded: ${problemMessage(err)}`;
  }

  function showTradeFieldError(field, text) {
    const input = $(TRADE_FIELDS[field]);
    $(`${TRADE_FIELDS[field]}-error`).textContent = text;
    input.setAttribute("aria-invalid", "true");
  }

  function clearTradeMessages() {
    for (const id of Object.values(TRADE_FIELDS)) {
      $(`${id}-error`).textContent = "";
      $(id).removeAttribute("aria-invalid");
    }
    $("trade-error").textContent = "";
    const result = $("trade-result");
    result.textContent = "";
    result.className = "result";
    delete result.dataset.tradeId;
  }

  /** Forgets what was typed and said (sign-out, another household). */
  function clearTradeForm() {
    clearTradeMessages();
    for (const id of ["trade-account", "trade-symbol", "trade-quantity", "trade-price", "trade-fees", "trade-currency", "trade-fx-rate", "trade-description"]) {
      $(id).value = "";
    }
    $("trade-account-type").value = "";
    $("trade-account-type-field").hidden = true;
  }

  // ---------------------------------------------------------------------------------------------
  // MFA
  // ---------------------------------------------------------------------------------------------

  async function onMfaSetupStart() {
    const button = $("mfa-setup-start");
    $("mfa-error").textContent = "";
    button.disabled = true;
    try {
      const setup = await api("/v1/me/mfa", { method: "POST", body: {} });
      $("mfa-secret").textContent = setup.secret || "";
      $("mfa-uri").textContent = setup.otpauth_uri || "";
      $("mfa-backup-codes").replaceChildren(...(setup.backup_codes || []).map((code) => {
        const li = document.createElement("li");
        li.textContent = code;
        return li;
      }));
      $("mfa-setup").hidden = false;
      $("mfa-status").textContent = "Enabled";
    } catch (err) {
      $("mfa-error").textContent = problemMessage(err);
    } finally {
      button.disabled = false;
    }
  }

  /** The user has stored the secret and codes: take them off the screen and refresh /v1/me. */
  function onMfaEnable() {
    $("mfa-secret").textContent = "";
    $("mfa-uri").textContent = "";
    $("mfa-backup-codes").replaceChildren();
    $("mfa-setup").hidden = true;
    const seq = ++state.loadSeq;
    loadSecurity(() => seq === state.loadSeq);
  }

  // ---------------------------------------------------------------------------------------------
  // Live updates: SSE read with fetch (EventSource cannot send the Authorization header)
  // ---------------------------------------------------------------------------------------------

  function startStream() {
    stopStream();
    if (!state.household || !state.accessToken || !window.ReadableStream) return;
    const stream = { controller: new AbortController(), backoff: 1000, household: state.household };
    state.stream = stream;
    runStream(stream);
  }

  function stopStream() {
    if (state.stream) state.stream.controller.abort();
    state.stream = null;
    clearTimeout(state.streamDebounce);
    setLiveStatus(null);
  }

  /** Connects, reads until the stream ends or fails, then reconnects with backoff. */
  async function runStream(stream) {
    while (state.stream === stream) {
      try {
        const url = `/v1/households/${encodeURIComponent(stream.household)}/stream`;
        const res = await api(url, { raw: true, signal: stream.controller.signal });
        setLiveStatus("live");
        stream.backoff = 1000;
        await readEvents(res.body.getReader(), onStreamEvent);
      } catch (err) {
        if (err && err.name === "AbortError") return;
        if (!state.accessToken) return; // signed out meanwhile
        if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429) {
          setLiveStatus(null); // no stream for this household (or none served): stay quiet
          return;
        }
      }
      if (state.stream !== stream) return;
      setLiveStatus("reconnecting");
      await sleep(stream.backoff + Math.random() * 250);
      stream.backoff = Math.min(stream.backoff * 2, 30000);
    }
  }

  /** Parses `text/event-stream`: `data:` lines until a blank line make one event. */
  async function readEvents(reader, onEvent) {
    const decoder = new TextDecoder();
    let buffer = "";
    let data = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop(); // an incomplete last line waits for more bytes
      for (const line of lines) {
        if (line === "") {
          if (data.length) onEvent(data.join("\n"));
          data = [];
        } else if (line.startsWith("data:")) {
          data.push(line.slice(5).replace(/^ /, ""));
        }
        // Comments (":"), "event:", "id:" and "retry:" lines are not needed here.
      }
    }
  }

  /** Any event: note its position and refresh the visible tables 300 ms after the last one;
   *  an alert's event (raised, resolved, snoozed, …) refreshes the bell at once. */
  function onStreamEvent(text) {
    try {
      const event = JSON.parse(text);
      notePosition(event.position);
      if (typeof event.type === "string" && event.type.startsWith("Alert")) loadAlerts();
    } catch (_) {
      // A keep-alive or something we do not know: still a hint that data moved.
    }
    if (state.asOf) return; // a view of the past does not change
    clearTimeout(state.streamDebounce);
    state.streamDebounce = setTimeout(() => {
      if (state.section !== "security" && state.section !== "import") loadSection(state.section);
    }, 300);
  }

  // ---------------------------------------------------------------------------------------------
  // Alerts: the bell's unread count, the panel's list, snooze and dismiss
  // (GET /v1/households/{h}/alerts, POST …/alerts/{id}/snooze|dismiss).

  async function loadAlerts() {
    const household = state.household;
    if (!household || state.asOf) return;
    let data;
    try {
      data = await api(`/v1/households/${encodeURIComponent(household)}/alerts`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return;
      throw err;
    }
    if (household !== state.household) return;
    $("alerts-count").textContent = String(data.unread);
    $("alerts-bell").classList.toggle("unread", data.unread > 0);
    const list = $("alerts-list");
    list.replaceChildren();
    for (const alert of data.alerts) {
      const li = document.createElement("li");
      li.dataset.alertId = alert.id;
      li.dataset.state = alert.state;
      const severity = document.createElement("span");
      severity.className = `severity ${alert.severity}`;
      severity.textContent = alert.severity;
      const message = document.createElement("span");
      message.className = "message";
      const snoozed = alert.snoozed_until && new Date(alert.snoozed_until) > new Date();
      message.textContent = alert.message + (alert.state === "dismissed" ? " (dismissed)" : snoozed ? " (snoozed)" : "");
      li.append(severity, message);
      if (alert.state === "open" && canImport()) {
        const snooze = document.createElement("button");
        snooze.type = "button";
        snooze.className = "secondary alert-snooze";
        snooze.textContent = "Snooze a day";
        snooze.addEventListener("click", () => answerAlert(alert.id, "snooze",
          { until: new Date(Date.now() + 86400000).toISOString() }));
        const dismiss = document.createElement("button");
        dismiss.type = "button";
        dismiss.className = "secondary alert-dismiss";
        dismiss.textContent = "Dismiss";
        dismiss.addEventListener("click", () => answerAlert(alert.id, "dismiss", {}));
        li.append(snooze, dismiss);
      }
      list.append(li);
    }
    $("alerts-empty").hidden = data.alerts.length > 0;
  }

  async function answerAlert(id, action, body) {
    const household = encodeURIComponent(state.household);
    try {
      await api(`/v1/households/${household}/alerts/${encodeURIComponent(id)}/${action}`, { method: "POST", body });
      await loadAlerts();
    } catch (err) {
      showAppError(err);
    }
  }

  function toggleAlerts() {
    const panel = $("alerts-panel");
    panel.hidden = !panel.hidden;
    $("alerts-bell").setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) {
      loadAlerts().catch((err) => showAppError(err));
      loadAlertPrefs().catch((err) => showAppError(err));
    }
  }

  // Your alert preferences (GET/PUT /v1/me/alert-preferences): channels with the least severity
  // each carries, quiet hours, the phone for texts, daily caps. Push devices are registered by
  // the apps, so they are kept as they are.
  const PREF_CHANNELS = ["email", "sms", "push", "webhook", "in_app"];
  const SEVERITIES = ["info", "warning", "critical"];

  async function loadAlertPrefs() {
    const prefs = await api("/v1/me/alert-preferences");
    state.alertDevices = prefs.devices || [];
    for (const channel of PREF_CHANNELS) {
      const select = $(`pref-${channel}`);
      if (!select.options.length) {
        for (const value of ["", ...SEVERITIES]) {
          const option = document.createElement("option");
          option.value = value;
          option.textContent = value ? `${value} and above` : "off";
          select.append(option);
        }
      }
      select.value = prefs.channels[channel] || "";
    }
    const quiet = prefs.quiet;
    $("pref-quiet-start").value = quiet ? quiet.start : "";
    $("pref-quiet-end").value = quiet ? quiet.end : "";
    $("pref-time-zone").value = quiet ? quiet.time_zone : Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    $("pref-urgent").checked = quiet ? quiet.urgent_bypass : false;
    $("pref-phone").value = prefs.phone || "";
    $("pref-cap-email").value = prefs.caps.email ?? "";
    $("pref-cap-sms").value = prefs.caps.sms ?? "";
    $("alert-prefs-status").textContent = "";
  }

  async function saveAlertPrefs(event) {
    event.preventDefault();
    const channels = {};
    for (const channel of PREF_CHANNELS) {
      const value = $(`pref-${channel}`).value;
      if (value) channels[channel] = value;
    }
    const body = { channels, caps: {}, devices: state.alertDevices || [] };
    const [start, end] = [$("pref-quiet-start").value, $("pref-quiet-end").value];
    if (start && end) {
      body.quiet = { start, end, time_zone: $("pref-time-zone").value.trim() || "UTC", urgent_bypass: $("pref-urgent").checked };
    }
    const phone = $("pref-phone").value.trim();
    if (phone) body.phone = phone;
    for (const channel of ["email", "sms"]) {
      const cap = $(`pref-cap-${channel}`).value;
      if (cap !== "") body.caps[channel] = Number(cap);
    }
    const status = $("alert-prefs-status");
    try {
      await api("/v1/me/alert-preferences", { method: "PUT", body });
      status.textContent = "Saved.";
      status.className = "muted";
    } catch (err) {
      status.textContent = err instanceof ApiError ? err.message : String(err);
      status.className = "error";
    }
  }

  /** The household's live updates (the top bar's #updates-status): "● Live", "○ Reconnecting…". */
  function setLiveStatus(status) {
    const el = $("updates-status");
    el.hidden = !status;
    el.textContent = status === "live" ? "● Live" : status === "reconnecting" ? "○ Reconnecting…" : "";
    el.className = `updates-status ${status || ""}`;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ---------------------------------------------------------------------------------------------
  // Live prices: the positions' quotes over one WebSocket (GET /v1/stream/quotes)
  // ---------------------------------------------------------------------------------------------

  /*
   * After the positions render, one socket is opened (ws: or wss: as the page, same host), signs
   * in with the access token as its first message, and subscribes to the symbols shown (only the
   * difference is sent when they change). Each quote fills the row's Live cell
   * (td[data-live-symbol]); the cell keeps "—" until the symbol has one (a server with no live
   * streams never sends any). #live-status says "live", "connecting…", "reconnecting…" or "off".
   * A dropped socket is opened again after an exponential backoff with jitter (1 s, doubling, at
   * most 30 s); a refused token is refreshed first. Signing out closes it.
   */
  const LIVE_BACKOFF_MS = { initial: 1000, max: 30000 };
  const LIVE_FLASH_MS = 1200;
  const LIVE_STATES = { live: "live", connecting: "connecting…", reconnecting: "reconnecting…", off: "off" };
  const live = {
    socket: null,
    authenticated: false,
    refused: false, // the server refused the token on this connection
    wanted: new Set(), // the symbols of the positions shown
    subscribed: new Set(), // the symbols asked for on this connection
    quotes: new Map(), // symbol → its latest quote
    attempt: 0, // reconnections since the last good one
    timer: null, // the scheduled reconnection
    epoch: 0, // bumps on sign-out: callbacks of an older session do nothing
  };
  const flashTimers = new WeakMap();

  /** After the positions render: a Live column, then the symbols shown followed. */
  function showLivePrices(table, data) {
    const rows = (data && data.rows) || [];
    const symbols = rows.map((r) => (typeof r.symbol === "string" ? r.symbol.trim().toUpperCase() : ""));
    addLiveColumn(table, symbols);
    followSymbols(symbols.filter(Boolean));
  }

  /** Adds the "Live" column after the price's date (or the price), a cell per row with a symbol. */
  function addLiveColumn(table, symbols) {
    const headRow = table.tHead && table.tHead.rows[0];
    const body = table.tBodies[0];
    if (!headRow || !body || !symbols.some(Boolean) || body.rows.length !== symbols.length) return;
    const columns = [...headRow.cells].map((th) => th.dataset.column);
    const after = ["price_date", "price"].map((c) => columns.indexOf(c)).find((i) => i >= 0);
    const at = after === undefined ? columns.length : after + 1;
    const th = document.createElement("th");
    th.scope = "col";
    th.dataset.column = "live";
    th.className = "num";
    th.textContent = "Live";
    th.title = "The latest live quote: the last trade, or the middle of the bid and ask";
    headRow.insertBefore(th, headRow.cells[at] || null);
    symbols.forEach((symbol, i) => {
      const tr = body.rows[i];
      const td = document.createElement("td");
      td.dataset.column = "live";
      td.className = "num live-price";
      if (symbol) {
        td.dataset.liveSymbol = symbol;
        paintLiveCell(td, live.quotes.get(symbol), null);
      }
      tr.insertBefore(td, tr.cells[at] || null);
    });
  }

  /** Follows `symbols`: connects when there is something to follow, else adjusts the subscription. */
  function followSymbols(symbols) {
    live.wanted = new Set(symbols);
    for (const symbol of live.quotes.keys()) if (!live.wanted.has(symbol)) live.quotes.delete(symbol);
    if (!state.accessToken) return;
    if (live.socket) {
      sendSubscriptions();
    } else if (!live.timer && live.wanted.size) {
      connectLive();
    }
  }

  function connectLive() {
    clearTimeout(live.timer);
    live.timer = null;
    if (!state.accessToken || live.socket) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let socket;
    try {
      socket = new WebSocket(`${scheme}//${location.host}/v1/stream/quotes`);
    } catch (_) {
      setLivePriceStatus("off");
      return;
    }
    Object.assign(live, { socket, authenticated: false, refused: false, subscribed: new Set() });
    setLivePriceStatus(live.attempt ? "reconnecting" : "connecting");
    socket.addEventListener("open", () => {
      if (live.socket === socket && state.accessToken) send(socket, { action: "auth", token: state.accessToken });
    });
    socket.addEventListener("message", (event) => {
      if (live.socket === socket) onLiveMessage(event.data);
    });
    socket.addEventListener("close", () => {
      if (live.socket === socket) onLiveClosed();
    });
  }

  function send(socket, message) {
    try {
      socket.send(JSON.stringify(message));
    } catch (_) {
      // Closing: the close handler reconnects.
    }
  }

  function onLiveMessage(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch (_) {
      return;
    }
    switch (message && message.type) {
      case "authenticated":
        live.authenticated = true;
        live.attempt = 0;
        setLivePriceStatus("live");
        sendSubscriptions();
        break;
      case "quote":
        showQuote(message.quote);
        break;
      case "error":
        if (!live.authenticated) live.refused = true;
        break;
      default:
        // "subscribed" confirms what was asked; after "dropped" the next quote is the latest.
        break;
    }
  }

  /** Sends what changed in the symbols followed since the last subscription on this socket. */
  function sendSubscriptions() {
    if (!live.socket || !live.authenticated) return;
    const add = [...live.wanted].filter((s) => !live.subscribed.has(s));
    const remove = [...live.subscribed].filter((s) => !live.wanted.has(s));
    if (add.length) send(live.socket, { action: "subscribe", symbols: add });
    if (remove.length) send(live.socket, { action: "unsubscribe", symbols: remove });
    live.subscribed = new Set(live.wanted);
  }

  function onLiveClosed() {
    const refused = live.refused;
    Object.assign(live, { socket: null, authenticated: false, subscribed: new Set() });
    if (!state.accessToken || !live.wanted.size) {
      setLivePriceStatus("off");
      return;
    }
    const ceiling = Math.min(LIVE_BACKOFF_MS.max, LIVE_BACKOFF_MS.initial * 2 ** live.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    live.attempt += 1;
    setLivePriceStatus("reconnecting");
    const epoch = live.epoch;
    live.timer = setTimeout(async () => {
      // A refused token is refreshed first; when that fails the session is over.
      if (refused && !(await tryRefresh())) {
        if (epoch === live.epoch) setLivePriceStatus("off");
        return;
      }
      if (epoch === live.epoch) connectLive();
    }, delay);
  }

  /** Closes the socket and forgets the quotes (signing out). */
  function stopLivePrices() {
    clearTimeout(live.timer);
    const socket = live.socket;
    Object.assign(live, {
      socket: null, authenticated: false, refused: false, wanted: new Set(), subscribed: new Set(), attempt: 0,
      timer: null, epoch: live.epoch + 1,
    });
    live.quotes.clear();
    if (socket) socket.close(1000, "signed out");
    setLivePriceStatus("off");
  }

  function setLivePriceStatus(status) {
    const el = $("live-status");
    el.textContent = LIVE_STATES[status] || LIVE_STATES.off;
    el.dataset.state = status;
    el.className = `live-status ${status}`;
  }

  function showQuote(quote) {
    if (!quote || typeof quote.symbol !== "string") return;
    const symbol = quote.symbol.toUpperCase();
    if (!live.wanted.has(symbol)) return;
    const before = live.quotes.get(symbol) || null;
    live.quotes.set(symbol, quote);
    document.querySelectorAll(`#positions-table td[data-live-symbol="${CSS.escape(symbol)}"]`)
      .forEach((td) => paintLiveCell(td, quote, before));
  }

  /** A quote's price: its last trade, else the middle of its bid and ask (exact); null when none. */
  function quotePrice(quote) {
    if (!quote) return null;
    if (typeof quote.last === "string" && NUMERIC.test(quote.last)) return quote.last;
    if (NUMERIC.test(String(quote.bid)) && NUMERIC.test(String(quote.ask))) return decimalMid(quote.bid, quote.ask);
    return null;
  }

  /** (a + b) / 2 of two decimal strings, exactly, as a decimal string. */
  function decimalMid(a, b) {
    const parts = [a, b].map((text) => {
      const [whole, frac = ""] = text.replace(/^\+/, "").split(".");
      return { whole, frac };
    });
    const scale = Math.max(...parts.map((p) => p.frac.length));
    const units = parts.map((p) => BigInt(p.whole + p.frac.padEnd(scale, "0")));
    // Twice the scale's unit is ten times the half: (a + b) × 5 at one more decimal place.
    const half = (units[0] + units[1]) * 5n;
    const negative = half < 0n;
    const digits = (negative ? -half : half).toString().padStart(scale + 2, "0");
    const point = digits.length - (scale + 1);
    return `${negative ? "-" : ""}${digits.slice(0, point)}.${digits.slice(point)}`;
  }

  /** A live price in dollars: two decimals, up to four when the price has them ("$231.4225"). */
  const livePrice = (text) => currencyFormat({ maximumFractionDigits: 4 }).format(text);

  /** "At Dec 5, 2025, 10:00:00 AM; bid $231.40 / ask $231.44; source polygon-live; grade excellent". */
  function quoteTitle(quote) {
    const parts = [];
    const at = new Date(quote.at);
    if (!Number.isNaN(at.getTime())) {
      parts.push(`At ${at.toLocaleString("en-US", { dateStyle: "medium", timeStyle: "medium" })}`);
    }
    const price = (v) => (NUMERIC.test(String(v)) ? livePrice(v) : "—");
    if (quote.bid != null || quote.ask != null) parts.push(`bid ${price(quote.bid)} / ask ${price(quote.ask)}`);
    if (quote.last != null) parts.push(`last ${price(quote.last)}${quote.size != null ? ` × ${quote.size}` : ""}`);
    parts.push(`source ${quote.source || "unknown"}`, `grade ${quote.grade || "unknown"}`);
    return parts.join("; ");
  }

  /** Writes `quote` into a Live cell, flashing it up or down when its price moved from `before`'s. */
  function paintLiveCell(td, quote, before) {
    const price = quotePrice(quote);
    td.classList.toggle("waiting", price === null);
    if (price === null) {
      td.textContent = "—";
      td.title = "No live quote yet";
      delete td.dataset.price;
      return;
    }
    td.textContent = livePrice(price);
    td.title = quoteTitle(quote);
    td.dataset.price = price;
    const was = quotePrice(before);
    if (was === null || Number(was) === Number(price)) return;
    const way = Number(price) > Number(was) ? "live-up" : "live-down";
    td.classList.remove("live-up", "live-down");
    void td.offsetWidth; // restarts the animation
    td.classList.add(way);
    clearTimeout(flashTimers.get(td));
    flashTimers.set(td, setTimeout(() => td.classList.remove(way), LIVE_FLASH_MS));
  }

  // ---------------------------------------------------------------------------------------------
  // Errors
  // ---------------------------------------------------------------------------------------------

  function showAppError(err) {
    $("app-error").textContent = typeof err === "string" ? err : problemMessage(err);
  }

  function clearAppError() {
    $("app-error").textContent = "";
  }

  // ---------------------------------------------------------------------------------------------
  // Start-up
  // ---------------------------------------------------------------------------------------------

  function wire() {
    $("login-form").addEventListener("submit", onLoginSubmit);
    $("logout").addEventListener("click", onLogout);
    $("alerts-bell").addEventListener("click", toggleAlerts);
    $("alert-prefs-form").addEventListener("submit", saveAlertPrefs);
    $("household-select").addEventListener("change", onHouseholdChange);
    $("asof-form").addEventListener("submit", onAsOfApply);
    $("asof-clear").addEventListener("click", () => setAsOf(null));
    $("performance-form").addEventListener("submit", onBenchmarkSubmit);
    $("gains-txf").addEventListener("click", downloadTxf);
    $("harvest-form").addEventListener("submit", (e) => {
      e.preventDefault();
      scanHarvest();
    });
    $("harvest-accept").addEventListener("click", acceptHarvest);
    $("harvest-backtest").addEventListener("click", backtestHarvest);
    $("roth-form").addEventListener("submit", (e) => {
      e.preventDefault();
      planRoth();
    });
    $("plan-form").addEventListener("submit", (e) => {
      e.preventDefault();
      planHousehold();
    });
    $("rebalance-form").addEventListener("submit", (e) => {
      e.preventDefault();
      proposeRebalance();
    });
    $("gains-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const seq = ++state.loadSeq;
      clearAppError();
      loadGains(() => seq === state.loadSeq);
    });
    $("audit-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const seq = ++state.loadSeq;
      clearAppError();
      loadAudit(() => seq === state.loadSeq);
    });
    $("import-form").addEventListener("submit", onImportSubmit);
    $("trade-form").addEventListener("submit", onTradeSubmit);
    $("trade-account").addEventListener("input", onTradeAccountInput);
    $("trade-action").addEventListener("change", onTradeActionChange);
    $("mfa-setup-start").addEventListener("click", onMfaSetupStart);
    $("mfa-enable").addEventListener("click", onMfaEnable);
    $("new-device-dismiss").addEventListener("click", () => { $("new-device-notice").hidden = true; });
    window.addEventListener("hashchange", onHashChange);
  }

  /** Resumes a session kept in this tab's sessionStorage, else shows the sign-in form. */
  async function start() {
    wire();
    $("gains-year").value = String(new Date().getFullYear());
    onTradeActionChange();
    if (sessionStorage.getItem(REFRESH_KEY) && (await tryRefresh())) {
      await enterApp(false);
    } else {
      sessionStorage.removeItem(REFRESH_KEY);
      $("signin").hidden = false;
      $("login-email").focus();
    }
  }

  start();
})();
