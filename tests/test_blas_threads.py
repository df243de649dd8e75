"""Importing stfmr pins BLAS to one thread unless the user chose otherwise (small fits, 8x less CPU)."""

import os
import subprocess
import sys


def _threads(env: dict[str, str]) -> str:
    code = "import stfmr, os; print(os.environ['OPENBLAS_NUM_THREADS'])"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_one_blas_thread_by_default_and_the_users_choice_kept():
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")}
    assert _threads(env) == "1"
    assert _threads(env | {"OPENBLAS_NUM_THREADS": "4"}) == "4"
