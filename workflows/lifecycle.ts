import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  allHandlersFinished,
  condition,
  currentUpdateInfo,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type SignalDefinition,
} from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import type { Activities } from '../activities';
import type { ModelSpec } from '../src/spec/modelSpec';
import { ModelSpec as ModelSpecSchema } from '../src/spec/modelSpec';
import {
  ActorRequest,
  Decision,
  HISTORY_LIMIT,
  REFUSED_LIMIT,
  RollbackRequest,
  type HistoryEntry,
  type LifecycleStatus,
  type Metrics,
  type Refusal,
  type Stage,
} from '../src/lifecycle/contract';
import { evaluateGate } from '../src/lifecycle/gate';
import type { ActionSource } from '../src/lifecycle/identity';
import { durationMs } from '../src/util/duration';
import { PerennialCandidate, PerennialChampion, PerennialModel, PerennialStage } from '../src/temporal/searchAttributes';
import { NON_RETRYABLE_FAILURES } from '../src/training/failureTypes';
import { trainingPipeline, type TrainingResult } from './trainingPipeline';

export interface LifecycleInput {
  spec: ModelSpec;
  specHash: string;
  /** Who started the lifecycle: the first training runs on their behalf. */
  startedBy: string;
  /** Whether the namespace has perennial's search attributes (default true). */
  searchAttributes?: boolean;
}

export interface ActionAck {
  accepted: true;
  message: string;
}

export const statusQuery = defineQuery<LifecycleStatus>('status');
export const approveUpdate = defineUpdate<ActionAck, [Decision]>('approve');
export const rejectUpdate = defineUpdate<ActionAck, [Decision]>('reject');
export const rollbackUpdate = defineUpdate<ActionAck, [RollbackRequest]>('rollback');
export const retireUpdate = defineUpdate<ActionAck, [ActorRequest]>('retire');
export const retrainNowUpdate = defineUpdate<ActionAck, [ActorRequest]>('retrainNow');
export const updateSpecUpdate = defineUpdate<ActionAck, [{ spec: unknown; by: string; reason: string }]>('updateSpec');
// The same actions as signals, for `temporal workflow signal` and the Web UI's "Send a Signal".
export const approveSignal = defineSignal<[unknown]>('approve');
export const rejectSignal = defineSignal<[unknown]>('reject');
export const rollbackSignal = defineSignal<[unknown]>('rollback');
export const retireSignal = defineSignal<[unknown]>('retire');
export const retrainNowSignal = defineSignal<[unknown]>('retrainNow');

interface Candidate {
  version: number;
  metrics: Metrics;
  baseRate: Metrics;
  championOnSameHoldout: Metrics | null;
  gate: NonNullable<LifecycleStatus['candidate']>['gate'];
  trainedBy: string;
  trainingWorkflowId: string;
  approvalDeadline: string;
}

interface PendingAction<T> {
  payload: T;
  source: ActionSource;
}

const hashing = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 10 },
  summary: 'hash the updated spec',
});

const ledgerStep = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumAttempts: 20 },
  summary: 'record the decision in the promotion ledger',
});

/**
 * `lifecycle/<model>`: one durable workflow per model. It trains (the training pipeline
 * as a child), gates the candidate, waits for a human decision, promotes, and serves —
 * for as long as the model lives. Decisions only: everything it needs from the world
 * arrives through activities.
 */
