"""How fast a whole class is graded, and against what courses do today.

    python bench/grade_class.py [--students 200] [--assignment 03_backprop|all]
                                [--jobs 2] [--probe 50] [--baseline 5] [--seed 3]

A class of N students per assignment is drawn from the reference solution,
the stub and the catalogue's known bugs (tests/catalogue/), written to a
temporary folder and graded through the real command line
(``python -m grader grade A ... --jobs 2 --json``), one run per assignment. It prints:

- submissions per second, and the wall time per submission;
- the grader's overhead per submission: wall time per submission minus the
  time the student code itself takes, which is measured by running each
  distinct submission's functions in this process on the same cases (the
  worker's own request handlers, called directly: no sandbox, no process,
  no pipe), with the judge's callbacks' time taken out: the median of three
  timings, taken in turn, as this machine's speed drifts;
- a baseline: a few of the same submissions graded the conventional way,
  with ``nbgrader autograde`` on notebooks whose test cells are plain
  ``assert np.allclose(...)`` against torch; and the ratio of the two.

A script that prints its figures, not a timed test.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.checks.core import ASSIGNMENTS, checks_for  # noqa: E402
from grader.course.stubs import solution_path, stub_source  # noqa: E402
from tests.catalogue import catalogue, patched_source  # noqa: E402

MIX = {"solution": 0.4, "stub": 0.1, "bug": 0.5}  # a bug: one of the catalogue's, at random
TIMINGS = 3  # in-process timings of each distinct submission's code


# -- the class ----------------------------------------------------------------------

def kinds_of(assignment: str) -> dict[str, str]:
    """Every distinct submission a student can hand in: name -> source."""
    kinds = {"solution": solution_path(assignment).read_text(encoding="utf-8"),
             "stub": stub_source(assignment)}
    bugs, _ = catalogue(assignment)
    kinds.update({f"bug_{bug.slug}": patched_source(assignment, bug.code) for bug in bugs})
    return kinds


def make_class(assignment: str, students: int, folder: Path, rng: random.Random
               ) -> list[tuple[Path, str]]:
    kinds = kinds_of(assignment)
    bugs = [k for k in kinds if k.startswith("bug_")]
    folder.mkdir(parents=True)
    written = []
    for number in range(students):
        pick = rng.choices(list(MIX), weights=list(MIX.values()))[0]
        kind = rng.choice(bugs) if pick == "bug" and bugs else ("stub" if pick == "stub"
                                                                else "solution")
        path = folder / f"student{number:04d}.py"
        # every file its own: no two students hand in the same bytes
        path.write_text(kinds[kind] + f"\n# student {number:04d}\n", encoding="utf-8")
        written.append((path, kind))
    return written


# -- grading through the command line -------------------------------------------------

@dataclass
class Graded:
    wall: float
    count: int
    mean_score: float
    sandbox: str
    peak_rss_mib: float  # the largest resident set of any one grading process


def grade(assignment: str, paths: list[Path], jobs: int, seed: int, out: Path) -> Graded:
    """One run of the real command line over the whole class."""
    jsonl = out / f"{assignment}_{len(paths)}.jsonl"
    log = out / f"{assignment}_{len(paths)}.log"
    began = time.perf_counter()
    with open(log, "w") as stderr:
        run = subprocess.Popen([sys.executable, "-m", "grader", "grade", assignment,
                                *map(str, paths), "--jobs", str(jobs), "--seed", str(seed),
                                "--json", str(jsonl)], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=stderr)
        # wait4: the peak RSS over the process and every descendant it reaped
        _, status, usage = os.wait4(run.pid, 0)
    wall = time.perf_counter() - began
    run.returncode = os.waitstatus_to_exitcode(status)
    if run.returncode != 0:
        sys.exit(f"grading failed ({run.returncode}): {log.read_text()[-2000:]}")
    total, count, sandbox = 0.0, 0, ""
    with open(jsonl) as handle:
        for line in handle:
            report = json.loads(line)
            total, count, sandbox = total + report["score"], count + 1, report["sandbox"]
    return Graded(wall, count, total / count, sandbox, usage.ru_maxrss / 1024)


# -- the student code's own time, in this process --------------------------------------

class InProcessSandbox:
    """What a check needs of a Sandbox, answered by the worker's handlers directly.

    ``student_seconds`` is the time spent in the worker's request handlers
    (student code plus the worker's small encode/decode), minus the judge's
    callbacks and its stand-ins that run in the worker: an upper bound on the
    student code's own time.
    """

    def __init__(self, source: str, folder: Path):
        from grader.checks.exercises import in_worker
        from grader.sandbox import protocol, worker
        import numpy

        worker.np, worker.protocol, worker.in_worker = numpy, protocol, in_worker  # prepare()
        worker.callback_proxy = self._local_callback
        self.worker = worker.Worker()
        self.describe = worker.describe_error
        self.worker.op_load({"source": source})
        self.cell_errors, self.callbacks = [], {}
        self.student_seconds = self.callback_seconds = 0.0

    def _local_callback(self, name, update_in_place=False):
        def proxy(*args, **kwargs):
            began = time.perf_counter()
            result = self.callbacks[name](*args, **kwargs)
            if update_in_place:
                for key, new in result.items():
                    args[0][key][...] = new
                result = None
            self.callback_seconds += time.perf_counter() - began
            return result
        return proxy

    def request(self, message: dict, callbacks=None) -> dict:
        from grader.sandbox.runner import _student_error

        self.callbacks = callbacks or {}
        before = self.callback_seconds
        began = time.perf_counter()
        self.worker.locals = {}
        try:
            reply = getattr(self.worker, f"op_{message['op']}")(message)
        except BaseException as error:  # student code: anything
            reply = {"error": self.describe(error, self.worker.submission_path)}
        # the judge's stand-ins (in_worker) run in the worker, but are the grader's time
        stand_ins = sum(local.seconds for local in self.worker.locals.values())
        self.student_seconds += time.perf_counter() - began - (self.callback_seconds - before) \
            - stand_ins
        if "error" in reply:
            raise _student_error(reply["error"])
        return reply

    def call(self, *args, **kwargs):
        from grader.sandbox.runner import Sandbox

        return Sandbox.call(self, *args, **kwargs)

    def _reply(self, raw: dict):
        from grader.sandbox.runner import Sandbox

        return Sandbox._reply(self, raw)

    def kill(self) -> None:
        pass


def student_seconds(assignment: str, source: str, seed: int, folder: Path) -> float:
    """Seconds the submission's own code takes on every case of every exercise."""
    checks = checks_for(assignment)
    for check in checks:  # draw the cases and their references outside the timing
        check.prepared_cases(seed, False)
    try:
        sandbox = InProcessSandbox(source, folder)
    except BaseException:
        return 0.0  # does not even load: no student time
    # this process holds torch and every case: a collection of it inside one request
    # (100 ms) would count as student time; a worker's gc has almost nothing to scan
    gc.collect()
    gc.disable()
    try:
        with warnings.catch_warnings():  # a buggy submission's overflow is no news here
            warnings.simplefilter("ignore")
            for check in checks:
                check.grade(sandbox, seed, False)
    finally:
        gc.enable()
    return sandbox.student_seconds


# -- the baseline: nbgrader autograde with plain asserts against torch ---------------------

BASELINE_SETUP = '''\
import numpy as np
import torch

rng = np.random.default_rng(0)
def t(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)
'''

BASELINE_TESTS = {  # 03_backprop: test cells as courses write them, one per function
    "linear_forward": '''\
x, w, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)
out, _ = linear_forward(x, w, b)
assert np.allclose(out, (t(x) @ t(w) + t(b)).detach().numpy())''',
    "linear_backward": '''\
x, w, b, dout = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5), rng.normal(size=(4, 5))
tx, tw, tb = t(x), t(w), t(b)
(tx @ tw + tb).backward(torch.tensor(dout))
_, cache = linear_forward(x, w, b)
dx, dw, db = linear_backward(dout, cache)
assert np.allclose(dx, tx.grad.numpy()) and np.allclose(dw, tw.grad.numpy())
assert np.allclose(db, tb.grad.numpy())''',
    "relu_backward": '''\
x, dout = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
tx = t(x); torch.relu(tx).backward(torch.tensor(dout))
_, cache = relu_forward(x)
assert np.allclose(relu_backward(dout, cache), tx.grad.numpy())''',
    "sigmoid_backward": '''\
x, dout = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
tx = t(x); torch.sigmoid(tx).backward(torch.tensor(dout))
_, cache = sigmoid_forward(x)
assert np.allclose(sigmoid_backward(dout, cache), tx.grad.numpy())''',
    "tanh_backward": '''\
x, dout = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
tx = t(x); torch.tanh(tx).backward(torch.tensor(dout))
_, cache = tanh_forward(x)
assert np.allclose(tanh_backward(dout, cache), tx.grad.numpy())''',
    "softmax_cross_entropy": '''\
logits, y = rng.normal(size=(6, 4)), rng.integers(0, 4, 6)
tl = t(logits); loss = torch.nn.functional.cross_entropy(tl, torch.tensor(y)); loss.backward()
l, d = softmax_cross_entropy(logits, y)
assert np.isclose(l, loss.item()) and np.allclose(d, tl.grad.numpy())''',
    "mse_loss": '''\
p, q = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
tp = t(p); loss = torch.nn.functional.mse_loss(tp, torch.tensor(q)); loss.backward()
l, d = mse_loss(p, q)
assert np.isclose(l, loss.item()) and np.allclose(d, tp.grad.numpy())''',
    "batchnorm_backward": '''\
x, g, bt, dout = rng.normal(size=(8, 3)), rng.normal(size=3), rng.normal(size=3), rng.normal(size=(8, 3))
tx, tg, tb = t(x), t(g), t(bt)
torch.nn.functional.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-5).backward(torch.tensor(dout))
_, cache = batchnorm_forward(x, g, bt)
dx, dg, db = batchnorm_backward(dout, cache)
assert np.allclose(dx, tx.grad.numpy()) and np.allclose(dg, tg.grad.numpy())''',
}


def _cell(source: str, **nbgrader) -> dict:
    import nbformat

    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "grade": False, "solution": False,
                                     "locked": False, **nbgrader}
    return cell


