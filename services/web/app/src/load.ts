// Loading, empty and error states of a panel in one place: every panel starts "Loading…", then shows
// its content, an empty state in words, or the server's error in words.

import { ApiError } from "./api";
import { filled, h, type Child } from "./dom";

/** The error of a failed call as a paragraph (message, then each field violation). */
export function errorBox(e: unknown): HTMLElement {
  const err = e instanceof ApiError ? e : null;
  const text = err ? err.describe() : String((e as Error)?.message ?? e);
  const hint = err?.status === 403 ? " Your key's role does not allow this view." : "";
  return h("p", { class: "error", role: "alert", "data-code": err?.code ?? "ERROR" }, text + hint);
}

/** Fills `body` with `render(await p)`, or with the error. */
export async function load<T>(body: HTMLElement, p: Promise<T>, render: (v: T) => Child): Promise<T | undefined> {
  try {
    const v = await p;
    filled(body, render(v));
    return v;
  } catch (e) {
    filled(body, errorBox(e));
    return undefined;
  }
}
