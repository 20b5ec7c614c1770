import { Runtime } from '@temporalio/worker';
import { sdkLogger, type Logger } from '../logging';

let installed = false;

/** Routes the SDK's own logs into perennial's logger. Must run before the first worker connection: the SDK allows it once per process. */
export function installRuntimeLogger(logger: Logger): void {
  if (installed) return;
  Runtime.install({ logger: sdkLogger(logger) });
  installed = true;
}
