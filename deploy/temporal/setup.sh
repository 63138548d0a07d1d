#!/bin/sh
# Jiuzhu's Temporal namespace and custom search attributes (schemas/search.py), idempotent. Run by
# the compose service `temporal-setup` and the Kubernetes Job `temporal-search-attributes`, with the
# temporalio/admin-tools image: after Temporal is up, before any Jiuzhu worker starts (a workflow
# that sets an unregistered attribute fails its workflow tasks until the attribute exists).
# Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_RETENTION (for a new namespace).
# SQL visibility allows at most 10 Keyword, 3 Datetime and 3 Bool custom attributes per namespace.
set -eu
ns="$TEMPORAL_NAMESPACE"

tries=0
until temporal operator cluster health; do
    tries=$((tries + 1)); [ "$tries" -lt 60 ] || exit 1; sleep 2
done
temporal operator namespace describe -n "$ns" > /dev/null 2>&1 ||
    temporal operator namespace create -n "$ns" --retention "$TEMPORAL_RETENTION"

# retried: a new namespace takes a few seconds to reach the frontend's cache
tries=0
until temporal operator search-attribute create -n "$ns" \
        --name CaseStage --type Keyword \
        --name AssistanceType --type Keyword \
        --name Township --type Keyword \
        --name DeadlineDate --type Datetime \
        --name Overdue --type Bool; do
    tries=$((tries + 1)); [ "$tries" -lt 30 ] || exit 1; sleep 2
done
temporal operator search-attribute list -n "$ns"
