#!/usr/bin/env bash
# lsf-shim.sh CMD [ARGS...]: run CMD in a Slurm array task with the variables
# an LSF array element has (IBM Spectrum LSF 10.1), derived from Slurm's, so
# that attr's LSF code path runs under a real scheduler in the tests.
# LSF arrays count from 1: submit with --array=1-N.
export LSB_JOBID=${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}
export LSB_JOBINDEX=${SLURM_ARRAY_TASK_ID:-0}
export LSB_JOBINDEX_END=${SLURM_ARRAY_TASK_MAX:-0}
export LSB_JOBINDEX_STEP=${SLURM_ARRAY_TASK_STEP:-1}
export LSB_DJOB_NUMPROC=${SLURM_CPUS_ON_NODE:-1}
export LSB_HOSTS=${SLURMD_NODENAME:-$(hostname)}
export LSB_JOBNAME="${SLURM_JOB_NAME:-job}[${SLURM_ARRAY_TASK_MIN:-1}-${SLURM_ARRAY_TASK_MAX:-1}]"
exec "$@"
