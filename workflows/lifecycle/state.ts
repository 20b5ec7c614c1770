import { log, patched, workflowInfo } from '@temporalio/workflow';
import type { ModelSpec } from '../../src/spec/modelSpec';
import type { ActorRequest, Decision, HistoryEntry, LifecycleStatus, Metrics, MonitorState, Refusal, RollbackRequest, Stage } from '../../src/lifecycle/contract';
import { HISTORY_LIMIT, REFUSED_LIMIT, boundedReason } from '../../src/lifecycle/limits';
import type { CarriedState } from '../../src/lifecycle/carriedState';
import type { LifecycleView } from '../../src/lifecycle/actionRules';
import type { LifecycleAction } from '../../src/lifecycle/actions';
import type { KeyRecord } from '../../src/auth/keyring';
import type { Signer, VerifyContext } from '../../src/auth/signature';
import type { ActionSource } from '../../src/lifecycle/identity';
import type { LifecycleInput } from './input';
import { buildKeyring, carriedFormat, readCarriedState, refusedBy } from './validation';

export interface Candidate {
  version: number;
  metrics: Metrics;
  baseRate: Metrics;
  championOnSameHoldout: Metrics | null;
  gate: NonNullable<LifecycleStatus['candidate']>['gate'];
  trainedBy: string;
  trainingWorkflowId: string;
  approvalDeadline: string;
}

export interface PendingAction<T> {
  payload: T;
  /** How a person sent it; none when perennial itself asked (an automatic retrain). */
  source?: ActionSource;
  /** Whose signature proved it, when it was signed. */
  signer?: Signer | null;
}

/** A pause or resume, recorded in the ledger from the loop (handlers cannot run activities in order). */
export interface PendingNote {
  name: string;
  by: string;
  reason: string;
  source: ActionSource;
  signer?: Signer | null;
}

/** Cycles per run before continuing as new, when Temporal has not suggested it earlier. */
export const DEFAULT_CONTINUE_AS_NEW_AFTER = 500;
/** Accepted signatures remembered until they expire, so none is accepted twice; when full, new ones wait. */
const NONCE_LIMIT = 512;
/** The share of one name: an actor past it waits until some of their signatures expire. */
const NONCE_LIMIT_PER_NAME = 32;
/** The most the carried state may weigh as JSON; the oldest history entries give way first. */
export const CARRIED_STATE_LIMIT_BYTES = 256 * 1024;

/**
 * Everything one run of `lifecycle/<model>` knows, in one object built before any handler is
 * set, so a signal delivered with the start (or as the first thing a continued run sees)
 * finds it whole. Its stored part is the carried state handed to the next run; the rest is
 * what this run is doing now. Reads and small mutations only: the stages and handlers
 * (in this folder) run activities and decide.
 */
export class LifecycleState {
  readonly workflowId: string;
  readonly runId: string;
  readonly model: string;
  readonly useSearchAttributes: boolean;
  /** The model's report page, when the starter named it. */
  readonly reportUrl: string | undefined;
  readonly continueAsNewAfter: number;

  // ---- carried from run to run ----
  spec: ModelSpec;
  specHash: string;
  specVersion: number;
  stage: Stage;
  champion: LifecycleStatus['champion'];
  candidate: Candidate | null;
  readonly approvedVersions: number[];
  readonly history: HistoryEntry[];
  readonly refused: Refusal[];
  paused: LifecycleStatus['paused'];
  readonly monitor: MonitorState;
  retrainStarts: string[];
  readonly run: number;
  trainingFor: string;
  /** Metrics of every version this lifecycle deployed, for rollbacks. */
  readonly versionMetrics: Map<number, Metrics>;
  keyRecords: KeyRecord[];
  /** When this chain of runs began: carried, so a signature made before it stays refused in later runs. */
  readonly chainStartedAt: string;
  readonly usedNonces: { nonce: string; expiresAt: string; name?: string }[];

