"""nbgrader configuration of the course (nbgrader 0.9.6).

Scores come from the course's trusted grader, not from the student's kernel:
``nbgrader autograde`` runs its usual steps, but the Execute step is replaced
by ``grader.course.nbgrader_plugins.TrustedGrade``, which grades the
notebook's answer cells with ``python -m grader grade`` (sandboxed, public and
hidden cases) and writes each exercise's score as the value of its test cell.
Student code is never run in nbgrader's own process or kernel.

The grading seed is read from the file named by ``TrustedGrade.seed_file``
in the course directory (made, with a random seed, on first use), so that
every report can be recomputed with ``python -m grader grade ... --seed N``.

The gradebook is nbgrader's default SQLite file, ``gradebook.db`` in the course
directory, unless ``$GRADER_DB_URL`` names another SQLAlchemy URL, e.g.
``postgresql+psycopg2://grader@dbhost/backprop`` (README, "The gradebook").
"""
import os

c = get_config()  # noqa: F821  (provided by nbgrader)

# nbgrader 0.9.6 calls it CourseDirectory.db_url (NbGrader.db_url is the outdated
# name); unset, nbgrader's default is sqlite:///<course directory>/gradebook.db.
if os.environ.get("GRADER_DB_URL", "").strip():
    c.CourseDirectory.db_url = os.environ["GRADER_DB_URL"].strip()

c.CourseDirectory.course_id = "backprop"
c.CourseDirectory.source_directory = "assignments"
c.CourseDirectory.release_directory = "release"
# Authoring sources and build leftovers never reach students.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "src", "*.pct.py"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Only used where nbgrader itself executes a notebook (nbgrader validate).
c.Execute.timeout = 60
# A deleted test cell is put back (and graded), never silently left ungraded.
c.OverwriteCells.add_missing_cells = True
# Warnings on stderr must not zero a test cell.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"Warning|warning"

c.Autograde.autograde_preprocessors = [
    "grader.course.nbgrader_plugins.TrustedGrade",  # instead of nbgrader's Execute
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.TrustedGrade.seed_file = "grading_seed"
c.TrustedGrade.timeout = 1200

# Hidden tests (### BEGIN HIDDEN TESTS) never reach the feedback pages
# (jupyter/nbgrader#917); the test cells' outputs hold no hidden-case inputs.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "grader.course.nbgrader_plugins.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