export async function lifecycle(input: LifecycleInput): Promise<LifecycleStatus> {
  const { workflowId, runId } = workflowInfo();
  let spec = input.spec;
  let specHash = input.specHash;
  let specVersion = 1;
  let stage = 'TRAINING' as Stage;
  let champion: LifecycleStatus['champion'] = null;
  let candidate: Candidate | null = null;
  const approvedVersions: number[] = [];
  const history: HistoryEntry[] = [];
  const refused: Refusal[] = [];
  let ledgerSeq = 0;
  let decision: (PendingAction<Decision> & { kind: 'approve' | 'reject' }) | null = null;
  let rollback: PendingAction<RollbackRequest> | null = null;
  let retire: PendingAction<ActorRequest> | null = null;
  let retrain: PendingAction<ActorRequest> | null = null;
  let deployTarget: { version: number; metrics: Metrics; reason: string } | null = null;

  const model = spec.name;
  const now = () => new Date().toISOString();

  // ---- reading the state --------------------------------------------------------------

  const waitingFor = (): string => {
    switch (stage) {
      case 'TRAINING':
        return 'the training run to finish';
      case 'AWAITING_APPROVAL':
        return `a decision on v${candidate?.version} by one of ${spec.approval.approvers.join(', ')} before ${candidate?.approvalDeadline}`;
      case 'DEPLOYING':
        return `the model server to serve v${deployTarget?.version}`;
      case 'SERVING':
        return `nothing: v${champion?.version} is served (rollback or retire at any time)`;
      case 'IDLE':
        return 'nothing: no champion yet and nothing in progress';
      case 'PAUSED':
        return 'resume';
      case 'RETIRED':
        return 'nothing: retired';
    }
  };

  const status = (): LifecycleStatus => ({
    model,
    stage,
    champion,
    candidate: candidate && { ...candidate },
    waitingFor: waitingFor(),
    specVersion,
    specHash,
    history: [...history],
    refused: [...refused],
  });

  const approveCommand = (v: number) => `npx perennial approve ${model} --version ${v} --by <you> --reason "<why>"`;

  const metricsLine = (m: Metrics) => `AUC ${m.auc.toFixed(4)}, log-loss ${m.logLoss.toFixed(4)}`;

  const useSearchAttributes = input.searchAttributes !== false;

  const refresh = () => {
    if (useSearchAttributes) upsertSearchAttributes([
      { key: PerennialModel, value: model },
      { key: PerennialStage, value: stage },
      { key: PerennialChampion, value: champion?.version ?? null },
      { key: PerennialCandidate, value: candidate?.version ?? null },
    ]);
    const lines = [
      `**${model}** — ${stage}`,
      `champion: ${champion ? `v${champion.version} (${metricsLine(champion.metrics)})` : 'none'}`,
      `candidate: ${candidate ? `v${candidate.version} (${metricsLine(candidate.metrics)}; base rate log-loss ${candidate.baseRate.logLoss.toFixed(4)})` : 'none'}`,
      `waiting for: ${waitingFor()}`,
    ];
    if (stage === 'AWAITING_APPROVAL' && candidate) lines.push('', `approve: \`${approveCommand(candidate.version)}\``);
    setCurrentDetails(lines.join('\n\n'));
  };

  const note = (event: string, extra: Omit<HistoryEntry, 'at' | 'event'> = {}) => {
    history.push({ at: now(), event, ...extra });
    if (history.length > HISTORY_LIMIT) history.splice(0, history.length - HISTORY_LIMIT);
  };

  const record = async (decisionName: string, e: { version?: number; by: string; reason: string; details?: Record<string, unknown> }, source?: ActionSource) => {
    note(decisionName, { version: e.version, by: e.by, reason: e.reason });
    await ledgerStep.recordDecision({
      entry: { model, decision: decisionName, workflowId, runId, ...e },
      dedupeKey: `${workflowId}:${runId}:${++ledgerSeq}`,
      source,
    });
  };

  const refuse = (action: string, via: Refusal['via'], reason: string, by?: string) => {
    refused.push({ at: now(), action, via, by, reason });
    if (refused.length > REFUSED_LIMIT) refused.splice(0, refused.length - REFUSED_LIMIT);
    log.warn('refused action', { action, via, by, reason });
  };

  // ---- checking human actions: the same rules for updates and signals ------------------

  type Check<T> = { ok: true; value: T } | { ok: false; reason: string; by?: string };

  function parsed<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, raw: unknown): Check<T> {
    const r = schema.safeParse(raw);
    if (r.success) return { ok: true, value: r.data };
    const by = typeof raw === 'object' && raw && typeof (raw as { by?: unknown }).by === 'string' ? (raw as { by: string }).by : undefined;
    return { ok: false, by, reason: `malformed payload: ${r.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ')}` };
  }

  function checkDecision(kind: 'approve' | 'reject', raw: unknown): Check<Decision> {
    const p = parsed<Decision>(Decision, raw);
    if (!p.ok) return p;
    const d = p.value;
    const no = (reason: string): Check<Decision> => ({ ok: false, reason, by: d.by });
    if (stage !== 'AWAITING_APPROVAL' || !candidate) return no(`no candidate is awaiting approval (stage ${stage})`);
    if (decision) return no(`v${candidate.version} was already ${decision.kind === 'approve' ? 'approved' : 'rejected'} by ${decision.payload.by}`);
    if (d.version !== candidate.version) {
      return no(`v${d.version} is ${d.version < candidate.version ? 'stale' : 'unknown'}: the pending candidate is v${candidate.version}`);
    }
    if (!spec.approval.approvers.includes(d.by)) return no(`${d.by} is not an allowed approver (allowed: ${spec.approval.approvers.join(', ')})`);
    if (kind === 'approve' && spec.approval.separationOfDuties && d.by === candidate.trainedBy) {
      return no(`${d.by} started the training of v${candidate.version}; separation of duties needs another approver`);
    }
    return p;
  }

  function checkRollback(raw: unknown): Check<RollbackRequest> {
    const p = parsed<RollbackRequest>(RollbackRequest, raw);
    if (!p.ok) return p;
    const r = p.value;
    const no = (reason: string): Check<RollbackRequest> => ({ ok: false, reason, by: r.by });
    if (stage !== 'SERVING' && stage !== 'IDLE') return no(`cannot roll back while ${stage}; wait until the lifecycle is SERVING or IDLE`);
    if (rollback) return no(`a rollback to v${rollback.payload.toVersion} is already in progress`);
    if (!approvedVersions.includes(r.toVersion)) {
      return no(`v${r.toVersion} was never approved and served here (approved: ${approvedVersions.map((v) => `v${v}`).join(', ') || 'none'})`);
    }
    if (champion?.version === r.toVersion) return no(`v${r.toVersion} is already the champion`);
    return p;
  }

  function checkRetire(raw: unknown): Check<ActorRequest> {
    const p = parsed<ActorRequest>(ActorRequest, raw);
    if (!p.ok) return p;
    const no = (reason: string): Check<ActorRequest> => ({ ok: false, reason, by: p.value.by });
    if (stage === 'RETIRED' || retire) return no('the lifecycle is already retired or retiring');
    if (stage === 'TRAINING' || stage === 'DEPLOYING') return no(`cannot retire while ${stage}; try again when it is done`);
    return p;
  }

  function checkRetrain(raw: unknown): Check<ActorRequest> {
    const p = parsed<ActorRequest>(ActorRequest, raw);
    if (!p.ok) return p;
    const no = (reason: string): Check<ActorRequest> => ({ ok: false, reason, by: p.value.by });
    if (retrain || stage === 'TRAINING') return no('a training is already in progress');
    if (stage === 'AWAITING_APPROVAL') return no(`cannot retrain while v${candidate?.version} awaits a decision; approve or reject it first`);
    if (stage !== 'SERVING' && stage !== 'IDLE') return no(`cannot retrain while ${stage}; try again when it is done`);
    return p;
  }

  const updateSource = (): ActionSource => ({ kind: 'update', updateId: currentUpdateInfo()?.id ?? '' });

  // ---- handlers ---------------------------------------------------------------------------

  setHandler(statusQuery, status);

  /**
   * One human action, as an update and as a signal, under the same rules: a refused
   * update throws from its validator (the caller gets the reason, nothing changes); a
   * refused signal changes nothing and is listed in `status.refused`.
   */
  function onAction<T extends Record<string, unknown>>(
    name: string,
    update: UpdateDefinition<ActionAck, [T]>,
    signal: SignalDefinition<[unknown]>,
    check: (raw: unknown) => Check<T>,
    accept: (value: T, source: ActionSource) => string,
  ): void {
    setHandler(update, (value) => ({ accepted: true, message: accept(value, updateSource()) }), {
      validator: (raw) => {
        const c = check(raw);
        if (!c.ok) throw new Error(c.reason);
      },
    });
    setHandler(signal, (raw) => {
      const c = check(raw);
      if (c.ok) accept(c.value, { kind: 'signal', name, match: { ...c.value } });
      else refuse(name, 'signal', c.reason, c.by);
    });
  }

  for (const kind of ['approve', 'reject'] as const) {
    onAction(kind, kind === 'approve' ? approveUpdate : rejectUpdate, kind === 'approve' ? approveSignal : rejectSignal, (raw) => checkDecision(kind, raw), (d, source) => {
      decision = { kind, payload: d, source };
      refresh();
      return `v${d.version} ${kind === 'approve' ? 'approved' : 'rejected'} by ${d.by}`;
    });
  }
  onAction('rollback', rollbackUpdate, rollbackSignal, checkRollback, (r, source) => {
    rollback = { payload: r, source };
    return `rolling back to v${r.toVersion}`;
  });
  onAction('retire', retireUpdate, retireSignal, checkRetire, (r, source) => {
    retire = { payload: r, source };
    return `retiring ${model}`;
  });
  onAction('retrainNow', retrainNowUpdate, retrainNowSignal, checkRetrain, (r, source) => {
    retrain = { payload: r, source };
    return `retraining ${model} for ${r.by}`;
  });

  setHandler(
    updateSpecUpdate,
    async (req) => {
      const next = ModelSpecSchema.parse(req.spec);
      // The sha256 of the new spec, as lineage records it. Lifecycles started before this
      // change recorded `v<N>` instead: patched() keeps their histories replayable.
      const nextHash = patched('spec-hash-by-activity') ? await hashing.hashSpec({ spec: next }) : `v${specVersion + 1}`;
      spec = next;
      specVersion++;
      specHash = nextHash;
      refresh();
      await record('spec-updated', { by: req.by, reason: req.reason, details: { specVersion, spec: next } }, updateSource());
      return { accepted: true, message: `spec version ${specVersion} in force` };
    },
    {
      validator: (req) => {
        const actor = ActorRequest.safeParse({ by: req?.by, reason: req?.reason });
        if (!actor.success) throw new Error(`malformed payload: ${actor.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        const next = ModelSpecSchema.safeParse(req.spec);
        if (!next.success) throw new Error(`invalid spec: ${next.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        if (next.data.name !== model) throw new Error(`the spec is for ${next.data.name}, this lifecycle runs ${model}`);
      },
    },
  );

  // ---- stages -------------------------------------------------------------------------------

  const backToRest = () => {
    candidate = null;
    decision = null;
    stage = champion ? 'SERVING' : 'IDLE';
  };

  async function train(requestedBy: string): Promise<void> {
    const steps = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 10 } });
    const n = await steps.nextTrainingRun({ model });
    let result: TrainingResult;
    try {
      result = await executeChild(trainingPipeline, {
        workflowId: `train/${model}/${n}`,
        args: [{ spec, specHash, requestedBy }],
        ...(useSearchAttributes ? { typedSearchAttributes: [{ key: PerennialModel, value: model }] } : {}),
        staticSummary: `Train ${model} (run ${n}) for ${requestedBy}`,
      });
    } catch (err) {
      const cause = err instanceof ChildWorkflowFailure ? rootCause(err) : String(err);
      await record('training-failed', { by: 'perennial', reason: cause });
      backToRest();
      return;
    }
    const evaluation = result.evaluation;
    let championOnSameHoldout: Metrics | null = null;
    if (champion) {
      const judge = proxyActivities<Activities>({
        startToCloseTimeout: '30 minutes',
        retry: { maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES, 'VersionNotFound'] },
        summary: `score champion v${champion.version} on v${result.version}'s holdout`,
      });
      championOnSameHoldout = await judge.evaluateVersion({ spec, version: champion.version, snapshotUri: result.registered.lineage.datasetUri });
    }
    const gate = evaluateGate(spec.evaluation.gates, evaluation.model, evaluation.baseRate, championOnSameHoldout);
    await record('trained', { version: result.version, by: requestedBy, reason: `trained by ${result.registered.lineage.workflowId}`, details: { metrics: evaluation } });
    if (!gate.passed) {
      await record('gate-failed', { version: result.version, by: 'perennial', reason: gate.reasons.join('; '), details: { gate } });
      backToRest();
      return;
    }
    await record('gate-passed', { version: result.version, by: 'perennial', reason: `${gate.checks.length} checks passed`, details: { gate } });
    candidate = {
      version: result.version,
      metrics: evaluation.model,
      baseRate: evaluation.baseRate,
      championOnSameHoldout,
      gate,
      trainedBy: requestedBy,
      trainingWorkflowId: result.registered.lineage.workflowId,
      approvalDeadline: new Date(Date.now() + durationMs(spec.approval.timeout)).toISOString(),
    };
    stage = 'AWAITING_APPROVAL';
  }

  async function awaitDecision(): Promise<void> {
    const c = candidate!;
    const remaining = Math.max(1, Date.parse(c.approvalDeadline) - Date.now());
    const decided = await condition(() => decision !== null || retire !== null, remaining);
    if (retire) return;
    if (!decided || !decision) {
      await record('expired', { version: c.version, by: 'perennial', reason: `no decision before ${c.approvalDeadline}; rejected` });
      backToRest();
      return;
    }
    const d: NonNullable<typeof decision> = decision;
    if (d.kind === 'reject') {
      await record('rejected', { version: c.version, by: d.payload.by, reason: d.payload.reason }, d.source);
      backToRest();
      return;
    }
    await record('approved', { version: c.version, by: d.payload.by, reason: d.payload.reason }, d.source);
    deployTarget = { version: c.version, metrics: c.metrics, reason: `approved by ${d.payload.by}` };
    stage = 'DEPLOYING';
  }

  async function deployTargetVersion(): Promise<void> {
    const target = deployTarget!;
    const previous = champion?.version ?? null;
    const timeoutMs = durationMs(spec.rollout.deployTimeout);
    const { deploy } = proxyActivities<Activities>({
      startToCloseTimeout: timeoutMs + 60_000,
      heartbeatTimeout: '30 seconds',
      retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['DeployFailed'] },
      summary: `move champion to v${target.version} and wait until it is served`,
    });
    try {
      await deploy({ model, version: target.version, previous, timeoutMs });
      champion = { version: target.version, metrics: target.metrics, since: now() };
      if (!approvedVersions.includes(target.version)) approvedVersions.push(target.version);
      await record('deployed', { version: target.version, by: 'perennial', reason: target.reason, details: { previous } });
    } catch (err) {
      const reason = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.message : String(err);
      await record('deploy-failed', { version: target.version, by: 'perennial', reason, details: { previous } });
    }
    deployTarget = null;
    backToRest();
  }

  let trainingFor = input.startedBy;

  async function rest(): Promise<void> {
    await condition(() => rollback !== null || retire !== null || retrain !== null);
    if (retire) return;
    if (retrain) {
      const t = retrain;
      await record('retrain-requested', { by: t.payload.by, reason: t.payload.reason }, t.source);
      trainingFor = t.payload.by;
      retrain = null;
      stage = 'TRAINING';
      return;
    }
    const r = rollback!;
    await record('rollback-requested', { version: r.payload.toVersion, by: r.payload.by, reason: r.payload.reason }, r.source);
    const metrics = versionMetrics.get(r.payload.toVersion)!;
    deployTarget = { version: r.payload.toVersion, metrics, reason: `rollback by ${r.payload.by}: ${r.payload.reason}` };
    rollback = null;
    stage = 'DEPLOYING';
  }

  async function retireNow(): Promise<void> {
    const r = retire!;
    const { retireModel } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 10 }, summary: 'stop serving' });
    await retireModel({ model });
    await record('retired', { version: champion?.version, by: r.payload.by, reason: r.payload.reason }, r.source);
    candidate = null;
    champion = null;
    stage = 'RETIRED';
  }

  // Metrics of every version this lifecycle deployed, for rollbacks.
  const versionMetrics = new Map<number, Metrics>();

  refresh();
  for (;;) {
    if (retire && stage !== 'RETIRED') await retireNow();
    refresh();
    switch (stage) {
      case 'TRAINING':
        await train(trainingFor);
        break;
      case 'AWAITING_APPROVAL':
        await awaitDecision();
        break;
      case 'DEPLOYING': {
        const target = deployTarget!;
        versionMetrics.set(target.version, target.metrics);
        await deployTargetVersion();
        break;
      }
      case 'SERVING':
      case 'IDLE':
      case 'PAUSED':
        await rest();
        break;
      case 'RETIRED':
        await condition(allHandlersFinished);
        return status();
    }
  }
}

function rootCause(err: unknown): string {
  let e: unknown = err;
  while (e && typeof e === 'object' && 'cause' in e && (e as { cause?: unknown }).cause) e = (e as { cause: unknown }).cause;
  return e instanceof Error ? e.message : String(e);
}