def _notebook(answer: str):
    import nbformat

    cells = [_cell(BASELINE_SETUP, grade_id="setup", locked=True),
             _cell(answer, grade_id="answer", solution=True)]
    cells += [_cell(test, grade_id=f"test_{name}", grade=True, locked=True, points=1)
              for name, test in BASELINE_TESTS.items()]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    return notebook


def nbgrader_baseline(sources: list[str], folder: Path) -> tuple[float, float, list[float]]:
    """(wall seconds of autograde, of one empty CLI start, scores) for these submissions."""
    import nbformat

    name, nbgrader = "03_backprop", str(Path(sys.executable).with_name("nbgrader"))
    folder.mkdir(parents=True)
    (folder / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'bench'\n"
        "c.CourseDirectory.root = %r\n"
        "c.CourseDirectory.source_directory = 'source'\n"
        "c.CourseDirectory.db_url = 'sqlite:///%s/gradebook.db'\n"
        "c.Execute.timeout = 30\n"
        "c.IgnorePattern.enabled = True\n"
        "c.IgnorePattern.pattern = '.*Warning.*'\n" % (str(folder), folder))
    source = folder / "source" / name
    source.mkdir(parents=True)
    nbformat.write(_notebook(solution_path(name).read_text(encoding="utf-8")),
                   source / f"{name}.ipynb")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(folder / ".jupyter"),  # nbgrader runs alembic
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}

    def run(*args):
        done = subprocess.run([nbgrader, *args], cwd=folder, env=env, capture_output=True,
                              text=True)
        if done.returncode != 0:
            sys.exit(f"nbgrader {args[0]} failed: {done.stderr[-2000:]}")

    run("generate_assignment", name, "--force")
    for number, answer in enumerate(sources):
        target = folder / "submitted" / f"s{number}" / name
        target.mkdir(parents=True)
        nbformat.write(_notebook(answer), target / f"{name}.ipynb")
    began = time.perf_counter()
    run("autograde", name, "--force")
    wall = time.perf_counter() - began
    began = time.perf_counter()
    run("--version")
    startup = time.perf_counter() - began
    scores = _baseline_scores(folder, name, len(sources))
    return wall, startup, scores


