import type { KeyRecord } from '../auth/keyring';
import type { LatestMonitoring, LedgerEntry, LedgerRow, LiveServer, ModelVersion, MonitorCheckRecord, NewVersion, ServerReport, StoredCheck } from './registry';

/** The registry's rows as both stores hold them (same columns, same types: 0/1 for booleans, JSON as text). */

export interface VersionRow {
  model: string;
  version: number;
  artifact_uri: string;
  artifact_sha256: string;
  metrics: string;
  dataset_uri: string;
  dataset_sha256: string;
  spec_hash: string;
  code_version: string;
  profile_uri: string;
  pipeline_uri: string;
  workflow_id: string;
  run_id: string;
  trained_by: string;
  trained_at: string;
  spec_json: string | null;
}

export interface LedgerDbRow {
  id: number;
  model: string;
  version: number | null;
  decision: string;
  by: string;
  identity: string | null;
  reason: string;
  at: string;
  workflow_id: string | null;
  run_id: string | null;
  details: string;
  signed_by: string | null;
  key_fingerprint: string | null;
}

export interface CheckRow {
  id: number;
  model: string;
  version: number;
  at: string;
  rows: number;
  enough_data: number;
  breached: number;
  score: number;
  performance_ok: number | null;
  cursor_from: number;
  cursor_to: number;
  report_uri: string;
  summary: string;
  dedupe_key: string;
}

export interface KeyDbRow {
  seq: number;
  name: string;
  op: 'add' | 'revoke';
  public_key: string;
  fingerprint: string;
  at: string;
  endorsed_by: string | null;
  endorsement: string | null;
}

/** Versions, aliases and sequences: the same DDL in SQLite and PostgreSQL. */
export const CORE_TABLES = `
  CREATE TABLE IF NOT EXISTS sequences (
    model TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (model, name)
  );
  CREATE TABLE IF NOT EXISTS versions (
    model TEXT NOT NULL,
    version INTEGER NOT NULL,
    artifact_uri TEXT NOT NULL,
    artifact_sha256 TEXT NOT NULL,
    metrics TEXT NOT NULL,
    dataset_uri TEXT NOT NULL,
    dataset_sha256 TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    code_version TEXT NOT NULL,
    profile_uri TEXT NOT NULL,
    pipeline_uri TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    trained_by TEXT NOT NULL,
    trained_at TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    spec_json TEXT,
    PRIMARY KEY (model, version),
    UNIQUE (model, workflow_id)
  );
  CREATE TABLE IF NOT EXISTS aliases (
    model TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (model, alias),
    FOREIGN KEY (model, version) REFERENCES versions (model, version)
  );`;

/** The columns of a new version, in the order of VERSION_COLUMNS. */
export const VERSION_COLUMNS = [
  'model', 'version', 'artifact_uri', 'artifact_sha256', 'metrics', 'dataset_uri', 'dataset_sha256', 'spec_hash', 'code_version',
  'profile_uri', 'pipeline_uri', 'workflow_id', 'run_id', 'trained_by', 'trained_at', 'registered_at', 'spec_json',
] as const;

export function versionValues(v: NewVersion, n: number): unknown[] {
  const l = v.lineage;
  return [v.model, n, v.artifactUri, v.artifactSha256, JSON.stringify(v.metrics), l.datasetUri, l.datasetSha256, l.specHash,
    l.codeVersion, l.profileUri, l.pipelineUri, l.workflowId, l.runId, l.trainedBy, l.trainedAt, new Date().toISOString(), v.specJson ?? null];
}

export const LEDGER_COLUMNS = [
  'model', 'version', 'decision', 'by', 'identity', 'reason', 'at', 'workflow_id', 'run_id', 'details', 'dedupe_key', 'signed_by', 'key_fingerprint',
] as const;

export function ledgerValues(e: LedgerEntry & { dedupeKey?: string }): unknown[] {
  return [e.model, e.version ?? null, e.decision, e.by, e.identity ?? null, e.reason, e.at ?? new Date().toISOString(), e.workflowId ?? null,
    e.runId ?? null, JSON.stringify(e.details ?? {}), e.dedupeKey ?? null, e.signer?.name ?? null, e.signer?.fingerprint ?? null];
}

export const CHECK_COLUMNS = [
  'model', 'version', 'at', 'rows', 'enough_data', 'breached', 'score', 'performance_ok', 'cursor_from', 'cursor_to', 'report_uri', 'summary', 'dedupe_key',
] as const;

export function checkValues(c: MonitorCheckRecord): unknown[] {
  return [c.model, c.version, c.at, c.rows, c.enoughData ? 1 : 0, c.breached ? 1 : 0, c.score,
    c.performanceOk === null ? null : c.performanceOk ? 1 : 0, c.cursorFrom, c.cursorTo, c.reportUri, JSON.stringify(c.summary), c.dedupeKey];
}

export const KEY_COLUMNS = ['name', 'op', 'public_key', 'fingerprint', 'at', 'endorsed_by', 'endorsement'] as const;

export function keyValues(r: Omit<KeyRecord, 'seq'>): unknown[] {
  return [r.name, r.op, r.publicKey, r.fingerprint, r.at, r.endorsedBy, r.endorsement];
}

