#!/bin/bash
#SBATCH --job-name=f3
#SBATCH --array=0-3%2
#SBATCH --output=logs/%A_%a.out
#SBATCH --chdir=/data/jobs
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=02:30:00
#SBATCH -A seis
#SBATCH -p normal
#SBATCH --requeue
# task SLURM_ARRAY_TASK_ID (0..3) computes that shard; a requeued task resumes
exec /opt/attr/bin/attr run /data/jobs/f3.yaml --shards 4
