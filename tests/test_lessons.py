"""The lessons: each script runs to the end (it asserts what it teaches), its exercises' check
accepts the reference solution and rejects a plausible wrong one, the source it names exists, it
opens as a notebook, and lessons/README.md indexes every lesson in order."""
import ast
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LESSONS_DIR = REPO / "lessons"
LESSONS = sorted(LESSONS_DIR.glob("[0-9][0-9]_*.py"))
LESSON_IDS = [path.stem for path in LESSONS]
TIME_LIMIT_S = 60
NOTEBOOK_LESSONS = [path for path in LESSONS if int(path.name[:2]) <= 6]
SOURCE_REFERENCE = re.compile(r"tinygrad_edu/[\w/]+\.py::[\w.]+")

sys.path.insert(0, str(LESSONS_DIR))
import _exercises  # noqa: E402  (lessons/ is not a package: the helper is found through the path)


def _lesson_env() -> dict:
    """The checkout goes first on the path, so a lesson runs against this code even uninstalled."""
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=python_path, MPLBACKEND="Agg", OMP_NUM_THREADS="1",
                OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


def _run(arguments, cwd) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([sys.executable, *map(str, arguments)], cwd=cwd, env=_lesson_env(),
                              capture_output=True, text=True, timeout=TIME_LIMIT_S,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{Path(arguments[0]).name} {' '.join(arguments[1:])} ran over "
                    f"{TIME_LIMIT_S} s, the limit for a lesson")


def _report(result) -> str:
    return f"exit {result.returncode}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"


def exercise_names(namespace) -> list:
    return sorted(name[len("exercise_"):] for name in namespace if name.startswith("exercise_"))


# --- the index ------------------------------------------------------------------------------------

def test_lessons_are_numbered_without_gaps():
    """01, 02, ... with one file per number; lessons beyond 18 come from other branches and
    continue the same sequence."""
    assert LESSONS, f"no lessons found in {LESSONS_DIR}"
    numbers = [int(path.name[:2]) for path in LESSONS]
    missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
    assert numbers == list(range(1, len(LESSONS) + 1)), \
        f"lesson numbers {numbers} have a gap: no lesson {missing}, or a number used twice"


def test_every_lesson_is_listed_in_the_index_in_order():
    listed = re.findall(r"\]\((\d\d_\w+\.py)\)", (LESSONS_DIR / "README.md").read_text())
    assert sorted(listed) == listed, f"lessons/README.md lists the lessons out of order: {listed}"
    files = [path.name for path in LESSONS]
    assert not set(files) - set(listed), \
        f"lessons/README.md has no row for {sorted(set(files) - set(listed))}"
    assert not set(listed) - set(files), \
        f"lessons/README.md lists {sorted(set(listed) - set(files))}, which do not exist"


# --- the format -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS, ids=LESSON_IDS)
def test_lesson_is_in_percent_format_and_ends_with_exercises(lesson):
    text = lesson.read_text()
    assert text.startswith("# %% [markdown]\n# # Lesson "), \
        f"{lesson.name} must open with a markdown cell whose title is '# Lesson NN: ...'"
    cells = re.split(r"^(?=# %%)", text, flags=re.MULTILINE)[1:]
    first_code = next(cell for cell in cells if not cell.startswith("# %% [markdown]"))
    assert "run_check_if_asked(" in first_code, \
        f"{lesson.name}: the first code cell must call run_check_if_asked() so --check works"
    assert cells[-1].startswith(_exercises.EXERCISES_MARKER + "\n"), \
        f"{lesson.name} must end with the exercises cell"
    assert cells[-2].startswith("# %% [markdown]\n# ## Exercises"), \
        f"{lesson.name}: the exercises cell follows a markdown cell '## Exercises'"


def unresolved(reference: str):
    """Why `tinygrad_edu/path.py::Name` (or `::Class.method`) names nothing, or None if it resolves."""
    path, dotted = reference.split("::")
    if not (REPO / path).is_file():
        return f"{reference}: no file {path}"
    scope = ast.parse((REPO / path).read_text()).body
    for name in dotted.split("."):
        found = [node for node in scope if _defines(node, name)]
        if not found:
            return f"{reference}: {path} defines no {name!r} there"
        scope = getattr(found[0], "body", [])
    return None


def _defines(node, name) -> bool:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name == name
    if isinstance(node, ast.Assign):
        return any(isinstance(target, ast.Name) and target.id == name for target in node.targets)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.target.id == name
    return False


def test_reference_resolver_tells_a_real_name_from_a_missing_one():
    assert unresolved("tinygrad_edu/optim/adam.py::Adam") is None
    assert "no 'nope'" in unresolved("tinygrad_edu/optim/adam.py::Adam.nope")
    assert "no file" in unresolved("tinygrad_edu/no_such_file.py::Adam")


