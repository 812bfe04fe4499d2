// Chart.js, registered piecemeal so the bundle carries only what the pages draw. Canvas charts are not
// reachable by keyboard or screen readers, so every chart comes with a table of the same numbers whose
// cells are the drill-down links (and the browser tests read those numbers).

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from "chart.js";
import { h, type Child } from "./dom";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Tooltip, Legend, Filler);
// Charts appear at once: animation only delays what the analyst (and a screenshot) sees.
Chart.defaults.animation = false;
Chart.defaults.font.family = "system-ui, sans-serif";
Chart.defaults.maintainAspectRatio = false;

export const COLORS: Record<string, string> = {
  positive: "#2e7d32",
  neutral: "#8d99a6",
  negative: "#c62828",
  unclassified: "#c9d1d9",
  volume: "#1f5fbf",
  expected: "#e0a100",
  kpi: "#6a3fb5",
};
const PALETTE = ["#1f5fbf", "#e0a100", "#2e7d32", "#c62828", "#6a3fb5", "#00838f", "#ad1457", "#5d4037"];
export const paletteColor = (i: number) => PALETTE[i % PALETTE.length];

// Charts of the page on screen; destroyed when the page changes so their resize observers go too.
const live: Chart[] = [];
export function destroyCharts(): void {
  while (live.length) live.pop()?.destroy();
}

export interface Series {
  label: string;
  data: number[];
  color: string;
  type?: "bar" | "line";
  axis?: "y" | "y2";
  dashed?: boolean;
}

export interface ChartSpec {
  kind: "bar" | "line";
  labels: string[];
  series: Series[];
  stacked?: boolean;
  horizontal?: boolean;
  /** Second y axis title, when a series uses "y2". */
  y2?: string;
  /** What a click on point `index` of series `series` opens (a URL), if anything. */
  link?: (index: number, series: number) => string | null;
  /** One sentence for screen readers. */
  summary: string;
  height?: number;
}

/** A chart in a sized box; clicking a point or bar follows `spec.link`. */
export function chart(spec: ChartSpec): HTMLElement {
  const canvas = h("canvas", { role: "img", "aria-label": spec.summary });
  const box = h("div", { class: "chart", style: `height:${spec.height ?? 240}px` }, canvas);
  const config: ChartConfiguration = {
    type: spec.kind,
    data: {
      labels: spec.labels,
      datasets: spec.series.map((s) => ({
        type: s.type ?? spec.kind,
        label: s.label,
        data: s.data,
        backgroundColor: s.color,
        borderColor: s.color,
        borderDash: s.dashed ? [6, 4] : undefined,
        pointRadius: spec.labels.length > 60 ? 0 : 3,
        pointHitRadius: 8,
        borderWidth: (s.type ?? spec.kind) === "line" ? 2 : 0,
        yAxisID: s.axis ?? "y",
      })),
    },
    options: {
      indexAxis: spec.horizontal ? "y" : "x",
      interaction: { mode: "nearest", intersect: true },
      plugins: { legend: { display: spec.series.length > 1, position: "bottom" } },
      scales: {
        x: { stacked: spec.stacked, ticks: { maxRotation: 0, autoSkip: true } },
        y: { stacked: spec.stacked, beginAtZero: spec.kind === "bar" },
        ...(spec.y2 ? { y2: { position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: spec.y2 } } } : {}),
      },
      onClick: (_e, elements) => {
        const hit = elements[0];
        const url = hit && spec.link ? spec.link(hit.index, hit.datasetIndex) : null;
        if (url) location.hash = url.replace(/^#/, "");
      },
      onHover: (e, elements) => {
        const target = e.native?.target as HTMLElement | undefined;
        if (target) target.style.cursor = elements.length && spec.link ? "pointer" : "default";
      },
    },
  };
  // Chart.js measures its parent: create it once the box is in the document.
  requestAnimationFrame(() => {
    if (canvas.isConnected) live.push(new Chart(canvas, config));
  });
  return box;
}

/** A table; `numeric` columns are right-aligned. Cells may be links (the drill-downs). */
export function table(caption: string, columns: string[], rows: Child[][], numeric: number[] = [], testid?: string): HTMLElement {
  return h(
    "table",
    { class: "data", "data-testid": testid },
    h("caption", { class: "sr-only" }, caption),
    h("thead", {}, h("tr", {}, columns.map((c, i) => h("th", { scope: "col", class: numeric.includes(i) ? "num" : undefined }, c)))),
    h(
      "tbody",
      {},
      rows.map((r) => h("tr", {}, r.map((cell, i) => (i === 0 ? h("th", { scope: "row" }, cell) : h("td", { class: numeric.includes(i) ? "num" : undefined }, cell))))),
    ),
  );
}

/** A chart's table folded away under "Show the numbers", so the page stays short. */
export function numbers(tableEl: HTMLElement, open = false): HTMLElement {
  return h("details", { class: "numbers", open }, h("summary", {}, "Show the numbers"), tableEl);
}

/** A drill-down link showing a count. */
export function drill(url: string, text: Child, label: string): HTMLElement {
  return h("a", { href: url, class: "drill", title: label, "aria-label": label }, text);
}
