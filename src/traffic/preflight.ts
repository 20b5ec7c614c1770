import { fetchModelStatus, type ModelStatus } from '../serving/client';
import { TrafficError } from './errors';
import { networkMessage } from './http';

/**
 * Asks the model server what it serves for the model before any row is read or sent: an
 * unreachable server, an unknown model and a model with no champion yet each get their
 * own error instead of a run of failed requests.
 */
export async function ensureServed(serverUrl: string, model: string): Promise<ModelStatus> {
  let status: ModelStatus | null;
  try {
    status = await fetchModelStatus(serverUrl, model);
  } catch (err) {
    if (err instanceof Error && /^GET .*: HTTP \d+/.test(err.message)) throw err;
    throw new TrafficError('unreachable', `cannot reach the model server at ${serverUrl}: ${networkMessage(err)}`, { serverUrl });
  }
  if (!status) {
    throw new TrafficError('not_found', `the model server at ${serverUrl} does not know model ${model} (no version of it is registered)`, { serverUrl, model });
  }
  if (!status.ready) {
    const why = status.loadError ? ` (${status.loadError})` : '';
    throw new TrafficError('no_champion', `the model server at ${serverUrl} serves no version of ${model} yet: approve a candidate first${why}`, { serverUrl, model });
  }
  return status;
}
