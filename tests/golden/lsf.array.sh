#!/bin/bash
#BSUB -J "f3[1-4]%2"
#BSUB -o logs/%J.%I.out
#BSUB -cwd /data/jobs
#BSUB -n 8
#BSUB -R "span[hosts=1]"
#BSUB -M 16GB
#BSUB -R "rusage[mem=16GB]"
#BSUB -W 02:30
#BSUB -P seis
#BSUB -q normal
#BSUB -r
# element LSB_JOBINDEX (1..4) computes shard LSB_JOBINDEX-1; a requeued element resumes
exec /opt/attr/bin/attr run /data/jobs/f3.yaml --shards 4
