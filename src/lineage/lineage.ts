/**
 * Lineage a person can ask for: every version with what it was made of and who decided
 * about it, and any logged prediction traced back to the version that made it. The same
 * objects answer `npx perennial versions|explain` and the model server's
 * `GET /v1/models/{name}/versions/{v}` and `…/predictions/{request_id}`; field names follow
 * the HTTP API (snake_case).
 */
import { readJsonArtifact } from '../artifacts/read';
import type { FittedPipeline } from '../features/pipeline';
import { predictedLabel } from '../ml/metrics';
import type { LedgerRow, ModelVersion, Registry } from '../registry/registry';
import type { PredictionRow } from '../serving/predictionLog';
import { REQUEST_ID_PATTERN } from '../util/uuidv7';
import { BoundedCache, cachedPromise } from '../util/boundedCache';

export interface VersionDecision {
  decision: string;
  by: string;
  /** The name a verified signature proved (null: unsigned, e.g. perennial's own decisions). */
  signed_by: string | null;
  key_fingerprint: string | null;
  /** The Temporal client identity that sent it, when known. */
  identity: string | null;
  at: string;
  reason: string;
}

export interface VersionLineage {
  model: string;
  version: number;
  trained_at: string;
  trained_by: string;
  /** A python trainer also names its entrypoint and the sha256 of the file that ran. */
  trainer: { type: string; params: Record<string, unknown>; entrypoint?: string; code_sha256?: string } | null;
  metrics: Record<string, unknown>;
  data: { snapshot_uri: string; sha256: string };
  /** The spec it was trained under (null: registered before specs were stored). */
  spec: { hash: string; spec: unknown };
  code_version: string;
  artifact: { uri: string; sha256: string };
  profile_uri: string;
  pipeline_uri: string;
  training: { workflow_id: string; run_id: string };
  /** Every ledger entry about this version, oldest first: trained, gates, approved or rejected, deployed, replaced (by a newer champion or a rollback), retired. */
  decisions: VersionDecision[];
  /** Who approved it: the verified names where the approval was signed. */
  approved_by: string[];
  /** Whether it is the `champion` alias now. */
  champion: boolean;
}

export interface PredictionExplanation {
  request_id: string;
  model: string;
  model_version: number;
  made_at: string;
  score: number;
  /** The label served. */
  predicted_label: 0 | 1;
  /** The true label, once it was sent back (null: none yet). */
  label: 0 | 1 | null;
  labeled_at: string | null;
  /** The instance as the client sent it. */
  inputs: unknown;
  /** The features computed from it, by name (null: missing). */
  features: Record<string, number | null>;
  /** The version that made the prediction, with its lineage and approvals. */
  version: VersionLineage;
}

/** What asking about a prediction gives: the explanation, or why not (the CLI's codes; HTTP 400 and 404). */
export type Explained = { ok: true; explanation: PredictionExplanation } | { ok: false; code: 'bad_input' | 'not_found'; message: string };

/** A model's versions, oldest first, each with its lineage and the ledger's decisions about it. */
export async function versionsOf(registry: Registry, model: string): Promise<VersionLineage[]> {
  const ledger = await registry.ledger(model);
  const champion = (await registry.alias(model, 'champion'))?.version ?? null;
  return (await registry.versions(model)).map((v) => lineageOf(v, ledger.filter((e) => about(e, v.version)), champion));
}

/** One version's lineage, or undefined when the registry has no such version. */
export async function versionOf(registry: Registry, model: string, version: number): Promise<VersionLineage | undefined> {
  const v = await registry.get(model, version);
  if (!v) return undefined;
  return lineageOf(v, await registry.ledgerOf(model, version), (await registry.alias(model, 'champion'))?.version ?? null);
}

/**
 * A logged prediction of `model` with its inputs, features by name, and the lineage of the
 * version that made it. `find` reads the prediction log (the CLI's file, the server's writer thread).
 */
