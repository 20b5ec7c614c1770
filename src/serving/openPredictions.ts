import path from 'node:path';
import type { RegistryPlace } from '../registry/open';
import { PREDICTION_LOG_FILE, PredictionLog } from './predictionLog';
import { PredictionLogThread, type PredictionLogThreadOptions } from './predictionLogThread';
import { PostgresPredictionLog } from './postgresPredictionLog';
import type { PredictionReader, PredictionSink } from './predictionStore';

/** The prediction log lives beside the registry: PostgreSQL at `registryUrl`, else `predictions.sqlite` in `home`. */
export function predictionLogFile(home: string): string {
  return path.join(home, PREDICTION_LOG_FILE);
}

/** The log as monitoring and the CLI read it. */
export function openPredictionReader(where: RegistryPlace): PredictionReader {
  return where.registryUrl ? new PostgresPredictionLog(where.registryUrl) : new PredictionLog(predictionLogFile(where.home));
}

/** The log as the model server writes it; resolves once the log can be written. */
export async function openPredictionSink(where: RegistryPlace, o: PredictionLogThreadOptions = {}): Promise<PredictionSink> {
  if (!where.registryUrl) return PredictionLogThread.open(predictionLogFile(where.home), o);
  const log = new PostgresPredictionLog(where.registryUrl, o);
  try {
    return await log.open();
  } catch (err) {
    await log.close();
    throw err;
  }
}
