// The JSON API: the gRPC contract transcoded in process (POST /api/<service>/<Method>, canonical proto3
// JSON both ways). Errors come back as {code, message, violations, retryAfterSeconds}.

import { apiKey } from "./session";

/** One field problem of an INVALID_ARGUMENT answer. */
export interface Violation {
  field: string;
  description: string;
}

/** An API error, in the words the server used. */
export class ApiError extends Error {
  constructor(
    public code: string,
    message: string,
    public status: number,
    public violations: Violation[] = [],
    public retryAfterSeconds = 0,
  ) {
    super(message);
  }

  /** One sentence for the page: the message, then each violation with its field. */
  describe(): string {
    const parts = [this.message || this.code];
    for (const v of this.violations) parts.push(`${v.field}: ${v.description}`);
    return parts.join(" — ");
  }
}

// Reads not yet answerable (replay in progress) and rate limits say when to come back: we wait that
// long a few times before showing the error, so a restart or a burst does not blank the dashboard.
const RETRIES = 3;
const MAX_WAIT_S = 5;

function headers(): Record<string, string> {
  const h: Record<string, string> = { "content-type": "application/json" };
  const key = apiKey();
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

async function toError(res: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's page, an empty body): the status is all we know.
  }
  const code = typeof body.code === "string" ? body.code : `HTTP ${res.status}`;
  const message = typeof body.message === "string" ? body.message : res.statusText || "request failed";
  const violations = Array.isArray(body.violations) ? (body.violations as Violation[]) : [];
  const retry = typeof body.retryAfterSeconds === "number" ? body.retryAfterSeconds : 0;
  return new ApiError(code, message, res.status, violations, retry);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls one RPC, e.g. `call("earshot.v1.SearchService", "Search", {query: "acme"})`. */
export async function call<T = any>(service: string, method: string, body: object = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(`/api/${service}/${method}`, { method: "POST", headers: headers(), body: JSON.stringify(body) });
    } catch (e) {
      throw new ApiError("UNAVAILABLE", `Cannot reach the earshot server (${(e as Error).message}).`, 0);
    }
    if (res.ok) return (await res.json()) as T;
    const err = await toError(res);
    const retryable = (res.status === 429 || res.status === 503) && err.retryAfterSeconds > 0;
    if (!retryable || attempt >= RETRIES) throw err;
    await sleep(Math.min(err.retryAfterSeconds, MAX_WAIT_S) * 1000);
  }
}

/** Shorthands for the services the pages use. */
export const search = (m: string, b: object = {}) => call("earshot.v1.SearchService", m, b);
export const topics = (m: string, b: object = {}) => call("earshot.v1.TopicService", m, b);
export const insights = (m: string, b: object = {}) => call("earshot.v1.InsightsService", m, b);
export const kpis = (m: string, b: object = {}) => call("earshot.v1.KpiService", m, b);
export const governance = (m: string, b: object = {}) => call("earshot.v1.GovernanceService", m, b);

/**
 * Reads a server stream (application/x-ndjson, one message per line) until `signal` aborts or the
 * server ends it; each message goes to `onMessage`. Resolves when the stream ends.
 */
export async function stream<T = any>(
  service: string,
  method: string,
  body: object,
  onMessage: (m: T) => void,
  signal: AbortSignal,
  onOpen: () => void = () => undefined,
): Promise<void> {
  const res = await fetch(`/api/${service}/${method}`, {
    method: "POST",
    headers: headers(),
    body: JSON.stringify(body),
    signal,
  });
  if (!res.ok) throw await toError(res);
  if (!res.body) throw new ApiError("UNAVAILABLE", "The server sent no stream.", res.status);
  onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) onMessage(JSON.parse(line) as T);
    }
  }
}

/** A proto3 JSON uint64/int64 (a string, or missing for 0) as a number. */
export function num(v: unknown): number {
  if (v === undefined || v === null || v === "") return 0;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : 0;
}