@pytest.mark.parametrize("lesson", LESSONS, ids=LESSON_IDS)
def test_source_references_resolve(lesson):
    references = SOURCE_REFERENCE.findall(lesson.read_text())
    assert references, f"{lesson.name} refers to no source file as tinygrad_edu/...py::Name"
    problems = [problem for problem in map(unresolved, references) if problem]
    assert not problems, f"{lesson.name}: " + "; ".join(problems)


# --- the exercises --------------------------------------------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS, ids=LESSON_IDS)
def test_exercises_check_passes_the_reference_and_fails_each_wrong_answer(lesson):
    """The exercises cell alone: the shipped functions are unsolved, the reference solution
    passes `check`, and swapping in the wrong answer of any one exercise fails it."""
    cell = _exercises.load_exercises(lesson)
    names = exercise_names(cell)
    assert 1 <= len(names) <= 3, f"{lesson.name}: {len(names)} exercises, expected 1 to 3"
    with pytest.raises(NotImplementedError, match="exercise"):
        cell["check"]()
    reference = _exercises.load_solution(lesson)
    assert exercise_names(vars(reference)) == names, \
        f"solutions/{lesson.name} must solve exactly the exercises {names}"
    cell["check"](reference)
    for name in names:
        wrong = types.SimpleNamespace(**{**vars(reference),
                                         f"exercise_{name}": getattr(reference, f"wrong_{name}")})
        with pytest.raises(AssertionError):
            _exercises.load_exercises(lesson)["check"](wrong)


def test_check_switch_exits_1_unsolved_and_0_with_the_reference(tmp_path):
    lesson = LESSONS[0]
    unsolved = _run([lesson, "--check"], tmp_path)
    assert unsolved.returncode == 1 and "not solved yet" in unsolved.stdout, _report(unsolved)
    solved = _run([lesson, "--check", "--solution"], tmp_path)
    assert solved.returncode == 0 and "all exercises pass" in solved.stdout, _report(solved)


# --- the notebooks --------------------------------------------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS, ids=LESSON_IDS)
def test_lesson_converts_to_a_notebook(lesson):
    jupytext = pytest.importorskip("jupytext")   # the docs extra; CI has it (conftest.py)

    notebook = jupytext.read(lesson)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds[0] == "markdown" and kinds.count("markdown") >= 3 and "code" in kinds, kinds
    assert notebook.cells[-1].metadata.get("tags") == ["exercises"], \
        f"{lesson.name}: the exercises cell lost its tag in the notebook"


@pytest.mark.slow
@pytest.mark.parametrize("lesson", NOTEBOOK_LESSONS, ids=[p.stem for p in NOTEBOOK_LESSONS])
def test_lesson_runs_as_a_notebook(lesson, tmp_path, monkeypatch):
    """The converted notebook runs top to bottom in a real Jupyter kernel."""
    jupytext = pytest.importorskip("jupytext")   # the docs extra; CI has it (conftest.py)
    NotebookClient = pytest.importorskip("nbclient").NotebookClient

    shutil.copy(LESSONS_DIR / "_exercises.py", tmp_path)
    for name, value in _lesson_env().items():
        monkeypatch.setenv(name, value)
    notebook = jupytext.read(lesson)
    NotebookClient(notebook, timeout=TIME_LIMIT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(output.get("text", "") for cell in notebook.cells
                      for output in cell.get("outputs", []))
    assert f"Lesson {lesson.name[:2]} done" in outputs, outputs[-2000:]


# --- the lessons themselves ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compiled_kernels():
    """Compile the Numba kernels once, into their on-disk cache, before any lesson is timed: a
    fresh checkout pays about a minute of compilation once, which is not a lesson's running time."""
    import tinygrad_edu as tg

    return tg.kernels.warmup()


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS, ids=LESSON_IDS)
def test_lesson_runs_and_its_check_passes_with_the_reference(lesson, tmp_path, compiled_kernels):
    # A scratch working directory, so a lesson that saves plots leaves nothing in the repository.
    result = _run([lesson], tmp_path)
    assert result.returncode == 0, _report(result)
    assert f"Lesson {lesson.name[:2]} done" in result.stdout, _report(result)
    for picture in tmp_path.glob("*.png"):
        assert picture.name in result.stdout, f"{lesson.name} saved {picture.name} unannounced"
        assert picture.read_bytes()[:4] == b"\x89PNG"
    check = _run([lesson, "--check", "--solution"], tmp_path)
    assert check.returncode == 0 and "all exercises pass" in check.stdout, _report(check)


def test_readme_python_examples_run():
    """The ```python blocks of the top-level README run as written (they assert what they show)."""
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert blocks, "README.md has no python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme_example"})
