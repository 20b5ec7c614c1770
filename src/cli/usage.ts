/** The `perennial` CLI's usage text: what `perennial help` prints, and what a usage error shows. */
export const USAGE = `usage: npx perennial <command> [arguments] [--json]

commands:
  list                                    every known model (shipped specs, $PERENNIAL_HOME/specs, running
                                          lifecycles): lifecycle stage, champion, candidate, registered versions
  start-lifecycle <model|spec file> [--by ID]
                                          start lifecycle/<model> (a model has one: a second start says it is
                                          already running); --by defaults to your user name
  status <model>                          stage, champion, candidate with metrics, gate and deadline, what it
                                          waits for, the approve command, recent history and refusals
  approve <model> --version N --by ID --reason TEXT [--no-wait]
                                          approve the pending candidate vN; then wait until it is served or its
                                          deployment fails (up to the spec's rollout.deployTimeout + 60s)
  reject <model> --version N --by ID --reason TEXT
                                          reject the pending candidate vN
  rollback <model> --to N --by ID --reason TEXT [--no-wait]
                                          serve vN again (a version this lifecycle approved and served); waits
                                          like approve
  retrain <model> --by ID --reason TEXT   train a new candidate now (when SERVING or IDLE)
  retire <model> --by ID --reason TEXT [--no-wait]
                                          stop serving and end the lifecycle; waits until it has ended
  help                                    this text

--by ID      who acts (letters, digits and . _ @ -); the Temporal client identity sent with every action is
             perennial-cli:<by>@<hostname>, recorded in the ledger beside it
--reason     why; required for every action, recorded in the lifecycle history and the ledger
--json       exactly one JSON object on stdout, also on errors: {"ok": false, "error", "code", "exitCode"}
             (status --json prints the lifecycle's status query result unchanged)

exit codes: 0 done, 1 failed (deployment failed or not seen in time, no worker answered), 2 refused by the
lifecycle or bad input/usage, 3 not found (no such model spec, no lifecycle running), 4 Temporal unreachable

settings come from the environment or perennial.config.json (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
PERENNIAL_HOME, PERENNIAL_TASK_QUEUE, PERENNIAL_UI_URL, LOG_LEVEL, ...): see README.md`;
