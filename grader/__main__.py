import os
import sys

# the judge's matrices are tiny: BLAS threads would only spin against the grading
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from grader.cli import main  # noqa: E402  (after the environment NumPy reads at import)

sys.exit(main())
