#!/bin/bash
#SBATCH --job-name=f3-finalize
#SBATCH --dependency=afterok:12345
#SBATCH --output=logs/%j.finalize.out
#SBATCH --chdir=/data/jobs
#SBATCH --ntasks=1
#SBATCH -A seis
#SBATCH -p normal
exec /opt/attr/bin/attr status /data/jobs/f3.yaml --verify
