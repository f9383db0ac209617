#!/bin/bash
# `mia optimize` as a Slurm job array: one task per shard (docs/ml.md, "Optimizer on a cluster").
#
#   mia optimize --plan /shared/opt/plan.json [--sessions 250 --days 1 ...]   # once, anywhere
#   (recorded sessions: --data /shared/runs/* — the plan keeps the paths, every node must see them)
#   sbatch --array=0-$((SHARDS-1)) --export=ALL,SHARDS=$SHARDS,OPT_DIR=/shared/opt config/slurm-optimize.sh
#   # when the array is done (or: sbatch --dependency=afterok:<array job id> with MERGE=1):
#   mia optimize --plan /shared/opt/plan.json --merge /shared/opt/shards/* --out /shared/opt/report
#
# Each task is an ordinary process writing OPT_DIR/shards/<task>/shard-<task>.csv; a task that
# fails can be re-run alone (`sbatch --array=<task>`), and the merge refuses to report while a
# job of the plan has no result. The merged report is byte-identical to a single-process run.
#SBATCH --job-name=mia-optimize
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --output=mia-optimize-%A_%a.log
set -euo pipefail

: "${SHARDS:?set SHARDS to the array size}"
: "${OPT_DIR:?set OPT_DIR to a directory every node sees (holds plan.json)}"
MIA="${MIA:-mia}"
TASK="${SLURM_ARRAY_TASK_ID:?run as a job array (sbatch --array=0-N)}"

if [[ "${MERGE:-0}" == "1" ]]; then
    exec "$MIA" optimize --plan "$OPT_DIR/plan.json" --merge "$OPT_DIR"/shards/* --out "$OPT_DIR/report"
fi

# rayon uses the task's cores.
export RAYON_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"
exec "$MIA" optimize --plan "$OPT_DIR/plan.json" --shard "$TASK/$SHARDS" --out "$OPT_DIR/shards/$TASK"
