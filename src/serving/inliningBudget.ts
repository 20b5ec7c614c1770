/**
 * Imported first by the model server's own process (scripts/serve.ts), before any other
 * module is loaded: V8 reads the flag when it optimizes a function, so it must be set
 * before the request path is compiled.
 *
 * Why: a batch-1 prediction runs through node's HTTP parser callbacks, fastify's request
 * chain and the model route's handler. V8's default budget of bytecode inlined into one
 * optimized function (920 bytes) runs out along that chain. Twice the budget cut the
 * server's main-thread CPU per prediction by 5–9 µs of ~140 in five same-run A/Bs with
 * varied flights (.perennial/scratch/ab.ts); the bare fastify baseline gained nothing from it.
 *
 * A `--max-inlined-bytecode-size-cumulative` given to node on the command line wins. `npm
 * start` runs the model server inside the demo's process, without it.
 */
import { setFlagsFromString } from 'node:v8';

const FLAG = '--max-inlined-bytecode-size-cumulative';

// V8 takes the flag with dashes or underscores.
if (!process.execArgv.some((a) => a.replace(/_/g, '-').startsWith(FLAG))) setFlagsFromString(`${FLAG}=1840`);
