import type { LiveServer, Registry } from '../registry/registry';

export type DeployOutcome =
  | { serving: true; servers: LiveServer[] }
  /** Timed out, cancelled, or a live server reports it cannot load the version. */
  | { serving: false; servers: LiveServer[]; reason: string };

/**
 * Waits until every model server heard from within `livenessMs` serves `model` at
 * `version` (and at least one does), as the servers report it to the registry. A server
 * that stops beating drops out of the wait once the window passes; a server that says it
 * cannot load the version ends the wait at once. Registry errors are retried until the deadline.
 */
export async function waitUntilServedEverywhere(
  registry: Registry,
  model: string,
  version: number,
  o: { timeoutMs: number; livenessMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<DeployOutcome> {
  const deadline = Date.now() + o.timeoutMs;
  let servers: LiveServer[] = [];
  let lastError = '';
  for (;;) {
    try {
      servers = await registry.liveServers(o.livenessMs);
      lastError = '';
      if (servers.length > 0 && servers.every((s) => servedBy(s, model)?.version === version)) return { serving: true, servers };
      const refusing = servers.find((s) => servedBy(s, model)?.aliasVersion === version && servedBy(s, model)?.loadError);
      if (refusing) return { serving: false, servers, reason: `the model server ${describe(refusing)} cannot load v${version}: ${servedBy(refusing, model)!.loadError}` };
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (o.signal?.aborted) return { serving: false, servers, reason: 'the wait was cancelled' };
    if (Date.now() >= deadline) return { serving: false, servers, reason: `after ${o.timeoutMs} ms ${summary(servers, model, version, lastError, o.livenessMs)}` };
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 250));
  }
}

function servedBy(s: LiveServer, model: string) {
  return s.serving.find((m) => m.model === model);
}

function describe(s: LiveServer): string {
  return `${s.id}${s.url ? ` at ${s.url}` : ''}`;
}

function summary(servers: LiveServer[], model: string, version: number, lastError: string, livenessMs: number): string {
  if (lastError) return `the registry could not be read: ${lastError}`;
  if (servers.length === 0) return `no model server has reported to the registry within ${livenessMs} ms: is one running with this registry?`;
  const behind = servers.filter((s) => servedBy(s, model)?.version !== version);
  return `${behind.length} of ${servers.length} live model servers do not serve v${version}: ${behind
    .slice(0, 5)
    .map((s) => {
      const m = servedBy(s, model);
      return `${describe(s)} ${m ? (m.version === null ? 'serves nothing' : `serves v${m.version}`) : 'does not know the model yet'}`;
    })
    .join('; ')}`;
}
