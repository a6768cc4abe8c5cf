"""Shared helpers: grading runs through the real command line, in a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("01_derivatives", "02_chain_rule", "03_backprop", "04_optimization")


def run_grader(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m grader ...`` exactly as a user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def grade_json(assignment: str, paths, *args: str) -> list[dict]:
    """Grade submissions; return their JSON reports, in the order given."""
    done = run_grader("grade", assignment, *map(str, paths), "--json", "-", *args)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def by_name(report: dict) -> dict[str, dict]:
    return {exercise["name"]: exercise for exercise in report["exercises"]}


@pytest.fixture
def write(tmp_path):
    """Write a submission file; return its path."""
    def write_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return write_file
