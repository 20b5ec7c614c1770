/**
 * `/ui/models/{name}/checks/{id}`: one monitor check — per feature the training profile's
 * distribution beside the checked window's (bins for numbers, the largest categories for
 * categories) with its KS, PSI and chi-square figures, and the live performance.
 */
import type { DataProfile, FeatureProfile } from '../data/profile';
import type { FeatureDrift } from '../drift/feature';
import type { MonitorCheckRecord } from '../registry/registry';
import { escapeHtml, pairedBars } from './svg';
import { page } from './layout';

/** Categories drawn per feature: the largest by either share; the rest are summed as "other". */
const CATEGORIES_SHOWN = 12;

export interface CheckPageInput {
  check: MonitorCheckRecord & { id: number };
  /** The stored report (`perennial.monitor-check/1`), when its artifact is still there. */
  report: { drift?: { features?: FeatureDrift[]; threshold?: { perTestAlpha: number; psi: number } }; performance?: { reasons?: string[]; metrics?: Record<string, number> | null } } | null;
  /** The checked version's training profile, when its artifact is still there. */
  profile: DataProfile | null;
  /** Category names by feature (the pipeline's vocabularies: code = index). */
  vocabularies: Record<string, string[]>;
}

const fmt = (x: number | undefined, d = 4) => (x === undefined ? '-' : Math.abs(x) < 1e-4 && x !== 0 ? x.toExponential(2) : x.toFixed(d));

export function checkPage(input: CheckPageInput): string {
  const { check: c, report } = input;
  const base = `/ui/models/${encodeURIComponent(c.model)}`;
  const head = `<p><a href="${base}">← ${escapeHtml(c.model)}</a></p><h1>Check ${c.id} of ${escapeHtml(c.model)} v${c.version}</h1>
<p class="summary">${escapeHtml(c.at)} · ${c.rows} rows · ${c.enoughData ? `drift score ${c.score.toFixed(4)}${c.breached ? ' — <b>BREACHED</b>' : ', quiet'}` : 'too little data: nothing decided'}</p>`;
  if (!report?.drift?.features) return page(`check ${c.id} — ${c.model}`, `${head}${GONE}`);
  const perf = report.performance;
  const perfText = perf?.metrics ? Object.entries(perf.metrics).map(([k, v]) => `${k} ${fmt(v)}`).join(' · ') : 'not judged';
  return page(
    `check ${c.id} — ${c.model}`,
    `${head}<h2>Features: training profile vs this window</h2>${featureSection(input)}<h2>Live performance</h2><p>${escapeHtml(perfText)}</p>${perf?.reasons?.length ? `<p class="hint">${escapeHtml(perf.reasons.join('; '))}</p>` : ''}`,
  );
}

const GONE = '<p class="empty">The check\'s report is no longer stored (retention).</p>';

/** Each feature's two distributions and its statistics, as the check's report has them (the check page, and the latest on the model page). */
export function featureSection(input: CheckPageInput): string {
  const { report, profile } = input;
  if (!report?.drift?.features) return GONE;
  // The score's own profile is tested beside the features (monitoring.drift.predictions).
  const profiles = new Map([...(profile?.features ?? []), ...(profile?.prediction ? [profile.prediction] : [])].map((f) => [f.name, f]));
  const features = report.drift.features
    .map((f) => {
      const p = profiles.get(f.name);
      const chart = p && f.current ? distributionChart(f, p, input.vocabularies[f.name] ?? []) : '<p class="empty">not tested (see why below)</p>';
      const stats = [
        f.ks ? `KS ${fmt(f.ks.statistic)} (p ${fmt(f.ks.pvalue)})` : '',
        f.chi2 ? `χ² ${fmt(f.chi2.statistic, 1)} on ${f.chi2.dof} dof (p ${fmt(f.chi2.pvalue)})` : '',
        f.psi !== undefined ? `PSI ${fmt(f.psi)}` : '',
      ].filter(Boolean);
      return `<div class="feature${f.breached ? ' breached' : ''}" data-feature="${escapeHtml(f.name)}" data-breached="${f.breached}" data-psi="${f.psi ?? ''}"><h3>${escapeHtml(f.name)}${f.breached ? ' — BREACHED' : ''}</h3>${chart}<p>${escapeHtml(stats.join(' · ') || '-')}</p>${f.reasons.length ? `<p class="hint">${escapeHtml(f.reasons.join('; '))}</p>` : ''}</div>`;
    })
    .join('');
  return `<div class="features">${features}</div>`;
}

function distributionChart(f: FeatureDrift, p: FeatureProfile, vocabulary: string[]): string {
  const title = `${f.name}: share of rows`;
  if (p.kind === 'numeric' && f.current && 'bins' in f.current) {
    const edges = p.quantileEdges;
    const label = (i: number) => (i === 0 ? `< ${fmt(edges[0], 2)}` : i === edges.length ? `≥ ${fmt(edges[edges.length - 1], 2)}` : `${fmt(edges[i - 1], 2)}–${fmt(edges[i], 2)}`);
    const t = total(p.binCounts);
    const cur = total(f.current.bins);
    return pairedBars({ id: `dist-${f.name}`, title, groups: p.binCounts.map((n, i) => ({ label: label(i), training: n / t, current: (f.current as { bins: number[] }).bins[i] / cur })) });
  }
  if (p.kind === 'categorical' && f.current && 'frequencies' in f.current) {
    const training = p.frequencies;
    const current = f.current.frequencies;
    const t = total(Object.values(training));
    const cur = total(Object.values(current));
    const codes = [...new Set([...Object.keys(training), ...Object.keys(current)])];
    const share = (k: string) => Math.max((training[k] ?? 0) / t, (current[k] ?? 0) / cur);
    codes.sort((a, b) => share(b) - share(a));
    const shown = codes.slice(0, CATEGORIES_SHOWN);
    const rest = codes.slice(CATEGORIES_SHOWN);
    const name = (k: string) => vocabulary[Number(k)] ?? (Number(k) === vocabulary.length ? 'unseen' : `#${k}`);
    const groups = shown.map((k) => ({ label: name(k), training: (training[k] ?? 0) / t, current: (current[k] ?? 0) / cur }));
    if (rest.length) groups.push({ label: `${rest.length} others`, training: total(rest.map((k) => training[k] ?? 0)) / t, current: total(rest.map((k) => current[k] ?? 0)) / cur });
    return pairedBars({ id: `dist-${f.name}`, title, groups });
  }
  return '<p class="empty">no distribution stored for this check</p>';
}

function total(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s || 1;
}
