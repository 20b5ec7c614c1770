import type { temporal } from '@temporalio/proto';

/** A local activity as its marker records it in a workflow's history (the SDK core's marker). */
export interface LocalActivityMarker {
  activityType: string;
  attempt: number;
  /** When the worker first scheduled it, by the worker's clock (seconds). */
  scheduledAt: number;
  failed: boolean;
  /** Its result, parsed from JSON; undefined when it failed. */
  result: unknown;
}

interface MarkerData {
  activity_type?: string;
  attempt?: number;
  original_schedule_time?: { seconds?: number; nanos?: number };
}

/** The local activity an event records, or undefined when it records none. */
export function localActivityMarker(e: temporal.api.history.v1.IHistoryEvent): LocalActivityMarker | undefined {
  const m = e.markerRecordedEventAttributes;
  const data = m?.markerName === 'core_local_activity' ? m.details?.data?.payloads?.[0]?.data : undefined;
  if (!data) return undefined;
  const parsed = JSON.parse(Buffer.from(data).toString()) as MarkerData;
  const result = m!.details?.result?.payloads?.[0]?.data;
  const t = parsed.original_schedule_time;
  return {
    activityType: parsed.activity_type ?? '',
    attempt: parsed.attempt ?? 1,
    scheduledAt: Number(t?.seconds ?? 0) + (t?.nanos ?? 0) / 1e9,
    failed: !!m!.failure,
    result: result ? JSON.parse(Buffer.from(result).toString()) : undefined,
  };
}
