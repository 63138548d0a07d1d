#!/bin/bash
# Creates the databases of the compose stack. The postgres image runs this once, on an empty data
# directory (/docker-entrypoint-initdb.d); later password changes are done with ALTER ROLE.
#   temporal, temporal_visibility  owned by role temporal (schema: the temporal-schema service)
#   jiuzhu                         owned by role jiuzhu   (schema: jiuzhu migrate)
set -e
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD is not set}"
: "${JIUZHU_DB_PASSWORD:?JIUZHU_DB_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    --set temporal_pw="$TEMPORAL_DB_PASSWORD" --set jiuzhu_pw="$JIUZHU_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN PASSWORD :'temporal_pw';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
CREATE ROLE jiuzhu LOGIN PASSWORD :'jiuzhu_pw';
CREATE DATABASE jiuzhu OWNER jiuzhu;
-- Temporal's SQL visibility schema needs btree_gin; create it as superuser up front.
\connect temporal_visibility
CREATE EXTENSION IF NOT EXISTS btree_gin;
SQL