export function toVersion(r: VersionRow): ModelVersion {
  return {
    model: r.model,
    version: r.version,
    artifactUri: r.artifact_uri,
    artifactSha256: r.artifact_sha256,
    metrics: JSON.parse(r.metrics) as Record<string, unknown>,
    lineage: {
      datasetUri: r.dataset_uri,
      datasetSha256: r.dataset_sha256,
      specHash: r.spec_hash,
      codeVersion: r.code_version,
      profileUri: r.profile_uri,
      pipelineUri: r.pipeline_uri,
      workflowId: r.workflow_id,
      runId: r.run_id,
      trainedBy: r.trained_by,
      trainedAt: r.trained_at,
    },
    ...(r.spec_json ? { specJson: r.spec_json } : {}),
  };
}

export function toLedgerRow(r: LedgerDbRow): LedgerRow {
  return {
    id: r.id,
    model: r.model,
    version: r.version ?? undefined,
    decision: r.decision,
    by: r.by,
    identity: r.identity ?? undefined,
    reason: r.reason,
    at: r.at,
    workflowId: r.workflow_id ?? undefined,
    runId: r.run_id ?? undefined,
    details: JSON.parse(r.details) as Record<string, unknown>,
    ...(r.signed_by && r.key_fingerprint ? { signer: { name: r.signed_by, fingerprint: r.key_fingerprint } } : {}),
  };
}

export function toCheck(r: CheckRow): StoredCheck {
  return {
    id: r.id, model: r.model, version: r.version, at: r.at, rows: r.rows, enoughData: r.enough_data === 1, breached: r.breached === 1,
    score: r.score, performanceOk: r.performance_ok === null ? null : r.performance_ok === 1, cursorFrom: r.cursor_from, cursorTo: r.cursor_to,
    reportUri: r.report_uri, summary: JSON.parse(r.summary) as Record<string, unknown>, dedupeKey: r.dedupe_key,
  };
}

/** Key records oldest first, at most `limit` per name. */
export function toKeyRecords(rows: KeyDbRow[], limit: number): KeyRecord[] {
  const perName = new Map<string, number>();
  return rows
    .filter((r) => {
      const n = (perName.get(r.name) ?? 0) + 1;
      perName.set(r.name, n);
      return n <= limit;
    })
    .map((r) => ({ seq: r.seq, name: r.name, op: r.op, publicKey: r.public_key, fingerprint: r.fingerprint, at: r.at, endorsedBy: r.endorsed_by, endorsement: r.endorsement }));
}

/** The latest scored and judged checks of every model, merged per model. */
export function mergeLatestMonitoring(
  scored: { model: string; score: number; breached: number; at: string }[],
  judged: { model: string; auc: number | string | null }[],
): LatestMonitoring[] {
  const models = [...new Set([...scored.map((r) => r.model), ...judged.map((r) => r.model)])].sort();
  return models.map((model) => {
    const s = scored.find((r) => r.model === model);
    const auc = judged.find((r) => r.model === model)?.auc;
    const liveAuc = typeof auc === 'number' ? auc : typeof auc === 'string' && Number.isFinite(Number(auc)) ? Number(auc) : null;
    return { model, scored: s ? { score: s.score, breached: s.breached === 1, atMs: Date.parse(s.at) } : null, liveAuc };
  });
}

/** `$1, $2, …` or `?, ?, …` for n values. */
export function placeholders(n: number, style: 'pg' | 'sqlite', from = 1): string {
  return Array.from({ length: n }, (_, i) => (style === 'pg' ? `$${from + i}` : '?')).join(', ');
}

export interface ServerRow {
  id: string;
  url: string;
  started_at: string;
  seen_ms: number;
  serving: string;
  /** Computed by the query, by the database's clock. */
  age_ms: number;
}

/** A heartbeat as stored: bounded, whatever the reporter sent. */
export function serverValues(r: ServerReport): { id: string; url: string; serving: string } {
  if (!/^[A-Za-z0-9_.:@-]{1,128}$/.test(r.id)) throw new Error(`malformed model server id ${JSON.stringify(r.id.slice(0, 80))}`);
  if (r.serving.length > 100_000) throw new Error(`a model server reported ${r.serving.length} models: at most 100,000`);
  const serving = r.serving.map((m) => ({ model: m.model.slice(0, 256), version: m.version, aliasVersion: m.aliasVersion, loadError: m.loadError?.slice(0, 500) ?? null }));
  return { id: r.id, url: r.url.slice(0, 2048), serving: JSON.stringify(serving) };
}

/** The live servers as stored; a row that is not what a server writes (written by hand) is skipped, not a reason to fail every deploy. */
export function toLiveServers(rows: ServerRow[]): LiveServer[] {
  return rows.flatMap((r) => {
    try {
      const serving = JSON.parse(r.serving) as LiveServer['serving'];
      if (!Array.isArray(serving)) return [];
      return [{ id: r.id, url: r.url, startedAt: r.started_at, lastSeenMsAgo: Math.max(0, Number(r.age_ms)), serving }];
    } catch {
      return [];
    }
  });
}
