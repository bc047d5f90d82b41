// The status page: reads the daemon's JSON API and shows it. No data lives in the HTML, and
// provider text is only ever set with textContent, never parsed as HTML.
"use strict";

(() => {
  const NAMES = { whatsapp: "WhatsApp", stripe: "Stripe", email: "Email", database: "Database" };
  const ORDER = ["whatsapp", "stripe", "email", "database"];
  const STATUS_TEXT = {
    connected: "Connected",
    not_configured: "Not configured",
    error: "Error",
    pending: "Pending",
    unknown: "Unknown",
  };
  const OVERALL_TEXT = { healthy: "Healthy", degraded: "Degraded", partial: "Partial" };
  const TOKEN_KEY = "integration-monitor-token";
  const ORGANIZATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
  const ERROR_LIST_LIMIT = 50;
  const CHANGES_SHOWN = 20;
  // A browser timer overflows past 2^31 - 1 ms (about 24 days) and then fires at once.
  const MAX_TIMER_MS = 2147483647;

  const $ = (id) => document.getElementById(id);
  const state = {
    config: { refresh_seconds: 60, interval_seconds: 60, fleet: false },
    organization: null,
    snapshot: null,
    statuses: null,
    lastReached: null,
    unreachable: false,
    busy: false,
  };

  class Unauthorized extends Error {
    constructor(sentToken) {
      super("unauthorized");
      this.sentToken = sentToken;
    }
  }
  class Unreachable extends Error {}
  class Failed extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function organizationFromPath() {
    const match = location.pathname.match(/^\/organizations\/([^/]+)\/?$/);
    return match ? decodeURIComponent(match[1]) : null;
  }

  function statusBase() {
    if (state.organization === null) return "/api/integrations";
    return "/api/organizations/" + encodeURIComponent(state.organization) + "/integrations";
  }

  async function api(path, options = {}) {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = "Bearer " + token;
    let response;
    try {
      response = await fetch(path, { ...options, headers, cache: "no-store" });
    } catch (_) {
      throw new Unreachable("unreachable");
    }
    reached(); // any answer, even a refusal, means the daemon is there
    if (response.status === 401) throw new Unauthorized(Boolean(token));
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const said = body && typeof body.error === "string" ? body.error : "HTTP " + response.status;
      throw new Failed(response.status, said);
    }
    return body;
  }

  // --- reachability, freshness -------------------------------------------------------------

  function reached() {
    state.lastReached = new Date();
    if (state.unreachable) {
      state.unreachable = false;
      $("unreachable").hidden = true;
      announce("The monitor is reachable again.");
    }
  }

  function markUnreachable() {
    const flag = $("unreachable");
    if (!state.unreachable) announce("The monitor is unreachable; showing the last data.");
    state.unreachable = true;
    flag.hidden = false;
    renderUnreachable();
  }

  function renderUnreachable() {
    if (!state.unreachable) return;
    const when = state.lastReached;
    $("unreachable").textContent = when
      ? "Unreachable: last reached " + ago(when) + " (" + when.toLocaleTimeString() + ")"
      : "Unreachable: not reached yet";
  }

  function ago(date) {
    const seconds = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
    if (seconds < 5) return "just now";
    if (seconds < 60) return seconds + " s ago";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    return date.toLocaleString();
  }

  // Today's times without the date, older ones with it.
  function when(date) {
    const today = date.toDateString() === new Date().toDateString();
    return today ? date.toLocaleTimeString() : date.toLocaleString();
  }

  function interval() {
    const own = state.config.organization_interval_seconds;
    return state.organization !== null && own ? own : state.config.interval_seconds;
  }

  function renderTimes() {
    const checked = state.snapshot && state.snapshot.last_checked;
    const label = $("last-checked");
    if (!checked) {
      label.textContent = state.snapshot ? "Not checked yet" : label.textContent;
      $("stale").hidden = true;
      renderUnreachable();
      return;
    }
    const at = new Date(checked);
    label.textContent = "Last checked " + ago(at);
    label.title = at.toLocaleString();
    const stale = Date.now() - at.getTime() > 2 * interval() * 1000;
    $("stale").hidden = !stale;
    document.body.classList.toggle("is-stale", stale);
    renderUnreachable();
  }

  // --- rendering ---------------------------------------------------------------------------

  function announce(text) {
    const region = $("announce");
    region.textContent = "";
    // A fresh text node after clearing, so repeating the same words is announced again.
    window.setTimeout(() => {
      region.textContent = text;
    }, 50);
  }

  function show(snapshot) {
    state.snapshot = snapshot;
    $("notice").hidden = true;
    const overall = snapshot.overall_status;
    $("overall").dataset.status = overall;
    $("overall-text").textContent = OVERALL_TEXT[overall] || overall;
    const statuses = {};
    const present = ORDER.filter((name) => name in snapshot.integrations);
    for (const name of present) {
      const entry = snapshot.integrations[name];
      statuses[name] = entry.status;
      renderCard(name, entry);
    }
    for (const card of $("cards").querySelectorAll(".card")) {
      if (!present.includes(card.dataset.integration)) card.remove();
    }
    announceChanges(statuses, overall);
    renderTimes();
  }

  function announceChanges(statuses, overall) {
    const before = state.statuses;
    state.statuses = { ...statuses, overall };
    if (before === null) return;
    const changed = Object.keys(statuses)
      .filter((name) => before[name] !== undefined && before[name] !== statuses[name])
      .map((name) => NAMES[name] + " is now " + (STATUS_TEXT[statuses[name]] || statuses[name]));
    if (before.overall !== overall) {
      changed.unshift("Overall status is now " + (OVERALL_TEXT[overall] || overall));
    }
    if (changed.length) announce(changed.join(". ") + ".");
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function cardFor(name) {
    const id = "card-" + name;
    let card = document.querySelector('.card[data-integration="' + name + '"]');
    if (card) return card;
    card = element("section", "card");
    card.dataset.integration = name;
    card.setAttribute("aria-labelledby", id);
    const head = element("div", "card-head");
    const title = element("h2", "card-title", NAMES[name] || name);
    title.id = id;
    head.append(title, element("span", "badge"));
    card.append(head, element("p", "message"), element("dl", "facts"));
    const cards = $("cards");
    const later = [...cards.children].find(
      (other) => ORDER.indexOf(other.dataset.integration) > ORDER.indexOf(name),
    );
    cards.insertBefore(card, later || null);
    return card;
  }

  function renderCard(name, entry) {
    const card = cardFor(name);
    card.dataset.status = entry.status;
    card.querySelector(".badge").textContent = STATUS_TEXT[entry.status] || entry.status;
    card.querySelector(".message").textContent = entry.message || "";
    const facts = card.querySelector(".facts");
    facts.replaceChildren();
    if (entry.reason) addFact(facts, "Reason", entry.reason);
    if (typeof entry.duration_ms === "number") {
      addFact(facts, "Latency", Math.round(entry.duration_ms) + " ms");
    }
    if (entry.checked_at) addFact(facts, "Checked", when(new Date(entry.checked_at)));
    for (const [key, value] of Object.entries(entry.details || {})) {
      addFact(facts, key.replace(/_/g, " "), describe(key, value));
    }
    if (entry.last_result) {
      const latest = entry.last_result;
      const text = (STATUS_TEXT[latest.status] || latest.status) +
        (latest.reason ? " (" + latest.reason + ")" : "") +
        ", " + latest.consecutive + " in a row";
      addFact(facts, "Latest check", text);
    }
  }

  // Phone numbers read as "+1 555-0100 · CONNECTED · GREEN"; other objects as "key: value".
  function describe(key, value) {
    if (key === "phone_numbers" && Array.isArray(value)) {
      return value
        .map((n) => [n.display_phone_number || n.id, n.status, n.quality_rating]
          .filter((part) => part !== undefined && part !== null && part !== "")
          .join(" · "))
        .join("; ");
    }
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      return Object.entries(value)
        .map(([k, v]) => k.replace(/_/g, " ") + ": " + (typeof v === "object" ? JSON.stringify(v) : String(v)))
        .join(", ");
    }
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  function addFact(list, term, value) {
    const row = element("div", "fact");
    row.append(element("dt", "", term), element("dd", "", value));
    list.append(row);
  }

  // --- history and fleet -------------------------------------------------------------------

  async function loadChanges() {
    const params = new URLSearchParams({ limit: String(CHANGES_SHOWN) });
    if (state.organization !== null) params.set("organization", state.organization);
    const body = await api("/api/integrations/history?" + params);
    const list = $("changes");
    list.replaceChildren(...body.changes.map(changeItem));
    $("changes-empty").hidden = body.changes.length > 0;
  }

  function changeItem(change) {
    const item = element("li", "change");
    const at = new Date(change.at);
    const time = element("time", "when", when(at));
    time.dateTime = change.at;
    const what = element("span", "what");
    if (change.organization && state.organization === null) {
      what.append(organizationLink(change.organization), document.createTextNode(" · "));
    }
    const from = STATUS_TEXT[change.previous] || change.previous;
    const to = STATUS_TEXT[change.current] || change.current;
    what.append(
      element("strong", "", NAMES[change.integration] || change.integration),
      document.createTextNode(": " + from + " → "),
      element("span", "to", to),
    );
    item.dataset.status = change.current;
    const detail = (change.reason ? change.reason + ": " : "") + (change.message || "");
    item.append(time, what, element("span", "detail", detail));
    return item;
  }

  function organizationLink(id, label) {
    const link = element("a", "", label || id);
    link.href = "/organizations/" + encodeURIComponent(id);
    return link;
  }

  async function loadFleet() {
    if (!state.config.fleet || state.organization !== null) return;
    const params = new URLSearchParams({ status: "error", limit: String(ERROR_LIST_LIMIT) });
    const body = await api("/api/organizations?" + params);
    const items = body.organizations.map((organization) => {
      const item = element("li", "organization");
      const label = organization.name ? organization.name + " (" + organization.id + ")" : organization.id;
      const failing = Object.entries(organization.integrations || {})
        .filter(([, entry]) => entry.status === "error")
        .map(([name, entry]) => (NAMES[name] || name) + (entry.reason ? " (" + entry.reason + ")" : ""));
      item.append(organizationLink(organization.id, label), element("span", "detail", failing.join(", ")));
      return item;
    });
    $("fleet-list").replaceChildren(...items);
    const total = body.total;
    let count = total === 1 ? "1 organization has" : total + " organizations have";
    count += " an integration in error";
    if (total > items.length) count += "; the first " + items.length + " by id are listed";
    $("fleet-count").textContent = total === 0 ? "No organization has an integration in error." : count + ".";
  }

  // --- loading, refreshing, the token ------------------------------------------------------

  async function load() {
    try {
      show(await api(statusBase() + "/status"));
      await Promise.all([loadChanges(), loadFleet()]);
    } catch (problem) {
      handle(problem);
    }
  }

  async function refresh() {
    if (state.busy) return;
    const button = $("refresh");
    state.busy = true;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      show(await api(statusBase() + "/refresh", { method: "POST" }));
      await loadChanges();
    } catch (problem) {
      handle(problem);
    } finally {
      state.busy = false;
      button.disabled = false;
      button.setAttribute("aria-busy", "false");
      // A disabled button loses focus; a keyboard user gets it back where they left it.
      if (document.activeElement === document.body) button.focus();
    }
  }

  function handle(problem) {
    if (problem instanceof Unreachable) {
      markUnreachable();
    } else if (problem instanceof Unauthorized) {
      askForToken(problem.sentToken);
    } else if (problem instanceof Failed) {
      notice(problem.status === 404 && state.organization !== null
        ? "Unknown organization: " + state.organization
        : "The monitor answered: " + problem.message);
    } else {
      notice("Something went wrong reading the monitor: " + problem.message);
    }
  }

  function notice(text) {
    const box = $("notice");
    box.textContent = text;
    box.hidden = false;
  }

  function askForToken(sentToken) {
    const form = $("token-form");
    if (sentToken) sessionStorage.removeItem(TOKEN_KEY);
    if (!form.hidden && !sentToken) return; // already asking; keep what it says
    $("token-problem").textContent = sentToken
      ? "Wrong token: the monitor did not accept it. Enter it again."
      : "Unauthorized: this monitor needs its API token.";
    form.hidden = false;
    $("token").focus();
  }

  function useToken(event) {
    event.preventDefault();
    const value = $("token").value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $("token").value = "";
    $("token-form").hidden = true;
    $("refresh").focus();
    load();
  }

  function openOrganization(event) {
    event.preventDefault();
    const id = $("organization-id").value.trim();
    const problem = $("search-problem");
    if (!ORGANIZATION_ID.test(id)) {
      problem.textContent = "An organization id is 1 to 128 letters, digits, or . _ : -";
      problem.hidden = false;
      return;
    }
    problem.hidden = true;
    location.assign("/organizations/" + encodeURIComponent(id));
  }

  // --- start -------------------------------------------------------------------------------

  async function readConfig() {
    try {
      const response = await fetch("/ui/config", { cache: "no-store" });
      if (response.ok) state.config = await response.json();
    } catch (_) {
      markUnreachable();
    }
  }

  function layout() {
    const organization = state.organization;
    if (organization !== null) {
      $("title").textContent = "Organization " + organization;
      document.title = organization + " · Integration status";
      $("back").hidden = false;
    }
    $("fleet").hidden = !(state.config.fleet && organization === null);
    const seconds = state.config.refresh_seconds;
    $("cadence").textContent = "This page re-reads the status every " + seconds + " s.";
  }

  async function start() {
    state.organization = organizationFromPath();
    $("refresh").addEventListener("click", refresh);
    $("token-form").addEventListener("submit", useToken);
    $("search").addEventListener("submit", openOrganization);
    await readConfig();
    layout();
    await load();
    const every = Math.min(state.config.refresh_seconds * 1000, MAX_TIMER_MS);
    window.setInterval(load, every);
    window.setInterval(renderTimes, 1000);
  }

  start();
})();
