import pino, { type Logger as PinoLogger } from 'pino';
import type { LogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';

export type Logger = PinoLogger;

/** JSON lines for machines; pretty when a person watches the terminal. Logs go to stderr so stdout stays for results (`--json`). */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', name = 'perennial'): Logger {
  if (process.stderr.isTTY) {
    return pino({
      name,
      level,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname' } },
    });
  }
  return pino({ name, level }, pino.destination(2));
}

const SDK_TO_PINO: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** The SDK's warning for a worker without workflows: the training queue's worker is one by design. */
const ACTIVITIES_ONLY = 'No workflows registered, not polling for workflow tasks';

/** Routes the Temporal SDK's logs (worker, workflow and activity loggers) into the same pino logger. */
export function sdkLogger(logger: Logger): SdkLogger {
  const sdk = logger.child({ component: 'temporal-sdk' });
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => sdk[SDK_TO_PINO[message === ACTIVITIES_ONLY ? 'DEBUG' : level]](meta ?? {}, message);
  return {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
  };
}
