#!/bin/bash
#BSUB -J "f3-finalize"
#BSUB -w 'done(12345)'
#BSUB -o logs/%J.finalize.out
#BSUB -cwd /data/jobs
#BSUB -n 1
#BSUB -P seis
#BSUB -q normal
exec /opt/attr/bin/attr status /data/jobs/f3.yaml --verify
