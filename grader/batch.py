"""Grade a batch of submissions: one pytest run, each report handed on as it completes.

Results arrive item by item, one item per (submission, exercise), from this
process's pytest run or from the ``--jobs`` grading processes. A submission's report is complete when its last exercise
arrives; it is handed to the caller at once (who writes it to a journal,
moves the progress bar, prints a row) and dropped, so the grading process's
memory stays flat as the class grows.

A report says which content, grader version, seed and options produced it
(``Fingerprint``), so a re-run can skip every submission already graded the
same way: ``Journal`` keeps the reports of a run on disk, one flushed line at
a time, and a run killed at any point leaves every finished report there.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import selectors
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator

from grader import i18n
from grader.checks.core import checks_for
from grader.report.model import SubmissionReport, build, exercise_from_wire, report_from_wire
from grader.submission import load

PACKAGE = Path(__file__).resolve().parent


@cache
def grader_version() -> str:
    """The package version and a digest of the code and catalogues that make a grade."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".mo", ".ini") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes())
    try:
        version = metadata.version("backprop-grader")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"{version}+{digest.hexdigest()[:12]}"


def content_hash(path: str, assignment: str) -> str:
    """SHA-256 of the code a submission is graded on (a notebook's: its graded cells).

    So a notebook re-saved with other outputs, or passed through nbgrader's
    own steps, is the same content; an unreadable one hashes its reason.
    """
    loaded = load(path, assignment)
    text = loaded.source if loaded.source is not None else f"unreadable: {loaded.error}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    """What makes two gradings of a submission interchangeable."""

    submission: str
    sha256: str
    grader_version: str
    assignment: str
    seed: int | None
    public_only: bool
    lang: str

    @classmethod
    def of_report(cls, data: dict) -> "Fingerprint | None":
        try:
            return cls(str(data["submission"]), str(data["sha256"]), str(data["grader_version"]),
                       str(data["assignment"]), data.get("seed"), bool(data["public_only"]),
                       str(data["lang"]))
        except (KeyError, TypeError):
            return None  # a report from before fingerprints, or not a report


@dataclass
class Settings:
    """One grading run's options."""

    assignment: str
    seed: int | None
    public_only: bool
    lang: str = i18n.DEFAULT
    jobs: int = 1

    def fingerprint(self, submission: str, sha256: str) -> Fingerprint:
        return Fingerprint(submission, sha256, grader_version(), self.assignment,
                           None if self.public_only else self.seed, self.public_only,
                           self.lang)


class _Collector:
    """A pytest plugin object: gathers items' results into whole reports."""

    def __init__(self, settings: Settings, submissions: list[str], hashes: list[str],
                 on_report: Callable[[int, SubmissionReport], None],
                 on_item: Callable[[], None]):
        self.settings, self.submissions, self.hashes = settings, submissions, hashes
        self.names = [check.name for check in checks_for(settings.assignment)]
        self.pending: dict[int, dict] = {}
        self.done: set[int] = set()
        self.failures: list[str] = []
        self.on_report, self.on_item = on_report, on_item

    def pytest_configure(self, config):
        config.grader_sink = self.add  # run_checks hands each result over directly

    def add(self, index: int, result) -> None:
        results = self.pending.setdefault(index, {})
        results[result.name] = result
        self.on_item()
        if len(results) == len(self.names):
            del self.pending[index]
            self.done.add(index)
            self.on_report(index, self._report(index, [results[n] for n in self.names]))

    def pytest_runtest_logreport(self, report):
        if report.when == "call":  # results from a process that had no sink (xdist)
            for key, value in report.user_properties:
                if key == "grader_result":
                    data = json.loads(value)
                    self.add(data["submission"], exercise_from_wire(data["result"]))
        graded = report.when == "call" and ("grader_done", True) in report.user_properties
        if report.failed and not graded:
            self.failures.append(f"{report.nodeid} ({report.when}): {report.longreprtext[-2000:]}")

    def pytest_collectreport(self, report):
        if report.failed:
            self.failures.append(f"collecting {report.nodeid}: {report.longreprtext[-2000:]}")

    def _report(self, index: int, exercises) -> SubmissionReport:
        from grader.sandbox.runner import isolation

        unreadable = {e.feedback for e in exercises if e.status == "error" and not e.cases}
        settings = self.settings
        return build(self.submissions[index], settings.assignment, exercises,
                     seed=None if settings.public_only else settings.seed,
                     public_only=settings.public_only, sandbox=isolation(),
                     error=unreadable.pop() if unreadable else None,
                     sha256=self.hashes[index], grader_version=grader_version(),
                     lang=settings.lang)


