#!/bin/sh
# One backup of Jiuzhu's PostgreSQL server: the compose `backup` service runs it every night, the
# Kubernetes CronJob `postgres-backup` once per run (deploy/README.md, "Backups and restore").
#
#   $BACKUP_DIR/<UTC time>/globals.sql           roles (without passwords) and tablespaces
#   $BACKUP_DIR/<UTC time>/<database>.dump       pg_dump --format=custom, one per database
#   $BACKUP_DIR/<UTC time>/SHA256SUMS
#
# Temporal's databases are dumped before Jiuzhu's, so the case database is never older than the
# workflows (as `jiuzhu backup` does); what happened in between is redone after a restore by the
# activities, which are idempotent by key. A set is written under a temporary name and renamed when
# complete, so a directory named by a time is always a whole set. Sets older than BACKUP_KEEP_DAYS
# are deleted. Connection: the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD (PGSSLMODE), for a
# role that can read every database (a superuser, or a role granted pg_read_all_data).
set -eu
umask 077

dir="${BACKUP_DIR:-/backups}"
keep="${BACKUP_KEEP_DAYS:-14}"
databases="${BACKUP_DATABASES:-temporal temporal_visibility jiuzhu}"

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
work="$dir/.partial-$stamp"
mkdir -p "$work"

pg_dumpall --globals-only --no-role-passwords --file="$work/globals.sql"
for db in $databases; do
    pg_dump --format=custom --dbname="$db" --file="$work/$db.dump"
done
(cd "$work" && sha256sum -- * > SHA256SUMS)
mv "$work" "$dir/$stamp"
echo "backup: $dir/$stamp: $(du -sh "$dir/$stamp" | cut -f1)"

# prune: whole sets past the retention, and partial sets left by a run that died
find "$dir" -mindepth 1 -maxdepth 1 -type d -name '2*' -mtime +"$keep" -exec rm -rf -- {} +
find "$dir" -mindepth 1 -maxdepth 1 -type d -name '.partial-*' ! -name ".partial-$stamp" -mmin +1440 \
    -exec rm -rf -- {} +
