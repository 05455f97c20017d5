"""Build hook: the wheel carries the workflow (Snakefile, rules, schemas, config, profiles,
envs, committed resources) inside the package as ``neuroflow/_workflow``, so that
``neuroflow run`` works after a plain ``pip install`` (metadata lives in pyproject.toml)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ITEMS = ("Snakefile", "workflow", "config", "profiles", "envs", "resources")


class BuildPyWithWorkflow(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install runs the checkout itself
            return
        here = Path(__file__).resolve().parent
        dest = Path(self.build_lib) / "neuroflow" / "_workflow"
        for name in ITEMS:
            src = here / name
            if src.is_dir():
                shutil.copytree(src, dest / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("data", "__pycache__"))
            elif src.is_file():
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)


setup(cmdclass={"build_py": BuildPyWithWorkflow})
