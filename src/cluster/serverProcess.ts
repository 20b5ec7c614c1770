import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

/** A server the cluster runs: its output appended to a log file, stopped by its process id. */
export interface ServerProcess {
  pid: number;
  /** Resolves when it exits, for whatever reason (or could not start). */
  exited: Promise<void>;
  hasExited(): boolean;
  /** `signal`, then SIGKILL if it is still running after `graceMs`; resolves once it exited. */
  stop(signal: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export function startServerProcess(binary: string, args: string[], o: { logFile: string; cwd?: string; uid?: number; gid?: number }): ServerProcess {
  const out = openSync(o.logFile, 'a');
  let exitedNow = false;
  let child;
  try {
    child = spawn(binary, args, { cwd: o.cwd, stdio: ['ignore', out, out], ...(o.uid !== undefined ? { uid: o.uid, gid: o.gid } : {}) });
  } finally {
    closeSync(out);
  }
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => ((exitedNow = true), resolve()));
    child.once('error', () => ((exitedNow = true), resolve()));
  });
  return {
    pid: child.pid ?? -1,
    exited,
    hasExited: () => exitedNow,
    async stop(signal, graceMs = 20_000) {
      if (!exitedNow) child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
    },
  };
}
