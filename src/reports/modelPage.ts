/**
 * `/ui/models/{name}`: one model's report — drift over time with breaches and the champion
 * version of each check, live performance against the holdout figure and the floor, the
 * version timeline from the ledger, and the stored checks a page at a time. Plain HTML with
 * inline SVG (./svg.ts), built from the registry's stored checks and ledger.
 */
import type { MonitorCheckRecord } from '../registry/registry';
import type { VersionLineage } from '../lineage/lineage';
import { colorOf, escapeHtml, timeChart, type TimePoint } from './svg';
import { downsample } from './downsample';
import { page } from './layout';

/** Points drawn per chart at most: breaches always, the rest evenly thinned. */
export const CHART_POINTS = 600;
/** Rows of the checks table per page. */
export const CHECKS_PER_PAGE = 50;

type StoredCheck = MonitorCheckRecord & { id: number };

interface Policy {
  psiThreshold: number;
  aucFloor: number | null;
}

export interface ModelPageInput {
  model: string;
  checks: StoredCheck[];
  versions: VersionLineage[];
  /** 1-based page of the checks table, newest first. */
  page: number;
  /** The latest check with enough data, and its features' distributions beside the training profile's. */
  latest?: { check: StoredCheck; features: string };
}

const performanceOf = (c: StoredCheck) => (c.summary.performance ?? null) as { auc?: number; logLoss?: number } | null;

/** The champion's spec (else the newest version's): the threshold and floor in force. */
function policyOf(versions: VersionLineage[]): Policy {
  const spec = ((versions.find((v) => v.champion) ?? versions.at(-1))?.spec.spec ?? null) as { monitoring?: { drift?: { psiThreshold?: number }; performance?: { min?: { auc?: number } } } } | null;
  return { psiThreshold: spec?.monitoring?.drift?.psiThreshold ?? 0.2, aucFloor: spec?.monitoring?.performance?.min?.auc ?? null };
}

const holdoutOf = (v: VersionLineage | undefined) => ((v?.metrics as { holdout?: { auc?: number; logLoss?: number } } | undefined)?.holdout ?? null);

export function modelPage(input: ModelPageInput): string {
  const { model, checks, versions } = input;
  const policy = policyOf(versions);
  const champion = versions.find((v) => v.champion);
  const scored = checks.filter((c) => c.enoughData);
  const sparse = checks.filter((c) => !c.enoughData);
  const point = (c: StoredCheck, value: number, alarm: boolean, what: string): TimePoint => ({
    atMs: Date.parse(c.at),
    value,
    alarm,
    color: colorOf(c.version),
    title: `check ${c.id} at ${c.at}, v${c.version}: ${what}`,
    data: { check: c.id, version: c.version, breached: c.breached },
  });
  const drift = timeChart({
    id: 'drift',
    title: `Drift score per check (largest PSI; ringed: breached; color: the champion version checked)`,
    series: [
      { name: 'drift score', color: '#4e79a7', points: downsample(scored, CHART_POINTS, (c) => c.breached).map((c) => point(c, c.score, c.breached, `score ${c.score.toFixed(4)}${c.breached ? ` BREACHED (${((c.summary.breachedFeatures as string[]) ?? []).join(', ')})` : ''}`)) },
      { name: 'too little data', color: '#bab0ac', line: false, points: downsample(sparse, CHART_POINTS / 4, () => false).map((c) => ({ ...point(c, 0, false, `too little data (${c.rows} rows)`), color: '#bab0ac' })) },
    ],
    rules: [{ value: policy.psiThreshold, label: `PSI threshold ${policy.psiThreshold}`, color: '#d62728' }],
  });
  const judged = checks.filter((c) => typeof performanceOf(c)?.auc === 'number');
  const holdout = holdoutOf(champion);
  const auc = timeChart({
    id: 'performance',
    title: 'Live AUC per judged check (ringed: below the floor)',
    series: [{ name: 'live AUC', color: '#59a14f', points: downsample(judged, CHART_POINTS, (c) => c.performanceOk === false).map((c) => point(c, performanceOf(c)!.auc!, c.performanceOk === false, `live AUC ${performanceOf(c)!.auc!.toFixed(4)}`)) }],
    rules: [
      ...(typeof holdout?.auc === 'number' ? [{ value: holdout.auc, label: `holdout v${champion!.version} ${holdout.auc.toFixed(3)}`, color: '#4e79a7' }] : []),
      ...(policy.aucFloor !== null ? [{ value: policy.aucFloor, label: `floor ${policy.aucFloor}`, color: '#d62728' }] : []),
    ],
  });
  const logLoss = timeChart({
    id: 'logloss',
    title: 'Live log-loss per judged check',
    series: [{ name: 'live log-loss', color: '#b07aa1', points: downsample(judged, CHART_POINTS, (c) => c.performanceOk === false).map((c) => point(c, performanceOf(c)!.logLoss ?? 0, c.performanceOk === false, `live log-loss ${(performanceOf(c)!.logLoss ?? 0).toFixed(4)}`)) }],
    rules: typeof holdout?.logLoss === 'number' ? [{ value: holdout.logLoss, label: `holdout ${holdout.logLoss.toFixed(3)}`, color: '#4e79a7' }] : [],
  });
  const breaches = checks.filter((c) => c.breached).length;
  const summary = `<p class="summary">${champion ? `champion <b>v${champion.version}</b>` : 'no champion'} · ${versions.length} versions · ${checks.length} checks stored (${breaches} breached, ${sparse.length} with too little data)</p>`;
  const latest = input.latest
    ? `<section class="latest"><h2>Features at the latest check with enough data: <a href="/ui/models/${encodeURIComponent(model)}/checks/${input.latest.check.id}">check ${input.latest.check.id}</a> of v${input.latest.check.version}, ${escapeHtml(input.latest.check.at)}</h2>${input.latest.features}</section>`
    : '';
  return page(`${model} — perennial`, [`<h1>${escapeHtml(model)}</h1>`, summary, drift, auc, logLoss, latest, timeline(model, versions), checksTable(model, checks, input.page)].join('\n'));
}

