import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  currentUpdateInfo,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
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
  UpdateSpecRequest,
  boundedReason,
  refusedBy,
  type CheckSummary,
  type HistoryEntry,
  type LifecycleStatus,
  type Metrics,
  type MonitorState,
  type Refusal,
  type Stage,
} from '../src/lifecycle/contract';
import { CARRIED_FORMAT, readCarriedState, type CarriedState } from '../src/lifecycle/carriedState';
import { evaluateGate } from '../src/lifecycle/gate';
import { SCHEDULE_ACTOR, authorize, checkDecision, checkPause, checkResume, checkRetire, checkRetrain, checkRollback, type Check, type LifecycleView } from '../src/lifecycle/actionRules';
import { allowedActors, policyChanged, type LifecycleAction } from '../src/lifecycle/actions';
import { buildKeyring, KeyRecord } from '../src/auth/keyring';
import type { Signer, VerifyContext } from '../src/auth/signature';
import { canonicalJson } from '../src/util/canonicalJson';
import { checkSummary, nextBreachRun } from '../src/lifecycle/checkSummary';
import { recentRetrains, retrainHeldBack, retrainSpec, retrainTrigger, retrainWindows } from '../src/lifecycle/retrainPolicy';
import type { MonitorCheckSummary } from '../src/monitoring/check';
import type { ActionSource } from '../src/lifecycle/identity';
import { durationMs } from '../src/util/duration';
import { PerennialCandidate, PerennialChampion, PerennialCheckedAt, PerennialDriftScore, PerennialModel, PerennialStage } from '../src/temporal/searchAttributes';
import { NON_RETRYABLE_FAILURES } from '../src/training/failureTypes';
import { trainingPipeline, type TrainingResult } from './trainingPipeline';

export interface LifecycleInput {
  spec: ModelSpec;
  specHash: string;
  /** Who started the lifecycle: the first training runs on their behalf. */
  startedBy: string;
  /** Whether the namespace has perennial's search attributes (default true). */
  searchAttributes?: boolean;
  /** The state the previous run handed over when it continued as new (validated: CarriedState). */
  carried?: unknown;
  /** Continue as new after this many cycles (checks and stages) even when Temporal does not suggest it yet. */
  continueAsNewAfter?: number;
}

/** Cycles per run before continuing as new, when Temporal has not suggested it earlier. */
export const DEFAULT_CONTINUE_AS_NEW_AFTER = 500;

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
export const pauseUpdate = defineUpdate<ActionAck, [ActorRequest]>('pause');
export const resumeUpdate = defineUpdate<ActionAck, [ActorRequest]>('resume');
export const updateSpecUpdate = defineUpdate<ActionAck, [UpdateSpecRequest]>('updateSpec');
// The same actions as signals, for `temporal workflow signal` and the Web UI's "Send a Signal".
export const approveSignal = defineSignal<[unknown]>('approve');
export const rejectSignal = defineSignal<[unknown]>('reject');
export const rollbackSignal = defineSignal<[unknown]>('rollback');
export const retireSignal = defineSignal<[unknown]>('retire');
export const retrainNowSignal = defineSignal<[unknown]>('retrainNow');
export const pauseSignal = defineSignal<[unknown]>('pause');
export const resumeSignal = defineSignal<[unknown]>('resume');
/** Reload the keys of the spec's approvers and operators from the registry (a key registered after the lifecycle started). Carries nothing. */
export const refreshKeysSignal = defineSignal<[]>('refreshKeys');

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
  /** How a person sent it; none when perennial itself asked (an automatic retrain). */
  source?: ActionSource;
  /** Whose signature proved it, when it was signed. */
  signer?: Signer | null;
}

