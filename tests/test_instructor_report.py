"""The instructor's report: a class graded through the real CLI, then its page,
CSV and Gradescope files checked against the JSON report they came from."""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course.stubs import solution_path, stub_source
from grader.report import gradescope, instructor
from tests.catalogue import patched_source
from tests.catalogue.a03 import BUGS
from tests.conftest import ROOT, run_grader

A = "03_backprop"
CLASS_BUGS = ("linear_backward_transposed_dw", "linear_backward_db_not_summed",
              "softmax_not_divided_by_n", "tanh_backward_sign_flipped")
CHROMIUM = "/usr/bin/chromium"


def report_command(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run([sys.executable, "-m", "grader.report.instructor", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(reports, output folder) for a class of six, graded at seed 3."""
    folder = tmp_path_factory.mktemp("class")
    sources = {"solution": solution_path(A).read_text(encoding="utf-8"), "stub": stub_source(A)}
    bugs = {bug.slug: bug for bug in BUGS}
    sources.update({slug: patched_source(A, bugs[slug].code) for slug in CLASS_BUGS})
    paths = []
    for name, source in sources.items():
        paths.append(folder / f"{name}.py")
        paths[-1].write_text(source, encoding="utf-8")
    jsonl = folder / "reports.jsonl"
    done = run_grader("grade", A, *map(str, paths), "--json", str(jsonl), "--seed", "3",
                      "--jobs", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    out = folder / "out"
    made = report_command(str(jsonl), "--out", str(out))
    assert made.returncode == 0, made.stderr[-3000:]
    reports = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(reports) == len(sources)
    return reports, out


def test_csv_has_a_row_per_submission_with_the_reports_scores(graded):
    reports, out = graded
    with open(out / f"{A}.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["submission"] for row in rows] == [r["submission"] for r in reports]
    for row, report in zip(rows, reports):
        assert float(row["total"]) == pytest.approx(report["score"])
        assert float(row["max_score"]) == report["max_score"]
        for exercise in report["exercises"]:
            assert float(row[exercise["name"]]) == pytest.approx(exercise["score"])
    assert list(rows[0])[1:-2] == [e["name"] for e in reports[0]["exercises"]]


def test_gradescope_results_match_the_report(graded):
    reports, out = graded
    for report in reports:
        name = Path(report["submission"]).stem
        results = json.loads((out / "gradescope" / A / name / "results.json").read_text())
        assert results["score"] == report["score"]
        assert results["max_score"] == report["max_score"]
        assert results["output"] and results["output_format"] == "md"
        tests = {test["name"]: test for test in results["tests"]}
        scored = [test for test in results["tests"] if "score" in test]
        assert sum(t["score"] for t in scored) == pytest.approx(report["score"], abs=0.05)
        for exercise in report["exercises"]:
            test = tests[exercise["name"]]
            assert test["score"] == exercise["score"]
            assert test["max_score"] == exercise["max_score"]
            assert test["status"] == ("passed" if exercise["status"] == "passed" else "failed")
            assert test["visibility"] == "after_published"  # its score includes hidden cases
            for case in exercise["cases"]:
                case_test = tests[f"{exercise['name']}: {case['name']}"]
                assert case_test["status"] == ("passed" if case["passed"] else "failed")
                public = case["name"].startswith("public")
                assert case_test["visibility"] == ("visible" if public else "after_published")
                assert case_test["output_format"] == "md"
        assert {t["visibility"] for t in results["tests"]} == {"visible", "after_published"}


def test_transposed_feedback_reaches_gradescope_output(graded):
    reports, out = graded
    results = json.loads((out / "gradescope" / A / "linear_backward_transposed_dw"
                          / "results.json").read_text())
    test = next(t for t in results["tests"] if t["name"] == "linear_backward")
    assert test["status"] == "failed" and "`transposed`" in test["output"]


def test_page_names_the_common_diagnoses_with_their_share(graded):
    reports, out = graded
    page = (out / f"{A}.html").read_text()
    share = f"{1 / len(reports):.0%}"  # one student of six made each mistake
    assert f"{share} transposed in linear_backward" in page
    assert f"{share} not_reduced in linear_backward" in page
    assert f"{share} misconception:not_divided_by_n in softmax_cross_entropy" in page
    assert f"{share} sign_flipped in tanh_backward" in page
    for plot in ("scores", "pass_rates"):
        png = out / f"{A}_{plot}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
        assert f'src="{png.name}"' in page


def test_page_renders_in_headless_chromium(graded, tmp_path):
    if os.environ.get("GRADER_BROWSER_TESTS") == "0":
        pytest.skip("GRADER_BROWSER_TESTS=0: browser tests are off")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is not installed (scripts/install-sandbox.sh installs it as "
                    "root unless GRADER_BROWSER_TESTS=0)")
    _, out = graded
    # a copy of the page that records, once loaded, how wide each image decoded
    probe = out / "probe.html"
    probe.write_text((out / f"{A}.html").read_text().replace(
        "</body>", '<script>addEventListener("load", () => { for (const i of document.images)'
        ' i.setAttribute("data-natural-width", i.naturalWidth) })</script></body>'))
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2000"]
    dom = subprocess.run([*base, "--dump-dom", probe.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    probe.unlink()
    for plot in ("plot-scores", "plot-pass-rates"):
        assert f'id="{plot}"' in dom
    widths = [int(w) for w in re.findall(r'data-natural-width="(\d+)"', dom)]
    assert len(widths) == 2 and min(widths) > 100, dom[-2000:]
    shot = tmp_path / "page.png"
    subprocess.run([*base, f"--screenshot={shot}", (out / f"{A}.html").as_uri()],
                   capture_output=True, timeout=120)
    assert shot.stat().st_size > 50_000


# -- without grading: synthetic reports, for what a small real class does not show ----

def _report(submission, assignment, exercises, **extra):
    return {"submission": submission, "assignment": assignment,
            "score": sum(e["score"] for e in exercises),
            "max_score": sum(e["max_score"] for e in exercises), "exercises": exercises,
            "seed": 1, "public_only": False, "sandbox": "bubblewrap", **extra}


def _exercise(name, score, status, diagnosis=(), feedback=""):
    return {"name": name, "score": score, "max_score": 2.0, "status": status,
            "diagnosis": list(diagnosis), "feedback": feedback,
            "cases": [{"name": "public 1: x", "passed": status == "passed", "feedback": "",
                       "public": True},
                      {"name": "hidden 1: x", "passed": status == "passed", "feedback": "",
                       "public": False}]}


def test_problems_several_assignments_and_name_collisions(tmp_path):
    reports = [
        _report("a/alice.py", "01_derivatives", [_exercise("f", 2, "passed")]),
        _report("b/alice.py", "01_derivatives", [_exercise("f", 0, "timeout", ["timeout"],
                                                           "took longer than 2 s")]),
        _report("carol/", "01_derivatives", [_exercise("f", 0, "forbidden", ["forbidden"],
                                                       "imported torch")]),
        _report("dan <x>.ipynb", "01_derivatives", [_exercise("f", 0, "error", ["exception"])],
                error="SyntaxError <line 3>"),
        _report("eve.py", "02_chain_rule", [_exercise("g", 1, "partial", ["scaled"], "2x")]),
    ]
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in reports) + "\n")
    assert instructor.main([str(jsonl), "--out", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    assert {p.name for p in out.glob("*.html")} == {"01_derivatives.html", "02_chain_rule.html"}
    page = (out / "01_derivatives.html").read_text()
    assert "took longer than 2 s" in page and "imported torch" in page
    assert "SyntaxError &lt;line 3&gt;" in page and "<line 3>" not in page  # escaped
    assert "25% timeout in f" in page
    names = sorted(p.parent.name for p in (out / "gradescope" / "01_derivatives").glob("*/*"))
    assert names == ["alice", "alice_2", "carol", "dan_x"]
    assert "100% scaled in g" in (out / "02_chain_rule.html").read_text()
    assert gradescope.sanitised_name("../../etc/passwd") == "passwd"


def test_bad_input_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    done = report_command(str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "bad.jsonl:1" in done.stderr