def grade_each(settings: Settings, submissions: list[str],
               on_report: Callable[[int, SubmissionReport], None],
               on_item: Callable[[], None] = lambda: None,
               hashes: list[str] | None = None) -> None:
    """Grade ``submissions``; call ``on_report(index, report)`` as each one completes.

    With ``settings.jobs`` > 1 the submissions are dealt round-robin to that
    many grading processes (``grader.shard``), each one pytest run with its
    own warm sandbox parent; their reports stream back here. Raises
    RuntimeError if the grader itself failed (reports already handed on stay
    handed on).
    """
    if settings.seed is None and not settings.public_only:
        settings.seed = secrets.randbelow(2**31)
    hashes = hashes or [content_hash(p, settings.assignment) for p in submissions]
    jobs = min(settings.jobs, len(submissions))
    if jobs > 1:
        _grade_in_shards(settings, submissions, hashes, on_report, on_item, jobs)
    else:
        _grade_here(settings, submissions, hashes, on_report, on_item)


def _grade_here(settings: Settings, submissions: list[str], hashes: list[str],
                on_report: Callable[[int, SubmissionReport], None],
                on_item: Callable[[], None]) -> None:
    """One pytest run in this process."""
    args = [str(PACKAGE / "run_checks.py"), "-c", str(PACKAGE / "grading.ini"),
            "--rootdir", str(PACKAGE), "--noconftest", "-p", "grader.pytest_plugin",
            "-p", "no:terminal", "--item-per-submission", "--assignment", settings.assignment,
            "--grader-lang", i18n.normalise(settings.lang) or i18n.DEFAULT]
    for path in submissions:
        args += ["--submission", path]
    args += ["--public-only"] if settings.public_only else ["--grading-seed", str(settings.seed)]
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # no plugin but the grader's
    import pytest

    collector = _Collector(settings, submissions, hashes, on_report, on_item)
    code = pytest.main(args, plugins=[collector])
    missing = len(submissions) - len(collector.done)
    if code not in (0, 1) or missing or collector.failures:
        detail = "; ".join(collector.failures[:3]) or f"pytest exited with {code}"
        raise RuntimeError(f"the grader failed: {missing} reports missing: {detail}")


