// The Boolean query editor: a textarea over a backdrop that repeats the text with each problem's span
// marked, validated (SearchService/Validate) as the analyst types. Spans arrive as UTF-8 byte offsets;
// JavaScript strings index UTF-16 units, so they are converted before marking.

import { search } from "./api";
import { h, replace } from "./dom";

/** The UTF-16 index of UTF-8 byte offset `byte` in `text` (clamped to the text). */
export function byteToIndex(text: string, byte: number): number {
  let bytes = 0;
  let i = 0;
  while (i < text.length && bytes < byte) {
    const cp = text.codePointAt(i) ?? 0;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += cp > 0xffff ? 2 : 1;
  }
  return i;
}

interface Problem {
  message: string;
  start: number;
  end: number;
}

const DEBOUNCE_MS = 250;

export interface Editor {
  root: HTMLElement;
  textarea: HTMLTextAreaElement;
  /** Whether the last validation found the text valid (true until one ran). */
  valid: () => boolean;
}

export function queryEditor(id: string, initial: string, label: string): Editor {
  const backdrop = h("div", { class: "backdrop", "aria-hidden": "true", "data-testid": "query-marks" });
  const textarea = h("textarea", {
    id,
    rows: 2,
    spellcheck: "false",
    autocomplete: "off",
    "aria-describedby": `${id}-problems`,
    placeholder: 'acme AND (outage OR "not working") NOT sentiment:positive',
  });
  textarea.value = initial;
  const problemsList = h("ul", { id: `${id}-problems`, class: "problems", "aria-live": "polite", "data-testid": "problems" });
  const root = h("div", { class: "editor-field" }, h("label", { for: id }, label), h("div", { class: "editor" }, backdrop, textarea), problemsList);
  let problems: Problem[] = [];
  let seq = 0;
  let timer = 0;
  let isValid = true;

  const paint = () => {
    const text = textarea.value;
    const spans = problems
      .map((p) => ({ ...p, s: byteToIndex(text, p.start), e: byteToIndex(text, p.end) }))
      .sort((a, b) => a.s - b.s);
    const parts: (string | HTMLElement)[] = [];
    let at = 0;
    for (const p of spans) {
      if (p.s < at) continue; // overlapping spans: the first one marked wins
      parts.push(text.slice(at, p.s));
      // An empty span (e.g. "a term is missing here") is marked as a caret-wide point.
      parts.push(h("mark", { class: p.e > p.s ? "problem" : "problem point", title: p.message }, p.e > p.s ? text.slice(p.s, p.e) : " "));
      at = Math.max(at, p.e);
    }
    parts.push(text.slice(at) + "\n"); // the newline keeps the backdrop's last line as tall as the textarea's
    replace(backdrop, ...parts);
    replace(
      problemsList,
      ...spans.map((p) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "link",
              onclick: () => {
                textarea.focus();
                textarea.setSelectionRange(p.s, Math.max(p.e, p.s));
              },
            },
            `at ${p.s + 1}${p.e > p.s + 1 ? `–${p.e}` : ""}`,
          ),
          `: ${p.message}`,
        ),
      ),
    );
    textarea.setAttribute("aria-invalid", problems.length ? "true" : "false");
  };

  const validate = async () => {
    const mine = ++seq;
    const text = textarea.value;
    if (!text.trim()) {
      problems = [];
      isValid = true;
      return paint();
    }
    try {
      const r = await search("Validate", { query: text });
      if (mine !== seq) return; // an older answer arriving late must not hide a newer one
      problems = (r.problems ?? []).map((p: any) => ({ message: p.message ?? "", start: p.start ?? 0, end: p.end ?? 0 }));
      isValid = r.valid === true || problems.length === 0;
    } catch (e) {
      if (mine !== seq) return;
      problems = [{ message: `could not check the query: ${(e as Error).message}`, start: 0, end: 0 }];
      isValid = true; // let the search itself answer
    }
    paint();
  };

  textarea.addEventListener("input", () => {
    paint(); // keep the backdrop aligned while the answer is on its way
    clearTimeout(timer);
    timer = window.setTimeout(() => void validate(), DEBOUNCE_MS);
  });
  textarea.addEventListener("scroll", () => (backdrop.scrollTop = textarea.scrollTop));
  // Enter runs the search (Shift+Enter for a new line), as in every search box.
  textarea.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      textarea.form?.requestSubmit();
    }
  });
  paint();
  if (initial) void validate();
  return { root, textarea, valid: () => isValid };
}
