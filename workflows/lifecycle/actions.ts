import { ApplicationFailure, currentUpdateInfo, setHandler, type SignalDefinition } from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import type { Check } from '../../src/lifecycle/actionRules';
import { SCHEDULE_ACTOR } from '../../src/lifecycle/names';
import { checkDecision, checkPause, checkResume, checkRetire, checkRetrain, checkRollback } from './validation';
import type { LifecycleAction } from '../../src/lifecycle/actions';
import type { ActionSource } from '../../src/lifecycle/identity';
import type { Signer } from '../../src/auth/signature';
import {
  approveSignal,
  approveUpdate,
  pauseSignal,
  pauseUpdate,
  rejectSignal,
  rejectUpdate,
  resumeSignal,
  resumeUpdate,
  retireSignal,
  retireUpdate,
  retrainNowSignal,
  retrainNowUpdate,
  rollbackSignal,
  rollbackUpdate,
  statusQuery,
  type ActionAck,
} from './definitions';
import { publish } from './details';
import type { LifecycleState } from './state';

/** Signed signals held while keys reload; more are refused. */
const PARKED_LIMIT = 10;

type Accept = (value: Record<string, unknown>, source: ActionSource, signer: Signer | null) => string;
type ActionCheck = (raw: unknown) => Check<Record<string, unknown>>;

export const updateSource = (): ActionSource => ({ kind: 'update', updateId: currentUpdateInfo()?.id ?? '' });

/**
 * The human actions (all but updateSpec, in ./specUpdate.ts), each as an update and as a
 * signal under the same rules: a refused update throws from its validator (the caller gets
 * the reason, nothing changes); a refused signal changes nothing and is listed in
 * `status.refused`. Accepting only records the ask in the state: the stages act on it.
 */
export class ActionHandlers {
  private readonly checks = new Map<LifecycleAction, ActionCheck>();
  private readonly accepts = new Map<LifecycleAction, Accept>();

  constructor(private readonly s: LifecycleState) {}

  register(): void {
    const s = this.s;
    setHandler(statusQuery, () => s.status());
    for (const kind of ['approve', 'reject'] as const) {
      this.on(kind, kind === 'approve' ? approveUpdate : rejectUpdate, kind === 'approve' ? approveSignal : rejectSignal, (raw) => checkDecision(s.view(), kind, raw), (d, source, signer) => {
        s.decision = { kind, payload: d, source, signer };
        publish(s);
        return `v${d.version} ${kind === 'approve' ? 'approved' : 'rejected'} by ${d.by}`;
      });
    }
    this.on('rollback', rollbackUpdate, rollbackSignal, (raw) => checkRollback(s.view(), raw), (r, source, signer) => {
      s.rollback = { payload: r, source, signer };
      return s.stage === 'AWAITING_APPROVAL' && s.candidate ? `rolling back to v${r.toVersion}; v${s.candidate.version}, awaiting approval, is withdrawn` : `rolling back to v${r.toVersion}`;
    });
    this.on('retire', retireUpdate, retireSignal, (raw) => checkRetire(s.view(), raw), (r, source, signer) => {
      s.retire = { payload: r, source, signer };
      return `retiring ${s.model}`;
    });
    this.on('retrainNow', retrainNowUpdate, retrainNowSignal, (raw) => checkRetrain(s.view(), raw), (r, source, signer) => {
      s.retrain = { payload: r, source, signer };
      return `retraining ${s.model} for ${r.by}`;
    });
    this.on('pause', pauseUpdate, pauseSignal, (raw) => checkPause(s.view(), raw), (r, source, signer) => {
      s.paused = { at: new Date().toISOString(), by: r.by, reason: r.reason };
      if (s.stage === 'SERVING') s.stage = 'PAUSED';
      s.pendingNotes.push({ name: 'paused', by: r.by, reason: r.reason, source, signer });
      publish(s);
      return `monitoring of ${s.model} paused`;
    });
    this.on('resume', resumeUpdate, resumeSignal, (raw) => checkResume(s.view(), raw), (r, source, signer) => {
      s.paused = null;
      if (s.stage === 'PAUSED') s.stage = s.champion ? 'SERVING' : 'IDLE';
      // A fresh interval from now: the first check after a pause covers the traffic since the last one.
      s.monitor.nextCheckAt = null;
      s.pendingNotes.push({ name: 'resumed', by: r.by, reason: r.reason, source, signer });
      publish(s);
      return `monitoring of ${s.model} resumed`;
    });
  }

  private on<T extends Record<string, unknown>>(
    name: LifecycleAction,
    update: UpdateDefinition<ActionAck, [T]>,
    signal: SignalDefinition<[unknown]>,
    check: (raw: unknown) => Check<T>,
    accept: (value: T, source: ActionSource, signer: Signer | null) => string,
  ): void {
    const s = this.s;
    setHandler(
      update,
      (raw) => {
        // Checked again: another update accepted since this one's validator ran may have spent its signature.
        const c = check(raw);
        if (!c.ok) throw ApplicationFailure.nonRetryable(c.reason, 'ActionRefused');
        s.spend(c.signer);
        return { accepted: true, message: accept(c.value, updateSource(), c.signer) };
      },
      {
        validator: (raw) => {
          // The spec's schedule asks by signal (workflows/scheduledRetrain.ts), never by update.
          if (s.signedActions && name === 'retrainNow' && (raw as { by?: unknown } | null)?.by === SCHEDULE_ACTOR) throw new Error(`${SCHEDULE_ACTOR} asks by signal only`);
          const c = check(raw);
          if (!c.ok) throw new Error(c.reason);
        },
      },
    );
    this.checks.set(name, check as ActionCheck);
    this.accepts.set(name, accept as Accept);
    setHandler(signal, (raw) => {
      const ordinal = (s.signalsSeen.get(name) ?? 0) + 1;
      s.signalsSeen.set(name, ordinal);
      this.onSignal(name, raw, ordinal, true);
    });
  }

  /** A signal is accepted, refused, or — signed by a key this lifecycle does not know yet — held until keys are reloaded. */
  onSignal(name: LifecycleAction, raw: unknown, ordinal: number, mayPark: boolean): void {
    const s = this.s;
    const c = this.checks.get(name)!(raw);
    if (c.ok) {
      s.spend(c.signer);
      const value = c.value;
      this.accepts.get(name)!(value, { kind: 'signal', name, match: s.signedActions ? {} : { ...value }, ...(s.signedActions ? { ordinal } : {}) }, c.signer);
    } else if (mayPark && c.unknownKey && s.parked.length < PARKED_LIMIT) {
      s.parked.push({ name, raw, ordinal });
      s.keysWanted = true;
    } else s.refuse(name, 'signal', c.reason, c.by);
  }

  /** The signals held for a key reload, decided now with the keys just loaded. */
  decideParked(): void {
    for (const p of this.s.parked.splice(0)) this.onSignal(p.name, p.raw, p.ordinal, false);
  }
}