def _grade_in_shards(settings: Settings, submissions: list[str], hashes: list[str],
                     on_report: Callable[[int, SubmissionReport], None],
                     on_item: Callable[[], None], jobs: int) -> None:
    """Deal the submissions to ``jobs`` grading processes; relay what they send.

    One process per core, each grading its share in-process, costs far less
    than pytest-xdist's per-item messages (measured: about half the CPU per
    submission on this course).
    """
    shards = []
    cores = sorted(os.sched_getaffinity(0))
    with selectors.DefaultSelector() as selector:
        for number in range(jobs):
            share = list(range(number, len(submissions), jobs))
            read_end, write_end = os.pipe()
            errors = tempfile.TemporaryFile()
            process = subprocess.Popen(
                [sys.executable, "-m", "grader.shard", str(write_end)], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=errors, pass_fds=(write_end,),
                # tiny matrices, one process a core: BLAS threads would only spin against the rest
                env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
            os.close(write_end)
            request = {"settings": dataclasses.asdict(dataclasses.replace(settings, jobs=1)),
                       "submissions": [submissions[i] for i in share],
                       "hashes": [hashes[i] for i in share],
                       # a core of its own: the judge and its worker hand each call over
                       # on one core (measured: 40 us a round trip, against 110 across two)
                       "core": cores[number] if jobs <= len(cores) else None}
            process.stdin.write(json.dumps(request).encode())
            process.stdin.close()
            selector.register(read_end, selectors.EVENT_READ, (share, bytearray()))
            shards.append((process, errors))
        # one thread reads every shard's lines as they come: relay threads cost more in
        # handing the GIL to one another than in the reading itself
        while selector.get_map():
            for key, _ in selector.select():
                share, pending = key.data
                chunk = os.read(key.fd, 1 << 20)
                if not chunk:
                    selector.unregister(key.fd)
                    os.close(key.fd)
                    continue
                pending += chunk
                *lines, rest = pending.split(b"\n")
                pending[:] = rest
                for line in lines:
                    data = json.loads(line)
                    report = report_from_wire(data["report"])
                    for _ in report.exercises:
                        on_item()
                    on_report(share[data["index"]], report)
    failures = []
    for process, errors in shards:
        if process.wait() != 0:
            errors.seek(0)
            failures.append(errors.read().decode(errors="replace").strip()[-2000:])
        errors.close()
    if failures:
        raise RuntimeError(f"the grader failed in {len(failures)} of {jobs} grading "
                           f"processes: {failures[0]}")


def grade(settings: Settings, submissions: list[str]) -> list[SubmissionReport]:
    """Grade and return the reports in the order given (for small batches)."""
    reports: dict[int, SubmissionReport] = {}
    grade_each(settings, submissions, reports.__setitem__)
    return [reports[i] for i in range(len(submissions))]


class Journal:
    """A run's reports on disk: ``PATH.partial`` while it runs, ``PATH`` when done.

    Each report is one JSON line, flushed as soon as it is complete, so a run
    killed at any moment (kill -9 included) loses only the submissions being
    graded. ``finish`` writes ``PATH`` whole, in the order given, then drops the
    partial file.
    """

    def __init__(self, path: Path):
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.handle = None

    def previous(self) -> dict[Fingerprint, str]:
        """Every report a finished or a killed earlier run left, by fingerprint."""
        found: dict[Fingerprint, str] = {}
        for source in (self.path, self.partial):
            for line in _lines(source):
                try:
                    fingerprint = Fingerprint.of_report(json.loads(line))
                except ValueError:
                    continue  # a line cut short by the kill
                if fingerprint is not None:
                    found[fingerprint] = line
        return found

    def open(self, kept: list[str]) -> None:
        """Start the partial file with the reports kept from earlier runs."""
        temporary = self.partial.with_name(f".{self.partial.name}.{os.getpid()}")
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in kept)
        os.replace(temporary, self.partial)
        self.handle = open(self.partial, "a", encoding="utf-8")

    def append(self, report: SubmissionReport) -> None:
        self.handle.write(json.dumps(report.to_json()) + "\n")
        self.handle.flush()

    def finish(self, order: list[str]) -> None:
        """Write PATH atomically, one report per submission in ``order``."""
        self.handle.close()
        offsets = _line_offsets(self.partial, lambda data: data["submission"])  # the last wins
        with open(self.partial, "rb") as handle:
            temporary = self.path.with_name(f".{self.path.name}.tmp{os.getpid()}")
            with open(temporary, "wb") as out:
                for submission in order:
                    start, length = offsets[submission]
                    handle.seek(start)
                    out.write(handle.read(length))
        os.replace(temporary, self.path)
        self.partial.unlink()


class ReportIndex:
    """Reports in a JSON Lines file, found by what was graded rather than where it lay.

    nbgrader hands its preprocessors a copy of each notebook: the report of a
    batch run over the submitted files is found by the copy's graded code.
    """

    def __init__(self, path: Path):
        self.path = path
        self.offsets: dict[Fingerprint, tuple[int, int]] | None = None

    @staticmethod
    def _anywhere(fingerprint: Fingerprint | None) -> Fingerprint | None:
        return fingerprint and dataclasses.replace(fingerprint, submission="")

    def find(self, settings: Settings, sha256: str) -> dict | None:
        if self.offsets is None:
            try:
                self.offsets = _line_offsets(self.path, lambda data: self._anywhere(
                    Fingerprint.of_report(data)))
            except OSError:
                self.offsets = {}
        found = self.offsets.get(self._anywhere(settings.fingerprint("", sha256)))
        if found is None:
            return None
        with open(self.path, "rb") as handle:
            handle.seek(found[0])
            return json.loads(handle.readline())


def _line_offsets(path: Path, key: Callable[[dict], object]) -> dict:
    """``key(report)`` -> (offset, length) of its line, for every whole line of a JSON Lines
    file; a later line wins, and a line cut short (by a kill) or a key of None is skipped."""
    offsets, position = {}, 0
    with open(path, "rb") as handle:
        for line in handle:
            try:
                found = key(json.loads(line))
            except (ValueError, KeyError, TypeError):
                found = None
            if found is not None:
                offsets[found] = (position, len(line))
            position += len(line)
    return offsets


def _lines(path: Path) -> Iterator[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            yield from (line.rstrip("\n") for line in handle if line.strip())
    except (OSError, UnicodeDecodeError):
        return
