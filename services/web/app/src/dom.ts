// Tiny DOM helpers: every element is built with createElement and text nodes, never from HTML strings,
// so nothing a mention says can become markup.

type Attrs = Record<string, string | number | boolean | undefined | null | EventListener>;
export type Child = Node | string | number | null | undefined | false | Child[];

/** Creates an element; `on…` attributes become listeners, `false`/`null` attributes are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value as EventListener);
    } else if (name === "value" && "value" in el) {
      (el as HTMLInputElement).value = String(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children, flattening arrays and skipping empty ones. */
export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces every child of `el`. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A panel with a heading whose body shows "Loading…" until filled. */
export function panel(title: string, testid: string, extra: Child = null): { root: HTMLElement; body: HTMLElement } {
  const body = h("div", { class: "panel-body", "aria-busy": "true" }, h("p", { class: "muted" }, "Loading…"));
  const root = h("section", { class: "panel", "data-testid": testid, "aria-label": title }, h("h2", {}, title), extra, body);
  return { root, body };
}

/** Marks a panel body as filled (screen readers and the browser tests wait on aria-busy). */
export function filled(body: HTMLElement, ...children: Child[]): void {
  replace(body, ...children);
  body.setAttribute("aria-busy", "false");
}

/** An empty state: says what is missing instead of showing a blank chart. */
export function empty(text: string): HTMLElement {
  return h("p", { class: "empty" }, text);
}
