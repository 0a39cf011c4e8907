#!/bin/sh
# Wait for the database, migrate to head, then serve. Settings come from OPTOUT_* variables.
set -eu
tries=0
until python -c "from optout_service.config import get_settings; from optout_service.db import Database; Database(get_settings().database).ping()" 2>/dev/null; do
  tries=$((tries + 1))
  if [ "$tries" -ge 30 ]; then echo "database not reachable after 60 s" >&2; exit 1; fi
  sleep 2
done
optout-service migrate
exec uvicorn --factory optout_service.main:create_app --host 0.0.0.0 --port "${PORT:-8000}" --proxy-headers