/** Signed signals held while the lifecycle reloads keys (one signed by a key it does not know yet). */
const PARKED_LIMIT = 10;
/** Accepted signatures remembered until they expire, so none is accepted twice; when full, new ones wait. */
const NONCE_LIMIT = 512;
/** The share of one name: an actor past it waits until some of their signatures expire. */
const NONCE_LIMIT_PER_NAME = 32;
/** The most the carried state may weigh as JSON; the oldest history entries give way first. */
export const CARRIED_STATE_LIMIT_BYTES = 256 * 1024;
/** Key records a lifecycle keeps (and carries); more is refused by the registry's reader long before. */
const KEY_RECORDS_LIMIT = 1000;
/** The shortest time between two key reloads. */
const KEY_RELOAD_GAP = '5 seconds';
/** The largest spec `updateSpec` takes, as canonical JSON. */
const SPEC_LIMIT_BYTES = 64 * 1024;

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
  const carried: CarriedState | null = input.carried === undefined ? null : readCarriedState(input.carried);
  let spec = input.spec;
  let specHash = input.specHash;
  let specVersion = carried?.specVersion ?? 1;
  let stage = (carried?.stage ?? 'TRAINING') as Stage;
  let champion: LifecycleStatus['champion'] = carried?.champion ?? null;
  let candidate: Candidate | null = carried?.candidate ? { ...carried.candidate, approvalDeadline: carried.candidate.approvalDeadline ?? '' } : null;
  const approvedVersions: number[] = carried ? [...carried.approvedVersions] : [];
  const history: HistoryEntry[] = carried ? [...carried.history] : [];
  const refused: Refusal[] = carried ? [...carried.refused] : [];
  let paused: LifecycleStatus['paused'] = carried?.paused ?? null;
  const monitor: MonitorState = carried
    ? { ...carried.monitor }
    : { cursor: 0, nextCheckAt: null, checks: 0, consecutiveBreaches: 0, lastCheck: null, labeledUntil: null };
  let retrainStarts: string[] = carried ? [...carried.retrainStarts] : [];
  let blockedBy: string | null = null;
  const run = carried ? carried.run + 1 : 1;
  let cycles = 0;
  const continueAsNewAfter = input.continueAsNewAfter ?? DEFAULT_CONTINUE_AS_NEW_AFTER;
  let ledgerSeq = 0;
  let decision: (PendingAction<Decision> & { kind: 'approve' | 'reject' }) | null = null;
  let rollback: PendingAction<RollbackRequest> | null = null;
  let retire: PendingAction<ActorRequest> | null = null;
  let retrain: PendingAction<ActorRequest> | null = null;
  let deployTarget: { version: number; metrics: Metrics; reason: string } | null = null;
  let trainingFor = carried?.trainingFor ?? input.startedBy;
  // Metrics of every version this lifecycle deployed, for rollbacks.
  const versionMetrics = new Map<number, Metrics>(carried ? Object.entries(carried.versionMetrics).map(([v, m]) => [Number(v), m]) : []);
  // Pause and resume are recorded in the ledger from the loop (handlers cannot run activities in order).
  const pendingNotes: { name: string; by: string; reason: string; source: ActionSource; signer?: Signer | null }[] = [];

  // Who may act. Decided once, at the start of the run: runs that began before signed actions
  // (no marker in their history) keep accepting any `by` until they continue as new.
  const signedActions = patched('signed-actions');
  let keyRecords: KeyRecord[] = carried?.keyRecords ?? [];
  let keyring = buildKeyring(keyRecords);
  // Every run reloads keys at its start (the carried ones serve meanwhile): a revocation
  // reaches a lifecycle at its next run at the latest, and on `refreshKeys` at once.
  let keysWanted = signedActions;
  let keysLoading = false;
  let keyLoads = 0;
  // One spec update at a time: a second one is checked against what the first put in force.
  let specUpdating = false;
  // When this chain of runs began: carried, so a signature made before it stays refused in later runs.
  const chainStartedAt = carried?.chainStartedAt ?? workflowInfo().runStartTime.toISOString();
  const usedNonces: { nonce: string; expiresAt: string; name?: string }[] = carried?.usedNonces ? [...carried.usedNonces] : [];
  const parked: { name: LifecycleAction; raw: unknown; ordinal: number }[] = [];
  const signalsSeen = new Map<string, number>();

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
        return monitoringOn()
          ? `the next monitor check at ${monitor.nextCheckAt ?? 'once a champion serves'}: v${champion?.version} is served`
          : `nothing: v${champion?.version} is served (rollback or retire at any time)`;
      case 'IDLE':
        return 'nothing: no champion yet and nothing in progress';
      case 'PAUSED':
        return `resume: monitoring of v${champion?.version} was paused by ${paused?.by} (${paused?.reason})`;
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
    monitoring: { ...monitor, state: monitoringState(), interval: spec.monitoring?.interval ?? null },
    paused,
    retrain: { recent: [...retrainStarts], blockedBy },
    run,
    auth: authStatus(),
  });

  function authStatus(): LifecycleStatus['auth'] {
    if (!signedActions) return { signatures: 'legacy', keys: [], ignored: [], loads: 0 };
    const pins = spec.approval.keys ?? {};
    const names = keyNames();
    const keys = names.flatMap((name) =>
      pins[name] !== undefined
        ? [{ name, fingerprint: pins[name], trust: 'pinned' as const }]
        : (keyring.current.get(name) ?? []).map((k) => ({ name, fingerprint: k.fingerprint, trust: k.trust })),
    );
    return { signatures: spec.approval.signatures ?? 'required', keys, ignored: keyring.ignored.slice(-10), loads: keyLoads };
  }

  /** Everyone whose keys this lifecycle needs: approvers, operators, pinned names. */
  function keyNames(): string[] {
    const a = spec.approval;
    return [...new Set([...a.approvers, ...(a.operators ?? []), ...Object.keys(a.keys ?? {})])].sort();
  }

  /** Monitoring watches a served champion, unless the spec has none or a person paused it. */
  function monitoringOn(): boolean {
    return spec.monitoring !== undefined && champion !== null && paused === null && stage !== 'RETIRED';
  }

  function monitoringState(): LifecycleStatus['monitoring']['state'] {
    if (!spec.monitoring) return 'off';
    if (paused) return 'paused';
    return champion ? 'watching' : 'idle';
  }

  const approveCommand = (v: number) => `npx perennial approve ${model} --version ${v} --by <you> --reason "<why>"`;

  const metricsLine = (m: Metrics) => `AUC ${m.auc.toFixed(4)}, log-loss ${m.logLoss.toFixed(4)}`;

  const useSearchAttributes = input.searchAttributes !== false;

  const refresh = () => {
    if (useSearchAttributes) upsertSearchAttributes([
      { key: PerennialModel, value: model },
      { key: PerennialStage, value: stage },
      { key: PerennialChampion, value: champion?.version ?? null },
      { key: PerennialCandidate, value: candidate?.version ?? null },
      ...(monitor.lastCheck
        ? [
            { key: PerennialDriftScore, value: monitor.lastCheck.score },
            { key: PerennialCheckedAt, value: new Date(monitor.lastCheck.at) },
          ]
        : []),
    ]);
    const lines = [
      `**${model}** — ${stage}`,
      `champion: ${champion ? `v${champion.version} (${metricsLine(champion.metrics)})` : 'none'}`,
      `candidate: ${candidate ? `v${candidate.version} (${metricsLine(candidate.metrics)}; base rate log-loss ${candidate.baseRate.logLoss.toFixed(4)})` : 'none'}`,
      `waiting for: ${waitingFor()}`,
    ];
    const c = monitor.lastCheck;
    if (c) {
      lines.push(
        `last check ${c.at}: ${c.enoughData ? `drift score ${c.score.toFixed(3)}${c.breached ? ` — BREACHED on ${c.breachedFeatures.join(', ')}` : ''}` : `not enough data (${c.rows} rows)`}` +
          `${c.performance.auc !== null ? `; live AUC ${c.performance.auc.toFixed(4)} on ${c.performance.labeled} labels` : ''}; consecutive breaches ${monitor.consecutiveBreaches}`,
      );
    }
    if (blockedBy) lines.push(`retrain held back: ${blockedBy}`);
    if (stage === 'AWAITING_APPROVAL' && candidate) lines.push('', `approve: \`${approveCommand(candidate.version)}\``);
    setCurrentDetails(lines.join('\n\n'));
  };

  const note = (event: string, extra: Omit<HistoryEntry, 'at' | 'event'> = {}) => {
    history.push({ at: now(), event, ...extra });
    if (history.length > HISTORY_LIMIT) history.splice(0, history.length - HISTORY_LIMIT);
  };

  // Noted in the history once the ledger has it: the code after a decision (e.g. leaving
  // TRAINING after a failed gate) then runs in the same activation, so `status` never shows
  // the decision beside the stage it ends. History is workflow state only: no command moves.
  const record = async (decisionName: string, e: { version?: number; by: string; reason: string; details?: Record<string, unknown> }, source?: ActionSource, signer?: Signer | null) => {
    await ledgerStep.recordDecision({
      entry: { model, decision: decisionName, workflowId, runId, ...e, ...(signer ? { signer: { name: signer.name, fingerprint: signer.fingerprint } } : {}) },
      dedupeKey: `${workflowId}:${runId}:${++ledgerSeq}`,
      source,
    });
    note(decisionName, { version: e.version, by: e.by, reason: e.reason });
  };

  // What a refused sender wrote is kept only in a bounded, escaped form: three 2 MB `by`s
  // once made the status answer and the carried state too large to send.
  const refuse = (action: string, via: Refusal['via'], reason: string, by?: unknown) => {
    const r: Refusal = { at: now(), action, via, by: refusedBy(by), reason: boundedReason(reason) };
    if (r.by === undefined) delete r.by;
    refused.push(r);
    if (refused.length > REFUSED_LIMIT) refused.splice(0, refused.length - REFUSED_LIMIT);
    log.warn('refused action', { ...r });
  };

  // ---- checking human actions: the same rules for updates and signals ------------------

  const view = (): LifecycleView => ({
    model,
    stage,
    spec,
    champion,
    candidate,
    approvedVersions,
    paused,
    retrainStarts,
    pending: {
      decision: decision && { kind: decision.kind, by: decision.payload.by },
      rollbackTo: rollback?.payload.toVersion ?? null,
      retire: retire !== null,
      retrain: retrain !== null,
    },
    nowMs: Date.now(),
    rollbackWithdrawsCandidate,
    auth: authContext(),
  });

  // Read-only: update validators call it, and they do not run on replay.
  function authContext(): VerifyContext | null {
    if (!signedActions) return null;
    const t = Date.now();
    const live = usedNonces.filter((u) => Date.parse(u.expiresAt) > t);
    return {
      workflowId,
      nowMs: t,
      chainStartedMs: Date.parse(chainStartedAt),
      keyring,
      pins: spec.approval.keys ?? {},
      isUsed: (n) => live.some((u) => u.nonce === n),
      // Each name has its own share: one actor signing a lot never locks the others out.
      full: (name) => live.length >= NONCE_LIMIT || live.filter((u) => u.name === name).length >= NONCE_LIMIT_PER_NAME,
    };
  }

  function pruneNonces(): void {
    const t = Date.now();
    for (let i = usedNonces.length - 1; i >= 0; i--) if (Date.parse(usedNonces[i].expiresAt) <= t) usedNonces.splice(i, 1);
  }

  /** An accepted signature is spent: the same signed payload sent again is refused as a replay. */
  function spend(signer: Signer | null): void {
    if (!signer) return;
    pruneNonces();
    usedNonces.push({ nonce: signer.nonce, expiresAt: signer.expiresAt, name: signer.name });
  }

  const updateSource = (): ActionSource => ({ kind: 'update', updateId: currentUpdateInfo()?.id ?? '' });

  // ---- handlers ---------------------------------------------------------------------------

  // Decided once, at the start of the run: a run that began under the older rules (its
  // history has no marker) keeps refusing rollbacks while a candidate awaits, on replay too.
  const rollbackWithdrawsCandidate = patched('rollback-withdraws-candidate');

  setHandler(statusQuery, status);

  /**
   * One human action, as an update and as a signal, under the same rules: a refused
   * update throws from its validator (the caller gets the reason, nothing changes); a
   * refused signal changes nothing and is listed in `status.refused`.
   */
  function onAction<T extends Record<string, unknown>>(
    name: LifecycleAction,
    update: UpdateDefinition<ActionAck, [T]>,
    signal: SignalDefinition<[unknown]>,
    check: (raw: unknown) => Check<T>,
    accept: (value: T, source: ActionSource, signer: Signer | null) => string,
  ): void {
    setHandler(
      update,
      (raw) => {
        // Checked again: another update accepted since this one's validator ran may have spent its signature.
        const c = check(raw);
        if (!c.ok) throw ApplicationFailure.nonRetryable(c.reason, 'ActionRefused');
        spend(c.signer);
        return { accepted: true, message: accept(c.value, updateSource(), c.signer) };
      },
      {
        validator: (raw) => {
          // The spec's schedule asks by signal (workflows/scheduledRetrain.ts), never by update.
          if (signedActions && name === 'retrainNow' && (raw as { by?: unknown } | null)?.by === SCHEDULE_ACTOR) throw new Error(`${SCHEDULE_ACTOR} asks by signal only`);
          const c = check(raw);
          if (!c.ok) throw new Error(c.reason);
        },
      },
    );
    actionChecks.set(name, check as (raw: unknown) => Check<Record<string, unknown>>);
    actionAccepts.set(name, accept as (value: Record<string, unknown>, source: ActionSource, signer: Signer | null) => string);
    setHandler(signal, (raw) => {
      const ordinal = (signalsSeen.get(name) ?? 0) + 1;
      signalsSeen.set(name, ordinal);
      onSignal(name, raw, ordinal, true);
    });
  }

  const actionChecks = new Map<LifecycleAction, (raw: unknown) => Check<Record<string, unknown>>>();
  const actionAccepts = new Map<LifecycleAction, (value: Record<string, unknown>, source: ActionSource, signer: Signer | null) => string>();

  /** A signal is accepted, refused, or — signed by a key this lifecycle does not know yet — held until keys are reloaded. */
  function onSignal(name: LifecycleAction, raw: unknown, ordinal: number, mayPark: boolean): void {
    const c = actionChecks.get(name)!(raw);
    if (c.ok) {
      spend(c.signer);
      const value = c.value;
      actionAccepts.get(name)!(value, { kind: 'signal', name, match: signedActions ? {} : { ...value }, ...(signedActions ? { ordinal } : {}) }, c.signer);
    } else if (mayPark && c.unknownKey && parked.length < PARKED_LIMIT) {
      parked.push({ name, raw, ordinal });
      keysWanted = true;
    } else refuse(name, 'signal', c.reason, c.by);
  }

  for (const kind of ['approve', 'reject'] as const) {
    onAction(kind, kind === 'approve' ? approveUpdate : rejectUpdate, kind === 'approve' ? approveSignal : rejectSignal, (raw) => checkDecision(view(), kind, raw), (d, source, signer) => {
      decision = { kind, payload: d, source, signer };
      refresh();
      return `v${d.version} ${kind === 'approve' ? 'approved' : 'rejected'} by ${d.by}`;
    });
  }
  onAction('rollback', rollbackUpdate, rollbackSignal, (raw) => checkRollback(view(), raw), (r, source, signer) => {
    rollback = { payload: r, source, signer };
    return stage === 'AWAITING_APPROVAL' && candidate ? `rolling back to v${r.toVersion}; v${candidate.version}, awaiting approval, is withdrawn` : `rolling back to v${r.toVersion}`;
  });
  onAction('retire', retireUpdate, retireSignal, (raw) => checkRetire(view(), raw), (r, source, signer) => {
    retire = { payload: r, source, signer };
    return `retiring ${model}`;
  });
  onAction('retrainNow', retrainNowUpdate, retrainNowSignal, (raw) => checkRetrain(view(), raw), (r, source, signer) => {
    retrain = { payload: r, source, signer };
    return `retraining ${model} for ${r.by}`;
  });
  onAction('pause', pauseUpdate, pauseSignal, (raw) => checkPause(view(), raw), (r, source, signer) => {
    paused = { at: now(), by: r.by, reason: r.reason };
    if (stage === 'SERVING') stage = 'PAUSED';
    pendingNotes.push({ name: 'paused', by: r.by, reason: r.reason, source, signer });
    refresh();
    return `monitoring of ${model} paused`;
  });
  onAction('resume', resumeUpdate, resumeSignal, (raw) => checkResume(view(), raw), (r, source, signer) => {
    paused = null;
    if (stage === 'PAUSED') stage = champion ? 'SERVING' : 'IDLE';
    // A fresh interval from now: the first check after a pause covers the traffic since the last one.
    monitor.nextCheckAt = null;
    pendingNotes.push({ name: 'resumed', by: r.by, reason: r.reason, source, signer });
    refresh();
    return `monitoring of ${model} resumed`;
  });

  setHandler(
    updateSpecUpdate,
    async (req) => {
      let signers: Signer[] = [];
      if (signedActions) {
        await condition(() => !specUpdating);
        // Checked again at the handler, against the spec now in force: a signature may have
        // been spent, or another update put a new policy in force, since the validator ran.
        const c = checkSpecUpdate(req);
        if (!c.ok) throw ApplicationFailure.nonRetryable(c.reason, 'ActionRefused');
        signers = c.signers;
        for (const sg of signers) spend(sg);
        specUpdating = true;
      }
      try {
      // Runs before signed actions accepted specs the schema now refuses (strict keys): their
      // replays must take what they took then.
      const parsed = ModelSpecSchema.safeParse(req.spec);
      if (!parsed.success && signedActions) throw ApplicationFailure.nonRetryable(`invalid spec: ${parsed.error.issues[0]?.message}`, 'ActionRefused');
      const next = parsed.success ? parsed.data : (req.spec as ModelSpec);
      // The sha256 of the new spec, as lineage records it. Lifecycles started before this
      // change recorded `v<N>` instead: patched() keeps their histories replayable.
      const nextHash = patched('spec-hash-by-activity') ? await hashing.hashSpec({ spec: next }) : `v${specVersion + 1}`;
      const previousSchedule = JSON.stringify(spec.retrain?.schedule ?? null);
      spec = next;
      specVersion++;
      specHash = nextHash;
      refresh();
      const cosigner = signers[1] ? { cosignedBy: { name: signers[1].name, fingerprint: signers[1].fingerprint, reason: req.cosign?.reason } } : {};
      await record('spec-updated', { by: req.by, reason: req.reason, details: { specVersion, spec: next, ...cosigner } }, updateSource(), signers[0] ?? null);
      if (JSON.stringify(next.retrain?.schedule ?? null) !== previousSchedule) await syncSchedule(next.retrain?.schedule ?? null);
      return { accepted: true, message: `spec version ${specVersion} in force` };
      } finally {
        specUpdating = false;
      }
    },
    {
      validator: (req) => {
        if (signedActions) {
          const c = checkSpecUpdate(req);
          if (!c.ok) throw new Error(c.reason);
          return;
        }
        const actor = ActorRequest.safeParse({ by: req?.by, reason: req?.reason });
        if (!actor.success) throw new Error(`malformed payload: ${actor.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        const next = ModelSpecSchema.safeParse(req.spec);
        if (!next.success) throw new Error(`invalid spec: ${next.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        if (next.data.name !== model) throw new Error(`the spec is for ${next.data.name}, this lifecycle runs ${model}`);
      },
    },
  );

  /**
   * updateSpec under signed actions: a bounded, valid spec for this model, signed by a current
   * approver; a change to who decides or what passes (approval, gates, retrain, trainer)
   * also co-signed by a second approver when the spec separates duties.
   */
  function checkSpecUpdate(raw: unknown): { ok: true; signers: Signer[] } | { ok: false; reason: string } {
    const p = UpdateSpecRequest.safeParse(raw);
    if (!p.success) return { ok: false, reason: `malformed payload: ${p.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ')}` };
    const req = p.data;
    const size = canonicalJson(req.spec ?? null).length;
    if (size > SPEC_LIMIT_BYTES) return { ok: false, reason: `the spec is ${size} bytes as JSON; at most ${SPEC_LIMIT_BYTES} are taken` };
    const next = ModelSpecSchema.safeParse(req.spec);
    if (!next.success) return { ok: false, reason: `invalid spec: ${next.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
    if (next.data.name !== model) return { ok: false, reason: `the spec is for ${next.data.name}, this lifecycle runs ${model}` };
    const v = view();
    const main = authorize(v, 'updateSpec', raw as Record<string, unknown>, req.by, req.signature);
    if (!main.ok) return main;
    const signers = main.signer ? [main.signer] : [];
    // Compared with defaults filled in: a spec carried from before a field existed is not "changed" by it.
    const current = ModelSpecSchema.safeParse(spec);
    if (!policyChanged(current.success ? current.data : spec, next.data) || !spec.approval.separationOfDuties) return { ok: true, signers };
    if (!req.cosign) return { ok: false, reason: `the change touches approval, gates, retrain or trainer: with separation of duties it needs a second approver's co-signature (--cosign FILE, made by another of ${allowedActors(spec, 'updateSpec').join(', ')} with --print-cosign)` };
    if (req.cosign.by === req.by) return { ok: false, reason: `${req.by} cannot co-sign their own spec change: a second approver must` };
    // Over the co-signature as sent (the parsed one has its reason trimmed).
    const sent = (raw as { cosign: Record<string, unknown> }).cosign;
    const co = authorize(v, 'updateSpec', { spec: (raw as { spec: unknown }).spec, by: sent.by, reason: sent.reason }, req.cosign.by, req.cosign.signature);
    if (!co.ok) return { ok: false, reason: `co-signature: ${co.reason}` };
    if (co.signer && main.signer && co.signer.nonce === main.signer.nonce) return { ok: false, reason: 'co-signature: the same signature twice' };
    return { ok: true, signers: co.signer ? [...signers, co.signer] : signers };
  }

  // ---- keys ---------------------------------------------------------------------------------

  if (signedActions) {
    setHandler(refreshKeysSignal, () => {
      keysWanted = true;
    });
  }

  /** Reloads key records when asked (or when a signal came signed by an unknown key), then decides the held signals. */
  async function keyLoader(): Promise<void> {
    const keys = proxyActivities<Activities>({
      startToCloseTimeout: '30 seconds',
      retry: { maximumInterval: '1 minute' },
      summary: 'load the approvers\' and operators\' keys',
    });
    for (;;) {
      await condition(() => keysWanted);
      keysWanted = false;
      keysLoading = true;
      try {
        // Validated here too: a malformed record in the registry must not stop the lifecycle.
        const loaded = (await keys.loadKeyRecords({ names: keyNames() })).flatMap((r) => {
          const ok = KeyRecord.safeParse(r);
          return ok.success ? [ok.data] : [];
        });
        keyRecords = loaded.slice(0, KEY_RECORDS_LIMIT);
        keyring = buildKeyring(keyRecords);
        keyLoads++;
      } finally {
        keysLoading = false;
      }
      for (const p of parked.splice(0)) onSignal(p.name, p.raw, p.ordinal, false);
      refresh();
      // At most one reload every few seconds, however many ask: asking costs the asker, not the lifecycle.
      await sleep(KEY_RELOAD_GAP);
    }
  }

  // ---- stages -------------------------------------------------------------------------------

  const restingStage = (): Stage => (champion ? (paused ? 'PAUSED' : 'SERVING') : 'IDLE');

  const backToRest = () => {
    candidate = null;
    decision = null;
    stage = restingStage();
  };

  async function train(requestedBy: string): Promise<void> {
    // The first training uses the spec's windows; a retrain the newest labeled event time.
    const windows = approvedVersions.length > 0 || champion ? retrainWindows(spec, monitor.labeledUntil) : null;
    const trainingSpec = windows ? retrainSpec(spec, windows) : spec;
    const steps = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 10 } });
    const n = await steps.nextTrainingRun({ model });
    let result: TrainingResult;
    try {
      result = await executeChild(trainingPipeline, {
        workflowId: `train/${model}/${n}`,
        args: [{ spec: trainingSpec, specHash, requestedBy }],
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
        heartbeatTimeout: '1 minute',
        retry: { maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES, 'VersionNotFound'] },
        summary: `score champion v${champion.version} on v${result.version}'s holdout`,
      });
      championOnSameHoldout = await judge.evaluateVersion({ spec: trainingSpec, version: champion.version, snapshotUri: result.registered.lineage.datasetUri });
    }
    const gate = evaluateGate(spec.evaluation.gates, evaluation.model, evaluation.baseRate, championOnSameHoldout);
    await record('trained', { version: result.version, by: requestedBy, reason: `trained by ${result.registered.lineage.workflowId}`, details: { metrics: evaluation, windows: { training: trainingSpec.data.training, holdout: trainingSpec.data.holdout } } });
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
    // The champion keeps serving meanwhile, so monitoring goes on (it triggers no retrain: one candidate at a time).
    const rollbackAsked = () => rollbackWithdrawsCandidate && rollback !== null;
    const decided = await waitWatching(() => decision !== null || retire !== null || rollbackAsked(), Date.parse(c.approvalDeadline));
    if (retire) return;
    if (decided === 'continue-as-new') return;
    if (!decision && rollbackAsked()) {
      const r = rollback!;
      // Withdrawn, then rolled back from the resting stage like any rollback.
      await record('withdrawn', {
        version: c.version,
        by: r.payload.by,
        reason: `rollback to v${r.payload.toVersion} asked while v${c.version} awaited approval (its gate compared it with v${champion?.version}): ${r.payload.reason}`,
      }, r.source, r.signer);
      backToRest();
      return;
    }
    if (decided === 'deadline' || !decision) {
      await record('expired', { version: c.version, by: 'perennial', reason: `no decision before ${c.approvalDeadline}; rejected` });
      backToRest();
      return;
    }
    const d: NonNullable<typeof decision> = decision;
    if (d.kind === 'reject') {
      await record('rejected', { version: c.version, by: d.payload.by, reason: d.payload.reason }, d.source, d.signer);
      backToRest();
      return;
    }
    await record('approved', { version: c.version, by: d.payload.by, reason: d.payload.reason }, d.source, d.signer);
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
      // A new champion starts a fresh watch: its own traffic, from the next interval.
      monitor.consecutiveBreaches = 0;
      monitor.nextCheckAt = null;
      if (!approvedVersions.includes(target.version)) approvedVersions.push(target.version);
      await record('deployed', { version: target.version, by: 'perennial', reason: target.reason, details: { previous } });
    } catch (err) {
      const reason = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.message : String(err);
      // Only a timed-out wait restores the alias inside `deploy`; attempts lost to a crashed
      // worker, a registry failing mid-way or a cancelled workflow may leave it at the failed version.
      // Lifecycles that failed a deploy before this change did not restore: patched().
      if (patched('restore-champion-after-failed-deploy')) {
        const { restoreChampion } = proxyActivities<Activities>({
          startToCloseTimeout: '1 minute',
          retry: { maximumInterval: '1 minute' },
          summary: `move champion back to ${previous === null ? 'none' : `v${previous}`} if it still names v${target.version}`,
        });
        // Even when the workflow itself is being cancelled: never leave the alias promoted.
        await CancellationScope.nonCancellable(() => restoreChampion({ model, failed: target.version, previous }));
      }
      await CancellationScope.nonCancellable(() => record('deploy-failed', { version: target.version, by: 'perennial', reason, details: { previous } }));
    }
    deployTarget = null;
    backToRest();
  }

  async function recordPendingNotes(): Promise<void> {
    while (pendingNotes.length) {
      const n = pendingNotes.shift()!;
      await record(n.name, { by: n.by, reason: n.reason }, n.source, n.signer);
    }
  }

  const continueAsNewDue = () => workflowInfo().continueAsNewSuggested || cycles >= continueAsNewAfter;

  /**
   * Waits until `done()` or the deadline, running monitor checks when they are due.
   * Returns early when it is time to continue as new, so the loop can hand over.
   */
  async function waitWatching(done: () => boolean, deadline = Infinity): Promise<'done' | 'deadline' | 'continue-as-new'> {
    for (;;) {
      await recordPendingNotes();
      if (done()) return 'done';
      if (Date.now() >= deadline) return 'deadline';
      if (continueAsNewDue()) return 'continue-as-new';
      const watching = monitoringOn();
      if (watching && monitor.nextCheckAt === null) monitor.nextCheckAt = new Date(Date.now() + durationMs(spec.monitoring!.interval)).toISOString();
      const nextCheck = watching ? Date.parse(monitor.nextCheckAt!) : Infinity;
      const until = Math.min(deadline, nextCheck);
      const wake = () => done() || pendingNotes.length > 0 || monitoringOn() !== watching;
      if (until === Infinity) await condition(wake);
      else if (until > Date.now()) await condition(wake, until - Date.now());
      if (watching && monitoringOn() && Date.now() >= nextCheck && !done()) await checkNow();
    }
  }

  async function checkNow(): Promise<void> {
    const monitoring = spec.monitoring!;
    const version = champion!.version;
    const interval = durationMs(monitoring.interval);
    const { checkChampion } = proxyActivities<Activities>({
      startToCloseTimeout: '10 minutes',
      heartbeatTimeout: '1 minute',
      retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['MonitorError'] },
      summary: `monitor check ${monitor.checks + 1} of v${version}`,
    });
    cycles++;
    monitor.checks++;
    // The next check is an interval after this one was due, never a burst of catch-ups.
    monitor.nextCheckAt = new Date(Math.max(Date.parse(monitor.nextCheckAt!) + interval, Date.now() + 1000)).toISOString();
    let r: MonitorCheckSummary;
    try {
      r = await checkChampion({ spec, version, cursor: monitor.cursor, asOf: now(), checkKey: `${workflowId}/check/${monitor.checks}` });
    } catch (err) {
      const reason = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.message : String(err);
      note('check-failed', { version, reason });
      log.warn('monitor check failed', { version, reason });
      return;
    }
    monitor.cursor = r.cursor.to;
    monitor.labeledUntil = r.labeledUntil ?? monitor.labeledUntil;
    const runBefore = monitor.consecutiveBreaches;
    monitor.consecutiveBreaches = nextBreachRun(runBefore, r);
    // History notes where a run of breaches starts and ends, not every hour of it (the registry has every check).
    if (runBefore === 0 && monitor.consecutiveBreaches > 0) note('drift-breached', { version, reason: `score ${r.drift.score.toFixed(4)}: ${r.drift.reasons.slice(0, 3).join(' | ')}` });
    if (runBefore > 0 && r.enoughData && !r.drift.breached) note('drift-cleared', { version, reason: `after ${runBefore} breached checks; score ${r.drift.score.toFixed(4)}` });
    const check = checkSummary(r);
    monitor.lastCheck = check;
    if (r.performance.belowFloor) note('performance-below-floor', { version, reason: r.performance.reasons.join('; ') });
    considerRetrain(check, r.performance.reasons);
    refresh();
  }

  /** An automatic retrain, when the policy calls for one and nothing holds it back. */
  function considerRetrain(check: CheckSummary, performanceReasons: string[]): void {
    retrainStarts = recentRetrains(spec.retrain, retrainStarts, Date.now());
    blockedBy = null;
    const trigger = retrainTrigger(spec.retrain, check, monitor.consecutiveBreaches, performanceReasons);
    if (!trigger) return;
    if (stage !== 'SERVING') {
      blockedBy = `${trigger.reason} — but ${stage === 'AWAITING_APPROVAL' ? `v${candidate?.version} awaits a decision first` : `the lifecycle is ${stage}`}`;
      return;
    }
    if (retrain) return;
    const held = retrainHeldBack(spec.retrain, retrainStarts, Date.now());
    if (held) {
      blockedBy = `${trigger.kind} retrain held back: ${held}`;
      return;
    }
    retrain = { payload: { by: 'perennial-monitor', reason: trigger.reason } };
  }

  async function rest(): Promise<void> {
    const outcome = await waitWatching(() => rollback !== null || retire !== null || retrain !== null);
    if (outcome !== 'done' || retire) return;
    // A rollback asked beside a retrain goes first: an incident does not wait for a training
    // (runs started before decide as they always did: retrain first).
    if (retrain && !(rollbackWithdrawsCandidate && rollback)) {
      const t = retrain;
      await record('retrain-requested', { by: t.payload.by, reason: t.payload.reason }, t.source, t.signer);
      retrainStarts = [...recentRetrains(spec.retrain, retrainStarts, Date.now()), now()];
      monitor.consecutiveBreaches = 0;
      blockedBy = null;
      trainingFor = t.payload.by;
      retrain = null;
      stage = 'TRAINING';
      return;
    }
    const r = rollback!;
    await record('rollback-requested', { version: r.payload.toVersion, by: r.payload.by, reason: r.payload.reason }, r.source, r.signer);
    const metrics = versionMetrics.get(r.payload.toVersion)!;
    deployTarget = { version: r.payload.toVersion, metrics, reason: `rollback by ${r.payload.by}: ${r.payload.reason}` };
    rollback = null;
    stage = 'DEPLOYING';
  }

  async function retireNow(): Promise<void> {
    const r = retire!;
    const { retireModel } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 10 }, summary: 'stop serving' });
    await retireModel({ model });
    if (spec.retrain?.schedule) await syncSchedule(null);
    await record('retired', { version: champion?.version, by: r.payload.by, reason: r.payload.reason }, r.source, r.signer);
    candidate = null;
    champion = null;
    stage = 'RETIRED';
  }

  async function syncSchedule(schedule: NonNullable<ModelSpec['retrain']>['schedule'] | null): Promise<void> {
    const { syncRetrainSchedule } = proxyActivities<Activities>({
      startToCloseTimeout: '1 minute',
      retry: { maximumAttempts: 10 },
      summary: schedule ? `keep the retrain schedule of ${model}` : `delete the retrain schedule of ${model}`,
    });
    await syncRetrainSchedule({ model, schedule });
  }

  /** The hand-over to the next run: only between stages, with no action half-taken. */
  const quiet = () =>
    decision === null && rollback === null && retire === null && retrain === null && pendingNotes.length === 0 && !keysWanted && !keysLoading && parked.length === 0;

  function carriedState(): CarriedState {
    pruneNonces();
    const state: CarriedState = {
      format: CARRIED_FORMAT,
      specVersion,
      stage: stage as CarriedState['stage'],
      champion,
      candidate,
      approvedVersions,
      versionMetrics: Object.fromEntries([...versionMetrics].map(([v, m]) => [String(v), m])),
      history,
      refused,
      trainingFor,
      paused,
      monitor,
      retrainStarts,
      run,
      ...(signedActions ? { keyRecords, usedNonces, chainStartedAt } : {}),
    };
    // Bounded by construction (every list has a limit, every string from outside a length);
    // should it still weigh too much, the oldest history gives way (the ledger keeps it all).
    while (history.length > 0 && JSON.stringify(state).length > CARRIED_STATE_LIMIT_BYTES) history.shift();
    return state;
  }

  // Beside the main loop for the whole run; a cancelled lifecycle ends it (nothing to reload then).
  if (signedActions) keyLoader().catch((err: unknown) => {
    if (!isCancellation(err)) log.error('the key loader stopped', { error: String(err) });
  });
  if (!carried && spec.retrain?.schedule) await syncSchedule(spec.retrain.schedule);
  refresh();
  for (;;) {
    if (retire && stage !== 'RETIRED') await retireNow();
    const between = stage === 'SERVING' || stage === 'IDLE' || stage === 'PAUSED' || stage === 'AWAITING_APPROVAL';
    // The hand-over waits for a key reload under way (the stages would return at once meanwhile).
    if (between && continueAsNewDue() && (keysWanted || keysLoading || parked.length > 0)) await condition(() => !keysWanted && !keysLoading && parked.length === 0);
    if (between && continueAsNewDue() && quiet()) {
      await condition(allHandlersFinished);
      if (quiet()) {
        log.info('continuing as new', { cycles, run, suggested: workflowInfo().continueAsNewSuggested });
        await continueAsNew<typeof lifecycle>({ ...input, spec, specHash, carried: carriedState() });
      }
    }
    cycles++;
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
