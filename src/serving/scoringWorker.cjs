// Entry of the model server's scoring thread. Worker threads do not inherit tsx's loader
// from the parent (Node 20), so the entry registers tsx's CommonJS hook in this thread, then
// loads the TypeScript worker.
require('tsx/cjs/api').register();
require('./scoringWorker.ts');