export async function explainRequest(
  registry: Registry,
  model: string,
  requestId: string,
  find: (requestId: string) => PredictionRow | undefined | Promise<PredictionRow | undefined>,
): Promise<Explained> {
  if (!REQUEST_ID_PATTERN.test(requestId)) {
    return { ok: false, code: 'bad_input', message: `malformed request id ${JSON.stringify(requestId.slice(0, 80))}: expected the request_id a prediction was answered with (a UUID)` };
  }
  const row = await find(requestId);
  if (!row || row.model !== model) return { ok: false, code: 'not_found', message: `${model} has no logged prediction ${requestId}` };
  const version = await versionOf(registry, row.model, row.modelVersion);
  if (!version) return { ok: false, code: 'not_found', message: `the prediction ${requestId} was made by ${row.model} v${row.modelVersion}, which this registry does not have` };
  const names = await featureNames(version.pipeline_uri);
  return {
    ok: true,
    explanation: {
      request_id: row.requestId,
      model: row.model,
      model_version: row.modelVersion,
      made_at: row.at,
      score: row.score,
      predicted_label: predictedLabel(row.score),
      label: row.label,
      labeled_at: row.labeledAt,
      inputs: row.instance,
      features: Object.fromEntries(row.features.map((v, i) => [names[i] ?? `feature_${i}`, v])),
      version,
    },
  };
}

/** Feature names by pipeline artifact: content-addressed, so never stale. */
const namesByPipeline = new BoundedCache<string, Promise<string[]>>(256);

async function featureNames(pipelineUri: string): Promise<string[]> {
  try {
    return await cachedPromise(namesByPipeline, pipelineUri, async () => ((await readJsonArtifact(pipelineUri)) as FittedPipeline).features.map((f) => f.name));
  } catch {
    // A pipeline artifact removed by hand: the values still show, numbered.
    return [];
  }
}

/** A ledger entry about version `v`, or a deploy that replaced it. */
function about(e: LedgerRow, v: number): boolean {
  return e.version === v || (e.decision === 'deployed' && e.details?.previous === v);
}

function lineageOf(v: ModelVersion, ledger: LedgerRow[], champion: number | null): VersionLineage {
  const spec = storedSpec(v.specJson);
  // A version replaced by another's deploy (a newer champion, or a rollback) is told so on its own page too.
  const decisions = ledger.map((e) => (e.version === v.version ? toDecision(e) : { ...toDecision(e), decision: 'replaced', reason: `v${e.version} deployed in its place: ${e.reason}` }));
  return {
    model: v.model,
    version: v.version,
    trained_at: v.lineage.trainedAt,
    trained_by: v.lineage.trainedBy,
    trainer: spec?.trainer ? trainerOf(spec.trainer) : null,
    metrics: v.metrics,
    data: { snapshot_uri: v.lineage.datasetUri, sha256: v.lineage.datasetSha256 },
    spec: { hash: v.lineage.specHash, spec },
    code_version: v.lineage.codeVersion,
    artifact: { uri: v.artifactUri, sha256: v.artifactSha256 },
    profile_uri: v.lineage.profileUri,
    pipeline_uri: v.lineage.pipelineUri,
    training: { workflow_id: v.lineage.workflowId, run_id: v.lineage.runId },
    decisions,
    approved_by: decisions.filter((d) => d.decision === 'approved').map((d) => d.signed_by ?? d.by),
    champion: champion === v.version,
  };
}

interface StoredTrainer {
  type: string;
  params?: Record<string, unknown>;
  entrypoint?: string;
  code?: { sha256: string };
}

/** The trainer as lineage names it: a user's trainer by its entrypoint and the sha256 of the code that ran. */
function trainerOf(t: StoredTrainer): NonNullable<VersionLineage['trainer']> {
  return { type: t.type, params: t.params ?? {}, ...(t.entrypoint ? { entrypoint: t.entrypoint } : {}), ...(t.code ? { code_sha256: t.code.sha256 } : {}) };
}

function storedSpec(json: string | undefined): { trainer?: StoredTrainer } | null {
  if (!json) return null;
  try {
    return JSON.parse(json) as { trainer?: StoredTrainer };
  } catch {
    return null;
  }
}

function toDecision(e: LedgerRow): VersionDecision {
  return {
    decision: e.decision,
    by: e.by,
    signed_by: e.signer?.name ?? null,
    key_fingerprint: e.signer?.fingerprint ?? null,
    identity: e.identity ?? null,
    at: e.at,
    reason: e.reason,
  };
}
