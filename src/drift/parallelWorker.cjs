// Entry of a drift worker thread. Worker threads do not inherit tsx's loader from the parent
// (Node 20: neither `tsx script.ts` nor `node --import tsx` makes `.ts` loadable in a Worker),
// so the entry registers tsx's CommonJS hook in this thread, then loads the TypeScript worker.
require('tsx/cjs/api').register();
require('./parallelWorker.ts');
