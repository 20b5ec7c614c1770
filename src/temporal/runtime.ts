import { Runtime } from '@temporalio/worker';
import { sdkLogger, type Logger } from '../logging';

let installed = false;

/**
 * Routes the SDK's own logs into perennial's logger and, given an address, serves the SDK's
 * Prometheus metrics there (`/metrics`: its `temporal_` metrics and the lifecycle's own).
 * Must run before the first worker connection: the SDK allows it once per process.
 */
export function installRuntime(logger: Logger, metrics?: { host: string; port: number } | null): void {
  if (installed) return;
  Runtime.install({
    logger: sdkLogger(logger),
    ...(metrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `${metrics.host}:${metrics.port}` } } } } : {}),
  });
  installed = true;
}

/** The metrics URL of a worker serving them at `metrics`. */
export function workerMetricsUrl(metrics: { host: string; port: number }): string {
  return `http://${metrics.host.includes(':') ? `[${metrics.host}]` : metrics.host}:${metrics.port}/metrics`;
}
