import type { LabelsResponse, PredictResponse } from '../serving/app';

/** How one request to the model server ended: its JSON body, or why there is none. */
export type Answer<T> =
  | { ok: true; body: T }
  /** `status` is the HTTP status, or `network` when nothing answered. */
  | { ok: false; status: number | 'network'; error: string };

const REQUEST_TIMEOUT_MS = 10_000;

/** POSTs JSON; never throws: failures come back as an Answer, to be counted. */
export async function postJson<T>(url: string, body: unknown): Promise<Answer<T>> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    return { ok: false, status: 'network', error: networkMessage(err) };
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) return { ok: false, status: res.status, error: errorOf(text) ?? `HTTP ${res.status}` };
  try {
    return { ok: true, body: JSON.parse(text) as T };
  } catch {
    return { ok: false, status: res.status, error: `not JSON: ${text.slice(0, 200)}` };
  }
}

export function predictUrl(serverUrl: string, model: string): string {
  return `${serverUrl.replace(/\/$/, '')}/v1/models/${encodeURIComponent(model)}:predict`;
}

export function labelsUrl(serverUrl: string, model: string): string {
  return `${serverUrl.replace(/\/$/, '')}/v1/models/${encodeURIComponent(model)}:labels`;
}

export const predict = (serverUrl: string, model: string, instances: unknown[]) => postJson<PredictResponse>(predictUrl(serverUrl, model), { instances });

export const postLabels = (serverUrl: string, model: string, labels: { request_id: string; label: 0 | 1 }[]) =>
  postJson<LabelsResponse>(labelsUrl(serverUrl, model), { labels });

function errorOf(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { error?: unknown; details?: { row: number; field?: string; message: string }[] };
    if (typeof body.error !== 'string') return undefined;
    const first = body.details?.[0];
    return first ? `${body.error} (row ${first.row}${first.field ? ` ${first.field}` : ''}: ${first.message})` : body.error;
  } catch {
    return text ? text.slice(0, 200) : undefined;
  }
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is in its cause. */
export function networkMessage(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`;
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
