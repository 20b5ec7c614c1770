import type { ModelStatus } from './app';

export type { ModelStatus };

/**
 * What a model server says it serves for a model (`GET /v1/models/{name}`), or null
 * when the server does not know the model (404). Throws when the server is unreachable
 * or answers anything else, so a caller (the deploy activity) can retry.
 */
export async function fetchModelStatus(serverUrl: string, model: string, o: { timeoutMs?: number } = {}): Promise<ModelStatus | null> {
  const url = `${serverUrl.replace(/\/$/, '')}/v1/models/${encodeURIComponent(model)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(o.timeoutMs ?? 5000) });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as ModelStatus;
}

export type ServingOutcome =
  | { serving: true; status: ModelStatus }
  /** Timed out, or the server reports it cannot load that version (`loadError`). */
  | { serving: false; status: ModelStatus | null; reason: string };

/**
 * Polls until the server scores `model` with `version` (`champion.version`), until it
 * reports that it cannot load that version (the alias names it and `loadError` is set),
 * or until `timeoutMs` (or `signal` aborts). Network errors while polling are retried until the deadline.
 */
export async function waitUntilServing(
  serverUrl: string,
  model: string,
  version: number,
  o: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal } = {},
): Promise<ServingOutcome> {
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  let last: ModelStatus | null = null;
  let lastError = '';
  for (;;) {
    try {
      last = await fetchModelStatus(serverUrl, model, { timeoutMs: Math.max(1000, Math.min(5000, deadline - Date.now())) });
      lastError = '';
      if (last?.champion?.version === version) return { serving: true, status: last };
      if (last?.alias?.version === version && last.loadError) return { serving: false, status: last, reason: last.loadError };
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (o.signal?.aborted) return { serving: false, status: last, reason: 'the wait was cancelled' };
    if (Date.now() >= deadline) {
      const seen = last ? `serves ${last.champion ? `v${last.champion.version}` : 'nothing'}` : lastError ? `unreachable: ${lastError}` : 'does not know the model';
      return { serving: false, status: last, reason: `after ${o.timeoutMs ?? 30_000} ms the server ${seen}, not v${version}` };
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 250));
  }
}
