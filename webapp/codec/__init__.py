"""The Temporal Web UI's codec server: decrypts workflow payloads for staff of the workflow's jurisdiction."""
