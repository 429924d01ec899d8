"""The exercises of a lesson, and the ``--check`` switch every lesson shares.

A lesson ends with one code cell whose first line is ``# %% tags=["exercises"]``. That cell is
self-contained: it defines the learner's functions ``exercise_<name>`` and a ``check(solution=None)``
that tests them. Running

    python lessons/NN_name.py --check              checks your own solutions in the lesson file;
    python lessons/NN_name.py --check --solution   checks the reference in lessons/solutions/

runs ONLY that cell and its check, so a learner who edits an exercise gets an answer in a second,
without rerunning the whole lesson.
"""
import sys
import types
from pathlib import Path

EXERCISES_MARKER = '# %% tags=["exercises"]'


def exercises_source(lesson_file) -> str:
    """The text of the lesson's exercises cell: from its marker to the next cell or the end."""
    lines = Path(lesson_file).read_text(encoding="utf-8").splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip() == EXERCISES_MARKER]
    if len(starts) != 1:
        raise ValueError(f"{Path(lesson_file).name}: expected exactly one exercises cell starting "
                         f"with {EXERCISES_MARKER!r}, found {len(starts)}")
    cell = [lines[starts[0]]]
    for line in lines[starts[0] + 1:]:
        if line.startswith("# %%"):
            break
        cell.append(line)
    return "".join(cell)


def load_exercises(lesson_file) -> dict:
    """Run the exercises cell alone in a fresh namespace and return that namespace."""
    namespace = {"__name__": "lesson_exercises"}
    exec(compile(exercises_source(lesson_file), str(lesson_file), "exec"), namespace)
    return namespace


def solution_file(lesson_file) -> Path:
    """lessons/NN_name.py -> lessons/solutions/NN_name.py."""
    lesson_file = Path(lesson_file)
    return lesson_file.parent / "solutions" / lesson_file.name


def load_solution(lesson_file) -> types.ModuleType:
    """The reference solutions of a lesson, as a module (its name starts with a digit, so it
    cannot be imported with an import statement)."""
    path = solution_file(lesson_file)
    module = types.ModuleType(f"solution_{path.stem}")
    module.__file__ = str(path)
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)
    return module


def run_check(lesson_file, use_reference: bool = False) -> int:
    """Check the exercises; print the verdict; return the exit status (0 pass, 1 not yet)."""
    check = load_exercises(lesson_file)["check"]
    try:
        check(load_solution(lesson_file) if use_reference else None)
    except NotImplementedError as unsolved:
        print(f"not solved yet: {unsolved}")
        return 1
    except AssertionError as wrong:
        print(f"not yet right: {wrong}")
        return 1
    return 0


def run_check_if_asked(lesson_file=None) -> None:
    """With ``--check`` on the command line, check the exercises and exit; otherwise return.

    ``lesson_file`` defaults to the script being run, so the same first cell works in a notebook
    (where there is no ``__file__`` and no ``--check``, and this returns at once).
    """
    if "--check" not in sys.argv:
        return
    if lesson_file is None:
        lesson_file = sys.modules["__main__"].__file__
    sys.exit(run_check(lesson_file, use_reference="--solution" in sys.argv))
