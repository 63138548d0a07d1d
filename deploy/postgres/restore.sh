#!/bin/sh
# Restore one set written by backup.sh: restore.sh /backups/<UTC time>
# Checks the set's checksums, then for each database (Temporal's first, as they were dumped): ends the
# sessions still connected to it, drops it and recreates it from the dump, with its owner and
# extensions. Stop Temporal, the workers and the web app first (deploy/README.md, "Restore"), and
# restore all databases of the set together: cases and their workflows belong to the same instant.
# Connection: PGHOST, PGPORT, PGUSER, PGPASSWORD of a superuser. The roles must exist: on a new server
# run `psql -f globals.sql` first (it creates them without passwords), then ALTER ROLE ... PASSWORD.
set -eu

set_dir="${1:?usage: restore.sh BACKUP_SET_DIRECTORY}"
databases="${BACKUP_DATABASES:-temporal temporal_visibility jiuzhu}"

(cd "$set_dir" && sha256sum --check --quiet SHA256SUMS)
for db in $databases; do
    [ -f "$set_dir/$db.dump" ] || { echo "restore: $set_dir has no $db.dump" >&2; exit 1; }
done

for db in $databases; do
    psql --dbname=postgres --quiet --no-psqlrc --set ON_ERROR_STOP=1 --set db="$db" --output=/dev/null <<'SQL'
select pg_terminate_backend(pid) from pg_stat_activity where datname = :'db' and pid <> pg_backend_pid();
SQL
    pg_restore --clean --if-exists --create --exit-on-error --dbname=postgres "$set_dir/$db.dump"
    echo "restore: $db restored from $set_dir"
done
