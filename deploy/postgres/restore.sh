#!/bin/sh
# Restore one set written by backup.sh: restore.sh /backups/<UTC time>
# Checks the set's checksums and that every dump decrypts (before any database is touched), then for
# each database (Temporal's first, as they were dumped): ends the sessions still connected to it,
# drops it and recreates it from the dump, with its owner and extensions. Stop Temporal, the workers
# and the web app first (deploy/README.md, "Restore"), and restore all databases of the set together:
# cases and their workflows belong to the same instant.
# Encrypted sets (*.dump.gpg) are decrypted by gpg with the private key in $GNUPGHOME (import it
# there for the restore only, on the machine that restores, and remove it afterwards); the plaintext
# goes from gpg straight into pg_restore, never to the disk. Sets of plain *.dump files (written with
# BACKUP_ALLOW_PLAINTEXT=1) are restored as they are.
# Connection: PGHOST, PGPORT, PGUSER, PGPASSWORD of a superuser. The roles must exist: on a new server
# run `gpg --decrypt globals.sql.gpg | psql` first (it creates them without passwords), then
# ALTER ROLE ... PASSWORD.
set -eu

set_dir="${1:?usage: restore.sh BACKUP_SET_DIRECTORY}"
databases="${BACKUP_DATABASES:-temporal temporal_visibility jiuzhu}"

(cd "$set_dir" && sha256sum --check --quiet SHA256SUMS)
for db in $databases; do
    if [ -f "$set_dir/$db.dump.gpg" ]; then
        gpg --batch --quiet --decrypt "$set_dir/$db.dump.gpg" > /dev/null || {
            echo "restore: cannot decrypt $set_dir/$db.dump.gpg (is the private key in GNUPGHOME?)" >&2
            exit 1
        }
    elif [ ! -f "$set_dir/$db.dump" ]; then
        echo "restore: $set_dir has no $db.dump.gpg" >&2
        exit 1
    fi
done

failed="$(mktemp)"
trap 'rm -f -- "$failed"' EXIT
for db in $databases; do
    psql --dbname=postgres --quiet --no-psqlrc --set ON_ERROR_STOP=1 --set db="$db" --output=/dev/null <<'SQL'
select pg_terminate_backend(pid) from pg_stat_activity where datname = :'db' and pid <> pg_backend_pid();
SQL
    if [ -f "$set_dir/$db.dump.gpg" ]; then
        { gpg --batch --quiet --decrypt "$set_dir/$db.dump.gpg" || echo "$db" > "$failed"; } |
            pg_restore --clean --if-exists --create --exit-on-error --dbname=postgres
        [ ! -s "$failed" ] || { echo "restore: decrypting $db failed" >&2; exit 1; }
    else
        pg_restore --clean --if-exists --create --exit-on-error --dbname=postgres "$set_dir/$db.dump"
    fi
    echo "restore: $db restored from $set_dir"
done
