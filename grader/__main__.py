import os

# the judge's matrices are tiny: BLAS threads would only spin against the grading
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from grader.cli import main  # noqa: E402  (after the environment NumPy reads at import)
from grader.exiting import exit_now  # noqa: E402

exit_now(main())
