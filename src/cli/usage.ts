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
  versions <model>                        every registered version: metrics, data snapshot, spec, code, trainer,
                                          who trained it, gates, who approved it, deploys and replacements
  explain <model> <request_id>            one logged prediction: its inputs and features, the version that made
                                          it, and that version's lineage and approvals
  checks <model>                          the stored monitor checks (text: the last 50): drift score, breach,
                                          live AUC, performance
  approve <model> --version N --by ID --reason TEXT [--no-wait]
                                          approve the pending candidate vN; then wait until it is served or its
                                          deployment fails (up to the spec's rollout.deployTimeout + 60s)
  reject <model> --version N --by ID --reason TEXT
                                          reject the pending candidate vN
  rollback <model> --to N --by ID --reason TEXT [--no-wait]
                                          serve vN again (a version this lifecycle approved and served); waits
                                          like approve
  retrain <model> --by ID --reason TEXT   train a new candidate now (when SERVING, PAUSED or IDLE; refused during
                                          a training, a pending approval, the spec's cooldown, or once its budget
                                          is spent)
  pause <model> --by ID --reason TEXT     stop monitoring checks (stage PAUSED; the champion keeps serving)
  resume <model> --by ID --reason TEXT    restart monitoring: the next check is one interval from now
  retire <model> --by ID --reason TEXT [--no-wait]
                                          stop serving and end the lifecycle; waits until it has ended
  update-spec <model> <spec file> --by ID --reason TEXT [--cosign FILE | --print-cosign]
                                          swap the lifecycle's spec; a change to approval, gates, retrain or
                                          trainer also needs a second approver's co-signature (they run the
                                          same command with --print-cosign > FILE)
  validate <spec file>                    check a spec offline (no Temporal): exit 0, or 2 with every problem
                                          (an unknown key names the nearest known one)
  keys create --as NAME [--replace]       make NAME's signing key: private in $PERENNIAL_KEYS_DIR (default
                                          $PERENNIAL_HOME/keys, mode 0600), public in the registry; a name
                                          that has a key needs it here (--replace also revokes it)
  keys list                               registered keys by name, with fingerprints and trust
  keys revoke --as NAME --key FP          revoke one of NAME's keys (signed by NAME's key here)
  traffic <model> --scenario same|later-months|shift --rows N --rate R (--label-delay S | --no-labels)
          [--from DATE --to DATE] [--batch B] [--seed N] [--max-seconds T]
                                          replay N rows of the model's data source to the model server
                                          (PERENNIAL_SERVER_URL) at R rows/s, B per request (default 1), and
                                          post each row's true label S seconds after its prediction (0: right
                                          away; -1 or --no-labels: none); stops after T seconds (default 600)
                                          or on Ctrl-C, posting the labels due by then. Scenarios:
                                            same          a seeded random sample of the training window
                                            later-months  rows of [--from, --to) in time order (default: from
                                                          the end of the holdout to the end of the data)
                                            shift         like later-months, only rows whose every lookup key
                                                          or category column (flights: origin, destination)
                                                          holds a value rare or unseen in the training window
  help                                    this text

--by ID      who acts (letters, digits and . _ @ -); every action is signed with ID's key from the keys
             folder, and the Temporal client identity perennial-cli:<by>@<hostname> is recorded beside it
--print-signal
             (every action) print the signed payload as one line of JSON for \`temporal workflow signal
             --input\` or the Web UI's "Send a Signal", and send nothing
--expires D  how long a signature stays valid (default 24h, at most 31d)
--reason     why; required for every action, recorded in the lifecycle history and the ledger
--json       exactly one JSON object on stdout, also on errors: {"ok": false, "error", "code", "exitCode"}
             (status --json prints the lifecycle's status query result unchanged)

exit codes: 0 done, 1 failed (deployment failed or not seen in time, no worker answered; traffic: a request
failed or a label was refused), 2 refused by the lifecycle or bad input/usage (traffic: no champion served yet),
3 not found (no such model spec, no lifecycle running, a model the model server does not know), 4 Temporal
unreachable (traffic: the model server)

settings come from the environment or perennial.config.json (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
PERENNIAL_HOME, PERENNIAL_TASK_QUEUE, PERENNIAL_UI_URL, PERENNIAL_SERVER_URL, LOG_LEVEL, ...): see README.md`;
