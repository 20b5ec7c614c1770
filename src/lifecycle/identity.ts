import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';

/** Where a human action came from: an update (by its id) or a signal (by name and its place among this run's signals of that name). */
export type ActionSource =
  | { kind: 'update'; updateId: string }
  | { kind: 'signal'; name: string; match: Record<string, unknown>; ordinal?: number };

/**
 * The Temporal client identity the server recorded for an action. `by` in a payload is
 * self-declared; this is what the sending client called itself — recorded beside it for
 * the audit trail (neither is authentication).
 */
export async function identityOfAction(client: Client, workflowId: string, runId: string, source: ActionSource): Promise<string | undefined> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  if (source.kind === 'update') {
    for (const e of events) {
      const accepted = e.workflowExecutionUpdateAcceptedEventAttributes;
      if (accepted?.acceptedRequest?.meta?.updateId === source.updateId) return accepted.acceptedRequest.meta.identity ?? undefined;
    }
    return undefined;
  }
  // The n-th signal of that name in this run is the n-th such event: exact, even when a
  // refused copy of the same payload came after it.
  if (source.ordinal !== undefined) {
    let n = 0;
    for (const e of events) {
      const signaled = e.workflowExecutionSignaledEventAttributes;
      if (signaled?.signalName === source.name && ++n === source.ordinal) return signaled.identity ?? undefined;
    }
    return undefined;
  }
  for (let i = events.length - 1; i >= 0; i--) {
    const signaled = events[i].workflowExecutionSignaledEventAttributes;
    if (signaled?.signalName !== source.name) continue;
    const payload = signaled.input?.payloads?.[0];
    const value = payload ? (defaultPayloadConverter.fromPayload(payload) as Record<string, unknown>) : undefined;
    if (value && Object.entries(source.match).every(([k, v]) => value[k] === v)) return signaled.identity ?? undefined;
  }
  return undefined;
}