/** Every version's decisions, in time order: trained, gates, approved/rejected by whom, deployed, replaced, retired. */
function timeline(model: string, versions: VersionLineage[]): string {
  const rows = versions
    .flatMap((v) => v.decisions.map((d) => ({ v, d })))
    .sort((a, b) => a.d.at.localeCompare(b.d.at));
  const body = rows
    .map(
      ({ v, d }) =>
        `<tr class="decision ${escapeHtml(d.decision)}" data-version="${v.version}" data-decision="${escapeHtml(d.decision)}" data-by="${escapeHtml(d.signed_by ?? d.by)}"><td>${escapeHtml(d.at)}</td><td><span class="v" style="color:${colorOf(v.version)}">v${v.version}</span></td><td>${escapeHtml(d.decision)}</td><td>${escapeHtml(d.signed_by ?? d.by)}${d.signed_by ? ' <span class="signed" title="verified signature, key ' + escapeHtml(d.key_fingerprint ?? '') + '">✔ signed</span>' : ''}</td><td>${escapeHtml(d.reason)}</td></tr>`,
    )
    .join('');
  return `<section class="timeline"><h2>Version timeline</h2><table><thead><tr><th>at</th><th>version</th><th>decision</th><th>by</th><th>reason</th></tr></thead><tbody>${body}</tbody></table><p class="hint">Lineage of each version: <code>npx perennial versions ${escapeHtml(model)}</code> or <code>GET /v1/models/${escapeHtml(model)}/versions/{v}</code>.</p></section>`;
}

function checksTable(model: string, checks: StoredCheck[], pageNo: number): string {
  const pages = Math.max(1, Math.ceil(checks.length / CHECKS_PER_PAGE));
  const p = Math.min(Math.max(1, pageNo), pages);
  const newest = [...checks].reverse().slice((p - 1) * CHECKS_PER_PAGE, p * CHECKS_PER_PAGE);
  const base = `/ui/models/${encodeURIComponent(model)}`;
  const rows = newest
    .map((c) => {
      const perf = performanceOf(c);
      return `<tr class="${c.breached ? 'breached' : ''}"><td><a href="${base}/checks/${c.id}">${c.id}</a></td><td>${escapeHtml(c.at)}</td><td>v${c.version}</td><td>${c.rows}</td><td>${c.enoughData ? c.score.toFixed(4) : 'too little data'}</td><td>${c.breached ? `BREACHED: ${escapeHtml(((c.summary.breachedFeatures as string[]) ?? []).join(', '))}` : ''}</td><td>${typeof perf?.auc === 'number' ? perf.auc.toFixed(4) : '-'}</td></tr>`;
    })
    .join('');
  const nav = [p > 1 ? `<a href="${base}?page=${p - 1}">newer</a>` : '', `page ${p} of ${pages}`, p < pages ? `<a href="${base}?page=${p + 1}">older</a>` : ''].filter(Boolean).join(' · ');
  return `<section class="checks"><h2>Checks</h2><table><thead><tr><th>check</th><th>at</th><th>version</th><th>rows</th><th>drift score</th><th>breach</th><th>live AUC</th></tr></thead><tbody>${rows}</tbody></table><p class="nav">${nav}</p></section>`;
}
