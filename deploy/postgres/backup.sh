#!/bin/sh
# One backup of Jiuzhu's PostgreSQL server: the compose `backup` service runs it every night, the
# Kubernetes CronJob `postgres-backup` once per run (deploy/README.md, "Backups and restore").
#
#   $BACKUP_DIR/<UTC time>/globals.sql.gpg         roles (without passwords) and tablespaces
#   $BACKUP_DIR/<UTC time>/<database>.dump.gpg     pg_dump --format=custom, one per database
#   $BACKUP_DIR/<UTC time>/SHA256SUMS
#
# Every file holding data is encrypted with gpg to the public key(s) BACKUP_GPG_RECIPIENT (key ids,
# fingerprints or e-mail addresses, space-separated), on its way from pg_dump to the disk: no
# plaintext dump is ever written. BACKUP_GPG_PUBLIC_KEY_FILE: a file with those public keys, imported into a
# throwaway keyring (otherwise they must be in $GNUPGHOME). Only the private key opens a set, and it
# stays off the database host (restore.sh). Without a recipient the script refuses to run (exit 2),
# unless BACKUP_ALLOW_PLAINTEXT=1 (development only: then the files are plain .sql and .dump).
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
recipients="${BACKUP_GPG_RECIPIENT:-}"
public_key="${BACKUP_GPG_PUBLIC_KEY_FILE:-}"

if [ -n "$recipients" ]; then
    command -v gpg >/dev/null || { echo "backup: gpg is not installed (package gnupg)" >&2; exit 2; }
    if [ -n "$public_key" ]; then
        [ -r "$public_key" ] || { echo "backup: BACKUP_GPG_PUBLIC_KEY_FILE $public_key is not readable" >&2; exit 2; }
        GNUPGHOME="$(mktemp -d "${TMPDIR:-/tmp}/backup-gnupg.XXXXXX")"
        export GNUPGHOME
        trap 'gpgconf --kill all 2>/dev/null; rm -rf -- "$GNUPGHOME"' EXIT
        gpg --batch --quiet --import "$public_key"
    fi
    set --
    for r in $recipients; do
        set -- "$@" --recipient "$r"
    done
    gpg --batch --quiet --trust-model always "$@" --encrypt </dev/null >/dev/null 2>&1 || {
        echo "backup: cannot encrypt to BACKUP_GPG_RECIPIENT ($recipients): public key missing or unusable" >&2
        exit 2
    }
    suffix=.gpg
elif [ "${BACKUP_ALLOW_PLAINTEXT:-}" = 1 ]; then
    echo "backup: WARNING: BACKUP_ALLOW_PLAINTEXT=1, writing unencrypted dumps (development only)" >&2
    suffix=
else
    echo "backup: refusing to write unencrypted dumps: set BACKUP_GPG_RECIPIENT (and BACKUP_GPG_PUBLIC_KEY_FILE)," \
        "or BACKUP_ALLOW_PLAINTEXT=1 for development (deploy/README.md, \"Backups and restore\")" >&2
    exit 2
fi

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
work="$dir/.partial-$stamp"
mkdir -p "$work"

# write stdin to $1, encrypted when a recipient is set
store() {
    if [ -n "$suffix" ]; then
        gpg --batch --quiet --yes --trust-model always --compress-algo none "$@" --encrypt \
            --output "$work/$target$suffix"
    else
        cat > "$work/$target"
    fi
}

# a pipeline's status is its last command's: the dump's failure is kept in a file
failed="$work/.failed"
target=globals.sql
{ pg_dumpall --globals-only --no-role-passwords || echo "$target" > "$failed"; } | store "$@"
for db in $databases; do
    target="$db.dump"
    { pg_dump --format=custom --dbname="$db" || echo "$target" > "$failed"; } | store "$@"
done
if [ -e "$failed" ]; then
    echo "backup: dumping $(cat "$failed") failed; the set is left in $work" >&2
    exit 1
fi
(cd "$work" && sha256sum -- * > SHA256SUMS)
mv "$work" "$dir/$stamp"
echo "backup: $dir/$stamp: $(du -sh "$dir/$stamp" | cut -f1)"

# prune: whole sets past the retention, and partial sets left by a run that died
find "$dir" -mindepth 1 -maxdepth 1 -type d -name '2*' -mtime +"$keep" -exec rm -rf -- {} +
find "$dir" -mindepth 1 -maxdepth 1 -type d -name '.partial-*' ! -name ".partial-$stamp" -mmin +1440 \
    -exec rm -rf -- {} +
