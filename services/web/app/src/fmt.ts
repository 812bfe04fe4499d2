// Number formats used on every page, in one place so the tests know what to expect.

const intFmt = new Intl.NumberFormat("en-US");

/** 12,345 */
export const int = (n: number) => intFmt.format(Math.round(n));

/** 12.3% (a share in 0..1). */
export const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

/** +0.12 / −0.12, for changes. */
export const signed = (n: number, digits = 2) => `${n > 0 ? "+" : n < 0 ? "−" : "±"}${Math.abs(n).toFixed(digits)}`;

/** +12.3% / −4.0% for a relative change. */
export const signedPct = (r: number) => `${r > 0 ? "+" : r < 0 ? "−" : "±"}${(Math.abs(r) * 100).toFixed(1)}%`;

/** A fixed number of decimals. */
export const fixed = (n: number, digits = 2) => n.toFixed(digits);
