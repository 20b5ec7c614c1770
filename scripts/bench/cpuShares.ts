import { readdirSync, readFileSync } from 'node:fs';

/**
 * Where a machine's CPU went between two samples, by process tree (a server and its
 * children, e.g. PostgreSQL's backends): on a machine every part of a cluster shares, a
 * latency figure means little without knowing whether the cores were already full. Linux
 * only (/proc); the clock tick is the kernel's USER_HZ, 100 on every Linux this runs on.
 */
export interface CpuSample {
  atMs: number;
  machineBusy: number;
  machineTotal: number;
  /** Time the hypervisor ran something else while this machine wanted a core. */
  machineSteal: number;
  /** CPU seconds so far of each named tree's live processes. */
  trees: Record<string, number>;
}

const TICK_S = 0.01;

export function sampleCpu(roots: Record<string, number>): CpuSample {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const idle = fields[3] + fields[4];
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const procs = processes();
  const children = new Map<number, number[]>();
  for (const [pid, p] of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  const trees: Record<string, number> = {};
  for (const [name, root] of Object.entries(roots)) trees[name] = treeSeconds(procs, children, root);
  const own = process.cpuUsage();
  trees['the bench itself'] = (own.user + own.system) / 1e6;
  return { atMs: Date.now(), machineBusy: (total - idle) * TICK_S, machineTotal: total * TICK_S, machineSteal: fields[7] * TICK_S, trees };
}

/** "worker 0.95, Temporal server 0.40, … cores; the machine 97% busy" between two samples (the bench's own process included). */
export function cpuShares(a: CpuSample, b: CpuSample): string {
  const wall = (b.atMs - a.atMs) / 1000;
  const named = Object.keys(b.trees).map((name) => ({ name, cores: (b.trees[name] - (a.trees[name] ?? 0)) / wall }));
  const busy = (b.machineBusy - a.machineBusy) / wall;
  const cores = (b.machineTotal - a.machineTotal) / wall;
  const rest = busy - named.reduce((sum, t) => sum + t.cores, 0);
  const steal = (b.machineSteal - a.machineSteal) / wall;
  return `${named.map((t) => `${t.name} ${t.cores.toFixed(2)}`).join(', ')}, everything else ${Math.max(0, rest).toFixed(2)} cores; the machine ${((busy / cores) * 100).toFixed(0)}% busy (${busy.toFixed(2)} of ${cores.toFixed(1)} cores, of it ${steal.toFixed(2)} stolen by the hypervisor)`;
}

interface Proc {
  ppid: number;
  seconds: number;
}

function processes(): Map<number, Proc> {
  const out = new Map<number, Proc>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the fields start after the last ')'.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(entry), { ppid: Number(f[1]), seconds: (Number(f[11]) + Number(f[12])) * TICK_S });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return out;
}

function treeSeconds(procs: Map<number, Proc>, children: Map<number, number[]>, root: number): number {
  let seconds = 0;
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    seconds += procs.get(pid)?.seconds ?? 0;
    todo.push(...(children.get(pid) ?? []));
  }
  return seconds;
}