  // ---- this run only ----
  blockedBy: string | null = null;
  /**
   * When the last check ended by its worker's clock (ms), for the next wait only: the
   * workflow's clock stands still while a check runs inside its workflow task, and a timer
   * measured from the task's start would make every next check late by the check's own time.
   */
  checkEndedAt: number | null = null;
  cycles = 0;
  ledgerSeq = 0;
  decision: (PendingAction<Decision> & { kind: 'approve' | 'reject' }) | null = null;
  rollback: PendingAction<RollbackRequest> | null = null;
  retire: PendingAction<ActorRequest> | null = null;
  retrain: PendingAction<ActorRequest> | null = null;
  deployTarget: { version: number; metrics: Metrics; reason: string } | null = null;
  readonly pendingNotes: PendingNote[] = [];
  keyring: ReturnType<typeof buildKeyring>;
  /** Every run reloads keys at its start (the carried ones serve meanwhile): a revocation reaches a lifecycle at its next run at the latest, and on `refreshKeys` at once. */
  keysWanted: boolean;
  keysLoading = false;
  keyLoads = 0;
  /** One spec update at a time: a second one is checked against what the first put in force. */
  specUpdating = false;
  /** Signed signals held while the lifecycle reloads keys (one signed by a key it does not know yet). */
  readonly parked: { name: LifecycleAction; raw: unknown; ordinal: number }[] = [];
  readonly signalsSeen = new Map<string, number>();

  // ---- rules decided once, at the start of the run ----
  /** Runs that began before signed actions (no marker in their history) keep accepting any `by` until they continue as new. */
  readonly signedActions: boolean;
  /** A run that began under the older rules keeps refusing rollbacks while a candidate awaits, on replay too. */
  readonly rollbackWithdrawsCandidate: boolean;
  /** Runs that began before it show the latest check of any kind as the drift score (a check with too little data erased a breach from view). */
  readonly keepsLastScored: boolean;

  constructor(input: LifecycleInput) {
    const info = workflowInfo();
    const carried: CarriedState | null = input.carried === undefined ? null : readCarriedState(input.carried);
    this.workflowId = info.workflowId;
    this.runId = info.runId;
    this.model = input.spec.name;
    this.useSearchAttributes = input.searchAttributes !== false;
    this.reportUrl = input.reportUrl;
    this.continueAsNewAfter = input.continueAsNewAfter ?? DEFAULT_CONTINUE_AS_NEW_AFTER;
    this.spec = input.spec;
    this.specHash = input.specHash;
    this.specVersion = carried?.specVersion ?? 1;
    this.stage = (carried?.stage ?? 'TRAINING') as Stage;
    this.champion = carried?.champion ?? null;
    this.candidate = carried?.candidate ? { ...carried.candidate, approvalDeadline: carried.candidate.approvalDeadline ?? '' } : null;
    this.approvedVersions = carried ? [...carried.approvedVersions] : [];
    this.history = carried ? [...carried.history] : [];
    this.refused = carried ? [...carried.refused] : [];
    this.paused = carried?.paused ?? null;
    this.monitor = carried ? { ...carried.monitor } : { cursor: 0, nextCheckAt: null, checks: 0, consecutiveBreaches: 0, lastCheck: null, labeledUntil: null };
    this.retrainStarts = carried ? [...carried.retrainStarts] : [];
    this.run = carried ? carried.run + 1 : 1;
    this.trainingFor = carried?.trainingFor ?? input.startedBy;
    this.versionMetrics = new Map(carried ? Object.entries(carried.versionMetrics).map(([v, m]) => [Number(v), m]) : []);
    // The order of these two markers is part of every recorded history: keep it.
    this.signedActions = patched('signed-actions');
    this.keyRecords = carried?.keyRecords ?? [];
    this.keyring = buildKeyring(this.keyRecords);
    this.keysWanted = this.signedActions;
    this.chainStartedAt = carried?.chainStartedAt ?? info.runStartTime.toISOString();
    this.usedNonces = carried?.usedNonces ? [...carried.usedNonces] : [];
    this.rollbackWithdrawsCandidate = patched('rollback-withdraws-candidate');
    this.keepsLastScored = patched('monitor-keeps-last-scored');
    if (this.keepsLastScored) {
      const last = this.monitor.lastCheck;
      this.monitor.lastScored ??= last?.enoughData ? last : null;
      this.monitor.lastBreach ??= last?.breached ? last : null;
    }
  }

  // ---- reading ------------------------------------------------------------------------

