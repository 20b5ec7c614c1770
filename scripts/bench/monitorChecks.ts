import type { temporal } from '@temporalio/proto';
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

interface LocalActivityMarkerData {
  activity_type?: string;
  original_schedule_time?: { seconds?: number; nanos?: number };
}

/** A `checkChampion` local activity's marker, when the event is one that returned: its data and the check's end. */
export function localCheck(e: HistoryEvent): { data: LocalActivityMarkerData; finishedAt: number } | undefined {
  const m = e.markerRecordedEventAttributes;
  const data = m?.markerName === 'core_local_activity' && !m.failure ? m.details?.data?.payloads?.[0]?.data : undefined;
  if (!data) return undefined;
  const parsed = JSON.parse(Buffer.from(data).toString()) as LocalActivityMarkerData;
  if (parsed.activity_type !== 'checkChampion') return undefined;
  const result = m!.details?.result?.payloads?.[0]?.data;
  const finishedAt = result ? (JSON.parse(Buffer.from(result).toString()) as { finishedAt?: string }).finishedAt : undefined;
  return { data: parsed, finishedAt: finishedAt ? Date.parse(finishedAt) / 1000 : NaN };
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
      const startedAt = protoSeconds(local.data.original_schedule_time);
      out.push({ index, scheduledAt: startedAt, startedAt, completedAt: local.finishedAt });
    }
  });
  return out;
}
