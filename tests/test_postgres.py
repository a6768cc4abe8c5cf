"""The nbgrader round trip with a PostgreSQL gradebook (``CourseDirectory.db_url``).

A throw-away PostgreSQL cluster (``initdb`` in a temporary folder, as the
``postgres`` user when the tests run as root, ``pg_ctl start`` on a free
loopback port) holds the gradebook; ``grader.demo.run_course`` releases one
assignment, collects part of the sample class (a correct, a buggy, a tampering
and a corrupt submission), autogrades, makes feedback and exports with every
nbgrader command pointed at that server. The scores read back from PostgreSQL
must equal the grader's own reports, as ``tests/test_nbgrader.py`` checks them
on SQLite.

The server comes from ``scripts/install-postgres.sh`` (``make setup``).
Without it the test fails, unless ``GRADER_POSTGRES_TESTS=0``: then it skips.
"""
from __future__ import annotations

import csv
import getpass
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from grader.course.autograde import nbgrader_env
from grader.course.build import nbgrader_bin
from grader.demo import CLASS, run_course
from tests.nbgrader_course import assert_gradebook_equals_reports, class_reports

ASSIGNMENT = "02_chain_rule"
STUDENTS = tuple(s for s in CLASS if s.name in ("ada", "bo", "eli", "fay"))  # fay's is corrupt
ENABLED = os.environ.get("GRADER_POSTGRES_TESTS", "1") != "0"


def unavailable(why: str):
    if ENABLED:
        pytest.fail(f"{why} (scripts/install-postgres.sh installs it; "
                    "GRADER_POSTGRES_TESTS=0 skips this test)", pytrace=False)
    pytest.skip(f"{why}; GRADER_POSTGRES_TESTS=0")


def server_bindir() -> Path | None:
    """Where initdb and pg_ctl are: $GRADER_PG_BINDIR, Debian's newest, or $PATH."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                      key=lambda p: [int(x) for x in Path(p).parent.name.split(".")
                                     if x.isdigit()])
    candidates = [os.environ.get("GRADER_PG_BINDIR", "")] + versions[::-1]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    for folder in filter(None, candidates):
        if all(os.access(Path(folder) / tool, os.X_OK) for tool in ("initdb", "pg_ctl")):
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A PostgreSQL cluster of its own in a temporary folder, trust auth on loopback."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="grader-pg-"))
        self.data, self.log = self.folder / "data", self.folder / "server.log"
        self.port = free_port()
        # postgres refuses to run as root: then the cluster belongs to the postgres user
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.superuser = "postgres" if self.as_user else getpass.getuser()

    def _run(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run([*self.as_user, *command], capture_output=True, text=True,
                              timeout=timeout, cwd=self.folder)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n"
                               f"{done.stdout}{done.stderr}\n{log}")
        return done

    def start(self) -> None:
        if self.as_user:
            shutil.chown(self.folder, "postgres")  # LookupError without that user
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.superuser,
                  "--auth=trust", "--encoding=UTF8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", "60", "start")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.superuser,
                                      dbname="postgres")
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.url(name)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data),
                            "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres():
    """A running throw-away PostgreSQL server; stopped and deleted afterwards."""
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        unavailable("the PostgreSQL driver psycopg2 is not installed (requirements.txt)")
    bindir = server_bindir()
    if bindir is None:
        unavailable("the PostgreSQL server (initdb, pg_ctl) is not installed")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        unavailable("runuser is missing: as root the server must run as the postgres user")
    cluster = Cluster(bindir)
    try:
        cluster.start()
    except (RuntimeError, KeyError, LookupError, OSError) as error:  # KeyError: no such user
        cluster.stop()
        unavailable(f"could not start a PostgreSQL server: {error}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def course(postgres, tmp_path_factory):
    db_url = postgres.create_database("gradebook")
    start = time.perf_counter()
    run = run_course(tmp_path_factory.mktemp("postgres") / "course", students=STUDENTS,
                     log=lambda *_: None, db_url=db_url, assignments=(ASSIGNMENT,))
    run.timings["round trip"] = round(time.perf_counter() - start, 1)
    return run


@pytest.fixture(scope="module")
def reports(course):
    return class_reports(course)


def test_the_gradebook_is_in_postgres(course, postgres):
    assert course.db_url.startswith("postgresql+psycopg2://")
    assert not (course.course / "gradebook.db").exists(), "nbgrader wrote a SQLite gradebook"
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=postgres.port,
                                  user=postgres.superuser, dbname="gradebook")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM grade g JOIN submitted_notebook n "
                           "ON g.notebook_id = n.id WHERE g.auto_score IS NOT NULL")
            (scored,) = cursor.fetchone()
            cursor.execute("SELECT id FROM student ORDER BY id")
            students = [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()
    assert students == sorted(s.name for s in STUDENTS)
    assert scored >= len(course.totals) * 3  # every test cell of every graded submission


def test_nbgrader_config_reads_the_url_from_the_environment(course):
    """Plain nbgrader in the course directory finds the PostgreSQL gradebook by $GRADER_DB_URL."""
    env = {**nbgrader_env(), "GRADER_DB_URL": course.db_url}
    done = subprocess.run([nbgrader_bin(), "db", "student", "list"], cwd=course.course, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"There are {len(STUDENTS)} students in the database" in done.stdout
    assert not (course.course / "gradebook.db").exists()


def test_postgres_scores_equal_the_json_report(course, reports):
    assert set(reports) == {(s.name, ASSIGNMENT) for s in STUDENTS if s.name != "fay"}
    assert_gradebook_equals_reports(course, reports)
    assert reports[("ada", ASSIGNMENT)]["score"] == reports[("ada", ASSIGNMENT)]["max_score"]
    assert reports[("eli", ASSIGNMENT)]["score"] < reports[("eli", ASSIGNMENT)]["max_score"]


def test_corrupt_notebook_and_export(course):
    assert set(course.problems) == {("fay", ASSIGNMENT)}
    assert "not a readable notebook" in course.problems[("fay", ASSIGNMENT)]
    with open(course.course / "grades.csv", newline="") as handle:
        rows = {(r["student_id"], r["assignment"]): float(r["raw_score"])
                for r in csv.DictReader(handle)}
    for key, (score, _) in course.totals.items():
        assert rows[key] == pytest.approx(score)
    assert rows[("fay", ASSIGNMENT)] == 0.0
