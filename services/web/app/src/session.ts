// The API key lives in sessionStorage only: it goes away with the tab, and is never written to the URL,
// localStorage or a cookie.

const KEY = "earshot.apiKey";

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY, key.trim());
  else sessionStorage.removeItem(KEY);
}

/** Who the dashboard is talking as (GovernanceService/WhoAmI). */
export interface Identity {
  keyId: string;
  tenant: string;
  roles: string[];
}
