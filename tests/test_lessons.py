"""Every lesson runs to the end: each script asserts what it teaches, so a lesson that no longer
matches the library fails here instead of confusing a reader."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LESSONS_DIR = REPO / "lessons"
LESSONS = sorted(LESSONS_DIR.glob("[0-9][0-9]_*.py"))


def test_lessons_exist_and_are_listed():
    """The lessons are numbered 01, 02, ... without gaps, and lessons/README.md links each one."""
    assert LESSONS, f"no lessons found in {LESSONS_DIR}"
    numbers = [int(path.name[:2]) for path in LESSONS]
    assert numbers == list(range(1, len(LESSONS) + 1)), f"lesson numbers {numbers} have a gap"
    listed = set(re.findall(r"\((\d\d_\w+\.py)\)", (LESSONS_DIR / "README.md").read_text()))
    files = {path.name for path in LESSONS}
    assert files == listed, (f"lessons/README.md lists {sorted(listed)}, the folder holds "
                             f"{sorted(files)}")


@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_lesson_runs(lesson, tmp_path):
    # A scratch working directory, so a lesson that saves files leaves nothing in the repository;
    # the checkout goes first on the path, so the lesson runs against this code even uninstalled.
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=python_path, MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(lesson)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, (f"{lesson.name} exited with {result.returncode}\n"
                                    f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}")


def test_readme_python_examples_run():
    """The ```python blocks of the top-level README run as written (they assert what they show)."""
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert blocks, "README.md has no python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme_example"})
