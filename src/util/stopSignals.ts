/**
 * The first SIGINT or SIGTERM, for a long-running command's clean stop. Later ones are
 * absorbed, not obeyed: a second Ctrl-C while the command stops (an impatient user, or a
 * wrapper such as npm forwarding the signal again) must not cut the stop short, e.g. before
 * the model server has flushed its prediction log. Under tsx (`npm start`) a signal that
 * finds no listener ends the process at once, so the listeners stay for the rest of the
 * process's life; `onRepeat` hears the repeats. The stop itself is bounded; SIGKILL forces.
 */
export function firstStopSignal(onRepeat: (signal: NodeJS.Signals) => void = () => undefined): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first: NodeJS.Signals | undefined;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (first) return onRepeat(signal);
        first = signal;
        resolve(signal);
      });
    }
  });
}
