#!/bin/sh
# A small start script the benchmark ships (never run).
set -eu
cd "$(dirname "$0")"
exec ./bin/app --config conf/app.conf "$@"