def _baseline_scores(folder: Path, name: str, count: int) -> list[float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{folder}/gradebook.db", course_id="bench") as book:
        return [book.find_submission(name, f"s{i}").score for i in range(count)]


# -- the figures ---------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--assignment", default="all", choices=("all", *ASSIGNMENTS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--probe", type=int, default=50,
                        help="also grade the first N alone, to compare peak memory; 0: skip")
    parser.add_argument("--baseline", type=int, default=5, help="submissions; 0: skip it")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    assignments = ASSIGNMENTS if args.assignment == "all" else (args.assignment,)
    rng = random.Random(args.seed)
    totals = {"submissions": 0, "wall": 0.0, "student": 0.0}
    each_of: dict[str, float] = {}  # wall seconds per submission, by assignment
    with tempfile.TemporaryDirectory(prefix="grade-class-") as temporary:
        work = Path(temporary)
        for assignment in assignments:
            klass = make_class(assignment, args.students, work / assignment, rng)
            paths = [p for p, _ in klass]
            probe = (grade(assignment, paths[:args.probe], args.jobs, args.seed, work)
                     if 0 < args.probe < len(paths) else None)
            graded = grade(assignment, paths, args.jobs, args.seed, work)
            wall, n = graded.wall, graded.count
            kinds = kinds_of(assignment)
            counts = Counter(kind for _, kind in klass)
            # this machine's speed drifts by tens of percent within seconds: each kind is
            # timed in turn, TIMINGS times over, and its median taken
            timings: dict[str, list[float]] = {kind: [] for kind in counts}
            for _ in range(TIMINGS):
                for kind in counts:
                    timings[kind].append(student_seconds(assignment, kinds[kind], args.seed,
                                                         Path(tempfile.mkdtemp(dir=work))))
            own = {kind: statistics.median(seconds) for kind, seconds in timings.items()}
            student = sum(own[kind] * n for kind, n in counts.items())
            print(f"{assignment}: {n} submissions ({counts['solution']} solutions, "
                  f"{counts['stub']} stubs, {n - counts['solution'] - counts['stub']} bugs; "
                  f"mean score {graded.mean_score:.1f}, sandbox {graded.sandbox}) in {wall:.1f} s "
                  f"= {n / wall:.2f} submissions/s, {wall / n * 1000:.0f} ms each; "
                  f"student code {student / n * 1000:.1f} ms each, grader overhead "
                  f"{(wall - student) / n * 1000:.0f} ms per submission "
                  f"(wall x jobs: {(wall * args.jobs - student) / n * 1000:.0f} ms of CPU-slot)",
                  flush=True)
            memory = f"peak RSS of a grading process {graded.peak_rss_mib:.0f} MiB"
            if probe:
                memory += (f" for {n} submissions, {probe.peak_rss_mib:.0f} MiB for "
                           f"{probe.count}")
            print(f"{assignment}: {memory}", flush=True)
            each_of[assignment] = wall / n
            totals["submissions"] += n
            totals["wall"] += wall
            totals["student"] += student
        per_submission = totals["wall"] / totals["submissions"]
        print(f"grader: {totals['submissions']} submission-assignments in {totals['wall']:.1f} s"
              f" = {1 / per_submission:.2f} submissions/s ({per_submission:.3f} s each, "
              f"--jobs {args.jobs}); overhead beyond student code "
              f"{(totals['wall'] - totals['student']) / totals['submissions'] * 1000:.0f} ms "
              f"per submission-assignment", flush=True)
        if args.baseline:
            kinds = kinds_of("03_backprop")
            sample = [kinds["solution"], kinds["stub"]] + [
                kinds[k] for k in sorted(kinds) if k.startswith("bug_")][:args.baseline - 2]
            wall, startup, scores = nbgrader_baseline(sample[:args.baseline], work / "nbgrader")
            each = wall / len(scores)
            print(f"nbgrader baseline (03_backprop, {len(BASELINE_TESTS)} assert cells vs "
                  f"torch): {len(scores)} submissions in {wall:.1f} s = {each:.2f} s/submission "
                  f"(incl. {startup:.1f} s CLI start-up per run); scores {scores}", flush=True)
            if "03_backprop" in each_of:
                ours = each_of["03_backprop"]
                print(f"ratio: nbgrader {each:.2f} s vs grader {ours:.3f} s per 03_backprop "
                      f"submission = {each / ours:.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
