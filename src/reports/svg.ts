/**
 * The report pages' charts: inline SVG written on the server, readable without JavaScript.
 * A few hundred lines of our own instead of a charting library: the charts are simple (points
 * over time, paired bars), a page with thousands of checks renders in milliseconds, and every
 * mark carries its data (`data-*` attributes) so a test or a script can read what is drawn.
 */

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const attrs = (data: Record<string, string | number | boolean> | undefined): string =>
  data ? Object.entries(data).map(([k, v]) => ` data-${k}="${escapeHtml(String(v))}"`).join('') : '';

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#bab0ac'];

/** A color per version (or any small integer), stable across charts. */
export const colorOf = (n: number): string => PALETTE[Math.abs(n) % PALETTE.length];

export interface TimePoint {
  atMs: number;
  value: number;
  /** Drawn as a red ring: a breach, a check below the floor. */
  alarm?: boolean;
  color?: string;
  title: string;
  data?: Record<string, string | number | boolean>;
}

export interface TimeChart {
  title: string;
  /** One chart class for tests and styles, e.g. `drift`. */
  id: string;
  series: { name: string; points: TimePoint[]; color: string; line?: boolean }[];
  /** Horizontal reference lines: a threshold, a floor, the holdout figure. */
  rules?: { value: number; label: string; color: string }[];
  width?: number;
  height?: number;
}

const fmtNum = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toFixed(3));
const fmtDate = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

/** Values over time: points (and lines), alarms ringed, reference rules dashed, axes labeled. */
export function timeChart(c: TimeChart): string {
  const width = c.width ?? 960;
  const height = c.height ?? 260;
  const m = { left: 56, right: 150, top: 24, bottom: 36 };
  const all = c.series.flatMap((s) => s.points);
  if (all.length === 0) return `<figure class="chart ${escapeHtml(c.id)}"><figcaption>${escapeHtml(c.title)}</figcaption><p class="empty">nothing to draw yet</p></figure>`;
  let [x0, x1] = extent(all.map((p) => p.atMs));
  if (x0 === x1) [x0, x1] = [x0 - 60_000, x1 + 60_000];
  let [y0, y1] = extent([0, ...all.map((p) => p.value), ...(c.rules ?? []).map((r) => r.value)]);
  if (y0 === y1) y1 = y0 + 1;
  const pad = (y1 - y0) * 0.05;
  y1 += pad;
  const sx = (t: number) => m.left + ((t - x0) / (x1 - x0)) * (width - m.left - m.right);
  const sy = (v: number) => height - m.bottom - ((v - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const out: string[] = [];
  out.push(`<figure class="chart ${escapeHtml(c.id)}"><figcaption>${escapeHtml(c.title)}</figcaption>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(c.title)}">`);
  // Axes: four y ticks, the first and last time.
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    out.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${sy(v).toFixed(1)}" y2="${sy(v).toFixed(1)}" class="grid"/><text x="${m.left - 6}" y="${(sy(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${fmtNum(v)}</text>`);
  }
  out.push(`<text x="${m.left}" y="${height - 8}" class="tick">${fmtDate(x0)}</text><text x="${width - m.right}" y="${height - 8}" text-anchor="end" class="tick">${fmtDate(x1)}</text>`);
  for (const r of c.rules ?? []) {
    out.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${sy(r.value).toFixed(1)}" y2="${sy(r.value).toFixed(1)}" stroke="${r.color}" stroke-dasharray="6 4" class="rule" data-value="${r.value}"/>`);
    out.push(`<text x="${width - m.right + 6}" y="${(sy(r.value) + 4).toFixed(1)}" class="rule-label" fill="${r.color}">${escapeHtml(r.label)}</text>`);
  }
  c.series.forEach((s, i) => {
    if (s.line !== false && s.points.length > 1) {
      const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${sx(p.atMs).toFixed(1)},${sy(p.value).toFixed(1)}`).join('');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.2" opacity="0.6"/>`);
    }
    for (const p of s.points) {
      const x = sx(p.atMs).toFixed(1);
      const y = sy(p.value).toFixed(1);
      out.push(
        `<circle cx="${x}" cy="${y}" r="${p.alarm ? 4.5 : 2.8}" fill="${p.color ?? s.color}"${p.alarm ? ' stroke="#d62728" stroke-width="2.5"' : ''} class="point${p.alarm ? ' alarm' : ''}" data-series="${escapeHtml(s.name)}" data-value="${p.value}" data-at="${new Date(p.atMs).toISOString()}"${attrs(p.data)}><title>${escapeHtml(p.title)}</title></circle>`,
      );
    }
    out.push(`<text x="${width - m.right + 6}" y="${m.top + 14 * (i + 1)}" fill="${s.color}" class="legend">● ${escapeHtml(s.name)}</text>`);
  });
  out.push('</svg></figure>');
  return out.join('');
}

/** Smallest and largest, without spreading a long array into arguments. */
function extent(xs: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of xs) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

export interface PairedBars {
  title: string;
  id: string;
  /** One group per bin or category; the two shares (0..1) side by side. */
  groups: { label: string; training: number; current: number }[];
  width?: number;
  height?: number;
}

/** Two distributions side by side: the training profile's share and the current window's, per bin or category. */
export function pairedBars(c: PairedBars): string {
  const width = c.width ?? 460;
  const height = c.height ?? 200;
  const m = { left: 40, right: 10, top: 20, bottom: 46 };
  const max = Math.max(0.01, ...c.groups.flatMap((g) => [g.training, g.current]));
  const band = (width - m.left - m.right) / Math.max(1, c.groups.length);
  const bar = Math.max(1, band * 0.4);
  const sy = (v: number) => height - m.bottom - (v / max) * (height - m.top - m.bottom);
  const out: string[] = [];
  out.push(`<figure class="chart bars ${escapeHtml(c.id)}"><figcaption>${escapeHtml(c.title)}</figcaption>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(c.title)}">`);
  out.push(`<text x="${m.left - 4}" y="${sy(max) + 4}" text-anchor="end" class="tick">${(max * 100).toFixed(0)}%</text><text x="${m.left - 4}" y="${sy(0)}" text-anchor="end" class="tick">0</text>`);
  c.groups.forEach((g, i) => {
    const x = m.left + i * band + band * 0.1;
    for (const [k, series, color] of [[0, 'training', '#4e79a7'], [1, 'current', '#f28e2b']] as const) {
      const v = series === 'training' ? g.training : g.current;
      out.push(
        `<rect x="${(x + k * bar).toFixed(1)}" y="${sy(v).toFixed(1)}" width="${bar.toFixed(1)}" height="${(sy(0) - sy(v)).toFixed(1)}" fill="${color}" class="bar ${series}" data-series="${series}" data-bin="${escapeHtml(g.label)}" data-share="${v}"><title>${escapeHtml(`${g.label}: ${series} ${(v * 100).toFixed(1)}%`)}</title></rect>`,
      );
    }
    if (c.groups.length <= 16 || i % Math.ceil(c.groups.length / 16) === 0) {
      out.push(`<text x="${(x + bar).toFixed(1)}" y="${height - m.bottom + 12}" text-anchor="end" transform="rotate(-35 ${(x + bar).toFixed(1)} ${height - m.bottom + 12})" class="tick">${escapeHtml(g.label.slice(0, 14))}</text>`);
    }
  });
  out.push(`<text x="${width - m.right}" y="12" text-anchor="end" class="legend"><tspan fill="#4e79a7">■ training</tspan> <tspan fill="#f28e2b">■ current</tspan></text>`);
  out.push('</svg></figure>');
  return out.join('');
}
