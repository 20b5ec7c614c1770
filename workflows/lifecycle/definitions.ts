import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ActorRequest, Decision, LifecycleStatus, RollbackRequest, UpdateSpecRequest } from '../../src/lifecycle/contract';

/** What an accepted action update answers. */
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
