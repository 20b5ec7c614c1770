// Entry of the prediction log's writer thread. Worker threads do not inherit tsx's loader
// from the parent (Node 20), so the entry registers tsx's CommonJS hook in this thread, then
// loads the TypeScript worker.
require('tsx/cjs/api').register();
require('./predictionLogWorker.ts');