  waitingFor(): string {
    const { spec, candidate, champion, monitor, paused } = this;
    switch (this.stage) {
      case 'TRAINING':
        return 'the training run to finish';
      case 'AWAITING_APPROVAL':
        return `a decision on v${candidate?.version} by one of ${spec.approval.approvers.join(', ')} before ${candidate?.approvalDeadline}`;
      case 'DEPLOYING':
        return `the model server to serve v${this.deployTarget?.version}`;
      case 'SERVING':
        return this.monitoringOn()
          ? `the next monitor check at ${monitor.nextCheckAt ?? 'once a champion serves'}: v${champion?.version} is served`
          : `nothing: v${champion?.version} is served (rollback or retire at any time)`;
      case 'IDLE':
        return 'nothing: no champion yet and nothing in progress';
      case 'PAUSED':
        return `resume: monitoring of v${champion?.version} was paused by ${paused?.by} (${paused?.reason})`;
      case 'RETIRED':
        return 'nothing: retired';
    }
  }

  status(): LifecycleStatus {
    return {
      model: this.model,
      stage: this.stage,
      champion: this.champion,
      candidate: this.candidate && { ...this.candidate },
      waitingFor: this.waitingFor(),
      specVersion: this.specVersion,
      specHash: this.specHash,
      history: [...this.history],
      refused: [...this.refused],
      monitoring: { ...this.monitor, lastScored: this.monitor.lastScored ?? null, lastBreach: this.monitor.lastBreach ?? null, state: this.monitoringState(), interval: this.spec.monitoring?.interval ?? null },
      paused: this.paused,
      retrain: { recent: [...this.retrainStarts], blockedBy: this.blockedBy },
      run: this.run,
      auth: this.authStatus(),
    };
  }

  private authStatus(): LifecycleStatus['auth'] {
    if (!this.signedActions) return { signatures: 'legacy', keys: [], ignored: [], loads: 0 };
    const pins = this.spec.approval.keys ?? {};
    const keys = this.keyNames().flatMap((name) =>
      pins[name] !== undefined
        ? [{ name, fingerprint: pins[name], trust: 'pinned' as const }]
        : (this.keyring.current.get(name) ?? []).map((k) => ({ name, fingerprint: k.fingerprint, trust: k.trust })),
    );
    return { signatures: this.spec.approval.signatures ?? 'required', keys, ignored: this.keyring.ignored.slice(-10), loads: this.keyLoads };
  }

  /** Everyone whose keys this lifecycle needs: approvers, operators, pinned names. */
  keyNames(): string[] {
    const a = this.spec.approval;
    return [...new Set([...a.approvers, ...(a.operators ?? []), ...Object.keys(a.keys ?? {})])].sort();
  }

  /** Monitoring watches a served champion, unless the spec has none or a person paused it. */
  monitoringOn(): boolean {
    return this.spec.monitoring !== undefined && this.champion !== null && this.paused === null && this.stage !== 'RETIRED';
  }

  private monitoringState(): LifecycleStatus['monitoring']['state'] {
    if (!this.spec.monitoring) return 'off';
    if (this.paused) return 'paused';
    return this.champion ? 'watching' : 'idle';
  }

  /** What the action rules see (src/lifecycle/actionRules.ts): the same for updates and signals. */
  view(): LifecycleView {
    return {
      model: this.model,
      stage: this.stage,
      spec: this.spec,
      champion: this.champion,
      candidate: this.candidate,
      approvedVersions: this.approvedVersions,
      paused: this.paused,
      retrainStarts: this.retrainStarts,
      pending: {
        decision: this.decision && { kind: this.decision.kind, by: this.decision.payload.by },
        rollbackTo: this.rollback?.payload.toVersion ?? null,
        retire: this.retire !== null,
        retrain: this.retrain !== null,
      },
      nowMs: Date.now(),
      rollbackWithdrawsCandidate: this.rollbackWithdrawsCandidate,
      auth: this.authContext(),
    };
  }

