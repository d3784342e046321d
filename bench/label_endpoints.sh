#!/usr/bin/env bash
# Label names, label values and series endpoints of Ember, Prometheus 2.42 and VictoriaMetrics
# 1.79 at 100k series (issue 11: Ember's must take no longer than Prometheus's): side_by_side.sh
# with 764 targets x 131 = 100,084 series, 2 minutes of scrapes (8 rounds, 0.8 M samples) and no
# query list, only its label endpoints. Its other knobs apply (SYSTEMS, REPS, ...).
#
#   bench/label_endpoints.sh BUILD_DIR
set -euo pipefail
export TARGETS=${TARGETS:-764} MINUTES=${MINUTES:-2} QUERY_FILE=${QUERY_FILE-}
exec "$(dirname "${BASH_SOURCE[0]}")/side_by_side.sh" "$@"
