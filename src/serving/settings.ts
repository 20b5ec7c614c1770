import { z } from 'zod';
import { ConfigError } from '../config';

/**
 * The model server's tuning knobs, from the environment (all optional; the defaults are
 * buildModelServer's). Host, port and home come from `loadConfig()`; these few live here
 * until they join `ConfigSchema` in src/config.ts (which would also allow them in the
 * config file).
 */
const ServerSettingsSchema = z.object({
  /** How often the registry's champion aliases are polled (ms). */
  PERENNIAL_SERVER_POLL_MS: z.coerce.number().int().min(10).max(60_000).optional(),
  /** Prediction log: flush every this many ms. */
  PERENNIAL_SERVER_FLUSH_MS: z.coerce.number().int().min(1).max(3_600_000).optional(),
  /** Prediction log: flush once this many rows are buffered. */
  PERENNIAL_SERVER_FLUSH_ROWS: z.coerce.number().int().min(1).max(1_000_000).optional(),
  /** Largest request body in bytes (413 above). */
  PERENNIAL_SERVER_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1024 ** 3).optional(),
  /** Most instances per predict request (413 above). */
  PERENNIAL_SERVER_MAX_INSTANCES: z.coerce.number().int().min(1).max(1_000_000).optional(),
});

export interface ServerSettings {
  pollMs?: number;
  flushMs?: number;
  flushRows?: number;
  maxBodyBytes?: number;
  maxInstances?: number;
}

export function serverSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ServerSettings {
  const present = Object.fromEntries(Object.keys(ServerSettingsSchema.shape).filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  const parsed = ServerSettingsSchema.safeParse(present);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const s = parsed.data;
  return {
    pollMs: s.PERENNIAL_SERVER_POLL_MS,
    flushMs: s.PERENNIAL_SERVER_FLUSH_MS,
    flushRows: s.PERENNIAL_SERVER_FLUSH_ROWS,
    maxBodyBytes: s.PERENNIAL_SERVER_MAX_BODY_BYTES,
    maxInstances: s.PERENNIAL_SERVER_MAX_INSTANCES,
  };
}