  // Read-only: update validators call it, and they do not run on replay.
  private authContext(): VerifyContext | null {
    if (!this.signedActions) return null;
    const t = Date.now();
    const live = this.usedNonces.filter((u) => Date.parse(u.expiresAt) > t);
    return {
      workflowId: this.workflowId,
      nowMs: t,
      chainStartedMs: Date.parse(this.chainStartedAt),
      keyring: this.keyring,
      pins: this.spec.approval.keys ?? {},
      isUsed: (n) => live.some((u) => u.nonce === n),
      // Each name has its own share: one actor signing a lot never locks the others out.
      full: (name) => live.length >= NONCE_LIMIT || live.filter((u) => u.name === name).length >= NONCE_LIMIT_PER_NAME,
    };
  }

  /** The check whose drift score the Web UI shows: the latest one with a score (runs before it: the latest of any kind). */
  shownCheck(): MonitorState['lastCheck'] {
    return this.keepsLastScored ? (this.monitor.lastScored ?? null) : this.monitor.lastCheck;
  }

  restingStage(): Stage {
    return this.champion ? (this.paused ? 'PAUSED' : 'SERVING') : 'IDLE';
  }

  continueAsNewDue(): boolean {
    return workflowInfo().continueAsNewSuggested || this.cycles >= this.continueAsNewAfter;
  }

  /** A key reload asked for or under way, or signals held for one. */
  keysPending(): boolean {
    return this.keysWanted || this.keysLoading || this.parked.length > 0;
  }

  /** The hand-over to the next run: only between stages, with no action half-taken. */
  quiet(): boolean {
    return this.decision === null && this.rollback === null && this.retire === null && this.retrain === null && this.pendingNotes.length === 0 && !this.keysPending();
  }

  // ---- changing ------------------------------------------------------------------------

  backToRest(): void {
    this.candidate = null;
    this.decision = null;
    this.stage = this.restingStage();
  }

  note(event: string, extra: Omit<HistoryEntry, 'at' | 'event'> = {}): void {
    this.history.push({ at: new Date().toISOString(), event, ...extra });
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
  }

  // What a refused sender wrote is kept only in a bounded, escaped form: three 2 MB `by`s
  // once made the status answer and the carried state too large to send.
  refuse(action: string, via: Refusal['via'], reason: string, by?: unknown): void {
    const r: Refusal = { at: new Date().toISOString(), action, via, by: refusedBy(by), reason: boundedReason(reason) };
    if (r.by === undefined) delete r.by;
    this.refused.push(r);
    if (this.refused.length > REFUSED_LIMIT) this.refused.splice(0, this.refused.length - REFUSED_LIMIT);
    log.warn('refused action', { ...r });
  }

  /** An accepted signature is spent: the same signed payload sent again is refused as a replay. */
  spend(signer: Signer | null): void {
    if (!signer) return;
    this.pruneNonces();
    this.usedNonces.push({ nonce: signer.nonce, expiresAt: signer.expiresAt, name: signer.name });
  }

  private pruneNonces(): void {
    const t = Date.now();
    for (let i = this.usedNonces.length - 1; i >= 0; i--) if (Date.parse(this.usedNonces[i].expiresAt) <= t) this.usedNonces.splice(i, 1);
  }

  setKeys(records: KeyRecord[]): void {
    this.keyRecords = records;
    this.keyring = buildKeyring(records);
    this.keyLoads++;
  }

  /** The stored part, for the next run. */
  carried(): CarriedState {
    this.pruneNonces();
    const state: CarriedState = {
      format: carriedFormat(),
      specVersion: this.specVersion,
      stage: this.stage as CarriedState['stage'],
      champion: this.champion,
      candidate: this.candidate,
      approvedVersions: this.approvedVersions,
      versionMetrics: Object.fromEntries([...this.versionMetrics].map(([v, m]) => [String(v), m])),
      history: this.history,
      refused: this.refused,
      trainingFor: this.trainingFor,
      paused: this.paused,
      monitor: this.monitor,
      retrainStarts: this.retrainStarts,
      run: this.run,
      ...(this.signedActions ? { keyRecords: this.keyRecords, usedNonces: this.usedNonces, chainStartedAt: this.chainStartedAt } : {}),
    };
    // Bounded by construction (every list has a limit, every string from outside a length);
    // should it still weigh too much, the oldest history gives way (the ledger keeps it all).
    while (this.history.length > 0 && JSON.stringify(state).length > CARRIED_STATE_LIMIT_BYTES) this.history.shift();
    return state;
  }
}
