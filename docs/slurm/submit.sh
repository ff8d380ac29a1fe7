#!/bin/bash
# Submits a sweep as a job array of SHARDS tasks plus a merge job that runs
# when all of them succeeded. Run from the directory where scorecrl is
# installed (npm install scorecrl), e.g.:
#   SHARDS=8 CONFIG=docs/sweeps/neurips2024.json OUT=results/neurips2024 bash docs/slurm/submit.sh
set -euo pipefail
here=$(dirname "$0")
SHARDS=${SHARDS:-8}
export CONFIG=${CONFIG:-docs/sweeps/neurips2024.json}
export OUT=${OUT:-results/neurips2024}
mkdir -p logs "$OUT"
npx --no-install scorecrl sweep --config "$CONFIG" --dry-run
array=$(sbatch --parsable --export=ALL --array="1-${SHARDS}" "$here/sweep-array.sbatch")
merge=$(sbatch --parsable --export=ALL --dependency="afterok:${array}" "$here/merge.sbatch")
echo "submitted array job ${array} (${SHARDS} shards) and merge job ${merge}; results in ${OUT}"
