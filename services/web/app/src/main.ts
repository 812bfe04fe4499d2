// The app shell: who am I (WhoAmI, first without a key so `--auth off` needs no sign-in), the navigation,
// and the router that draws the page the URL names.

import "./style.css";
import { ApiError, governance } from "./api";
import { destroyCharts } from "./charts";
import { h, replace } from "./dom";
import { alertsPage } from "./pages/alerts";
import { cioPage } from "./pages/cio";
import { overviewPage } from "./pages/overview";
import { searchPage } from "./pages/search";
import { topicsPage } from "./pages/topics";
import { currentRoute, href, type Page } from "./route";
import { apiKey, setApiKey, type Identity } from "./session";

const NAV: [Page, string][] = [
  ["overview", "Overview"],
  ["search", "Search"],
  ["topics", "Topics"],
  ["alerts", "Alerts"],
  ["cio", "CIO view"],
];

const main = h("main", { id: "main", tabindex: "-1" });
const nav = h("nav", { "aria-label": "Pages" });
const who = h("div", { class: "who", "data-testid": "who" });
let identity: Identity | null = null;
// Pages that hold resources (the live alert stream) return a cleanup.
let cleanup: (() => void) | void = undefined;

function shell(): void {
  document.body.replaceChildren(
    h("a", { href: "#main", class: "skip", onclick: (e: Event) => (e.preventDefault(), main.focus()) }, "Skip to content"),
    h("header", { class: "top" }, h("a", { href: "#/overview", class: "brand" }, "earshot"), nav, who),
    main,
  );
}

function drawNav(page: Page | null): void {
  replace(
    nav,
    h("ul", {}, NAV.map(([p, label]) => h("li", {}, h("a", { href: href(p), "aria-current": p === page ? "page" : undefined }, label)))),
  );
}

function drawWho(): void {
  if (!identity) return replace(who);
  const signOut = apiKey()
    ? h("button", { type: "button", class: "link", onclick: () => (setApiKey(null), start()) }, "Sign out")
    : null;
  replace(who, h("span", { title: `key ${identity.keyId}` }, `Tenant `, h("strong", { "data-testid": "tenant" }, identity.tenant)), ` · ${identity.roles.join(", ")} `, signOut);
}

function route(): void {
  if (!identity) return;
  cleanup?.();
  cleanup = undefined;
  destroyCharts();
  const { page, params } = currentRoute();
  drawNav(page);
  document.title = `${NAV.find(([p]) => p === page)?.[1] ?? "earshot"} · earshot`;
  main.replaceChildren();
  main.dataset.page = page;
  const draw = { overview: overviewPage, search: searchPage, topics: topicsPage, alerts: alertsPage, cio: cioPage }[page];
  cleanup = draw(main, params);
}

/** The sign-in form: shown when the server wants a key (UNAUTHENTICATED) or refused the one we had. */
function signIn(reason: string): void {
  replace(nav); // nothing to navigate to before the key is accepted
  replace(who);
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", required: true, placeholder: "esk_…", spellcheck: "false" });
  const form = h(
    "form",
    { class: "signin", "data-testid": "signin" },
    h("h1", {}, "Sign in"),
    h("p", { class: "error", role: "alert" }, reason),
    h("label", { for: "api-key" }, "API key"),
    input,
    h("p", { class: "muted" }, "The key is kept for this browser tab only (sessionStorage) and sent as a Bearer token. Create one with ", h("code", {}, "earshot keys create"), "."),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    setApiKey(input.value);
    void start();
  });
  main.replaceChildren(form);
  input.focus();
}

async function start(): Promise<void> {
  identity = null;
  main.replaceChildren(h("p", { class: "muted", "aria-busy": "true" }, "Connecting…"));
  try {
    const r = await governance("WhoAmI");
    identity = { keyId: r.keyId ?? "", tenant: r.tenant ?? "", roles: r.roles ?? [] };
  } catch (e) {
    const err = e instanceof ApiError ? e : new ApiError("UNKNOWN", String(e), 0);
    if (err.status === 401 || err.status === 403) {
      const had = apiKey();
      setApiKey(null);
      return signIn(had ? `That key was refused: ${err.describe()}` : "This server needs an API key.");
    }
    drawNav(null);
    main.replaceChildren(h("div", { class: "error", role: "alert", "data-testid": "fatal" }, h("h1", {}, "earshot is not answering"), h("p", {}, err.describe()), h("button", { type: "button", onclick: () => void start() }, "Try again")));
    return;
  }
  drawWho();
  route();
}

shell();
window.addEventListener("hashchange", route);
void start();
