import type { temporal } from '@temporalio/proto';
import { localActivityMarker } from '../../src/temporal/localActivityMarkers';
import { protoSeconds } from './stats';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** One monitor check in a lifecycle's history, times in seconds. */
export interface MonitorCheckEvents {
  /** The event that records the check: its activity's scheduled event, or its local activity's marker. */
  index: number;
  scheduledAt: number;
  startedAt: number;
  completedAt: number;
}

/** A `checkChampion` local activity's marker, when the event is one that returned: when the worker began it, and the check's end (seconds). */
export function localCheck(e: HistoryEvent): { scheduledAt: number; finishedAt: number } | undefined {
  const marker = localActivityMarker(e);
  if (marker?.activityType !== 'checkChampion' || marker.failed) return undefined;
  const finishedAt = (marker.result as { finishedAt?: string } | undefined)?.finishedAt;
  return { scheduledAt: marker.scheduledAt, finishedAt: finishedAt ? Date.parse(finishedAt) / 1000 : NaN };
}

/**
 * Every `checkChampion` that returned, in a history, whether it ran as an activity (lifecycles
 * recorded before `monitor-check-local`) or as a local activity. A local activity's times are
 * the worker's: scheduled and started when the worker began it (at once, unless its
 * local-activity slots were full: the marker's `original_schedule_time`; its `complete_time`
 * is the workflow's clock, not the end), completed at the check's own `finishedAt`.
 */
export function monitorChecks(events: HistoryEvent[]): MonitorCheckEvents[] {
  const out: MonitorCheckEvents[] = [];
  const scheduled = new Map<string, { index: number; at: number }>();
  const started = new Map<string, number>();
  events.forEach((e, index) => {
    const at = protoSeconds(e.eventTime);
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'checkChampion') scheduled.set(String(e.eventId), { index, at });
    if (e.activityTaskStartedEventAttributes) started.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), at);
    const done = e.activityTaskCompletedEventAttributes;
    const s = done ? scheduled.get(String(done.scheduledEventId)) : undefined;
    if (done && s) out.push({ index: s.index, scheduledAt: s.at, startedAt: started.get(String(done.scheduledEventId)) ?? s.at, completedAt: at });
    const local = localCheck(e);
    if (local) {
      out.push({ index, scheduledAt: local.scheduledAt, startedAt: local.scheduledAt, completedAt: local.finishedAt });
    }
  });
  return out;
}
