import { readFileSync } from 'node:fs';
import { temporal } from '@temporalio/proto';
import { monitorChecks } from './scripts/bench/monitorChecks';
const h = temporal.api.history.v1.History.decode(readFileSync('test/replay/histories/lifecycle-monitor-local.binpb'));
console.log(monitorChecks(h.events!).map((c) => [c.index, ((c.completedAt - c.startedAt) * 1000).toFixed(1)]));
const o = temporal.api.history.v1.History.decode(readFileSync('test/replay/histories/lifecycle-monitor-visible.binpb'));
console.log(monitorChecks(o.events!).length);
