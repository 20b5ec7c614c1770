#!/bin/sh
# Temporal's two databases on the compose PostgreSQL, created and migrated to the server's
# schema with its own SQL tool; idempotent, so a restart after a partial setup, or a start
# on kept data, only migrates. The password comes by SQL_PASSWORD, never the command line.
set -eu
SCHEMA_DIR=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" --db "$DATABASE" "$@"
}

# Runs one step; "already exists" is success (the step was done before).
step() {
  if ! out=$(sql "$@" 2>&1); then
    case $out in
      *"already exists"*) ;;
      *) echo "$out" >&2; exit 1 ;;
    esac
  fi
}

for pair in temporal:temporal temporal_visibility:visibility; do
  DATABASE=${pair%%:*}
  step create-database
  step setup-schema -v 0.0
  sql update-schema -d "$SCHEMA_DIR/${pair#*:}/versioned"
done
echo "Temporal schema ready (temporal, temporal_visibility)"
