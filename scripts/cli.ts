/**
 * `npx perennial <command> …` (bin: scripts/perennial.js, which runs this file through
 * tsx): the lifecycle's human actions and views. See src/cli/usage.ts.
 */
import { main } from '../src/cli/main';

main(process.argv.slice(2)).then(
  // Exit once stdout has taken everything: a piped --json answer is never cut short.
  (code) => process.stdout.write('', () => process.exit(code)),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack ?? err.message : err);
    process.exit(1);
  },
);
