"""What several test modules share: small scenarios built in tests, so each
test states what it varies; and throwaway environments to install plugin
projects into (the scaffold's tutorial, the compatibility of old plugins)."""

from __future__ import annotations

import copy
import importlib.util
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from normflow import Simulation
from normflow.scenario import scenario_from_dict

BASE: dict[str, Any] = {
    "scenario": {"name": "test", "start": "1990-01-01", "end": "1994-12-31"},
    "states": [
        {
            "id": "japan",
            "penetrability": 0.2,
            "public_support": 0.3,
            "legislature": {"name": "Diet", "government_support": 0.4},
        },
        {"id": "korea"},
    ],
    "issues": [{"id": "suffrage", "state": "japan", "area": "legal_equality"}],
    "local_governments": {
        "named": [
            {
                "id": "kawasaki",
                "state": "japan",
                "population": 1_000_000,
                "access": 0.6,
                "openness": 0.8,
                "support": 0.6,
                "partners": ["bucheon"],
            },
            {"id": "bucheon", "state": "korea", "population": 800_000},
        ],
        "groups": [{"state": "japan", "count": 50, "support": 0.4}],
    },
    "civil_society": {
        "groups": [
            {
                "id": "residents",
                "state": "japan",
                "locality": "kawasaki",
                "nationality": "korea",
                "kind": "NPO",
                "resources": 1.0,
            },
            {"id": "supporters", "state": "japan", "locality": "kawasaki"},
            {"id": "seoul-ngo", "state": "korea", "locality": "bucheon"},
        ],
        "populations": [{"state": "japan", "count": 40}],
    },
}


def scenario(**changes: Any):
    """The base scenario with top-level sections replaced or merged.

    ``processes={...}`` and other tables given as dicts are merged one level deep."""
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            merged = dict(data[key])
            merged.update(value)
            data[key] = merged
        else:
            data[key] = value
    return scenario_from_dict(data)


def diet_window(
    *,
    end: str = "1992-12-31",
    visit: str = "1991-06-01",
    strength: float = 2.0,
    threshold: float = 0.45,
    coupling_days: float = 60.0,
    **processes: Any,
) -> dict[str, Any]:
    """A scenario (as a dict, to vary further) whose Diet sits all year and
    whose politics stream is national support alone (0.3, not raised by
    campaigns) under ``threshold``, until a state visit on ``visit`` adds
    ``0.1 * strength``: the visit opens the window, the streams decide when it
    is used (``coupling_days``). ``processes`` adds process sections."""
    data = copy.deepcopy(BASE)
    data["scenario"]["end"] = end
    data["states"][0]["legislature"] = {
        "name": "Diet",
        "ordinary_session": {"month": 1, "day": 2, "days": 360},
        "extraordinary_sessions": [],
    }
    data["events"] = [
        {"date": visit, "category": "state_visit", "state": "korea", "target": "japan", "strength": strength}
    ]
    data["processes"] = {
        "agenda": {
            "problem_threshold": 0.0,
            "policy_hazard": 1.0,
            "politics_public_weight": 1.0,
            "politics_threshold": threshold,
            "coupling_days": coupling_days,
        },
        "accountability": {"national_support_gain": 0.0},
        **processes,
    }
    return data


def run(scen, seed: int = 1, **kwargs: Any):
    kwargs.setdefault("autoload", False)
    return Simulation(scen, seed, **kwargs).run()


def traced(scen, tmp_path, seed: int = 1, name: str = "trace.jsonl", **kwargs: Any):
    """Run with a trace and return (result, trace lines without header/end)."""
    from normflow.trace import read_trace

    path = tmp_path / name
    kwargs.setdefault("autoload", False)
    result = Simulation(scen, seed, trace=path, **kwargs).run()
    lines = read_trace(path)
    assert lines[0]["kind"] == "trace_start" and lines[-1]["kind"] == "trace_end"
    return result, lines[1:-1]


# -- throwaway environments ------------------------------------------------------------


def throwaway_venv(where: Path) -> Path:
    """A venv that sees this environment's packages (normflow included) but
    installs into its own site-packages, so installing a plugin there never
    changes the environment other tests run in. Returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    parents = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    # site.addsitedir also runs the .pth files there (editable installs of normflow)
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in parents)
    Path(purelib, "_normflow_parent_env.pth").write_text(lines)
    return python


def cannot_build_editable() -> str | None:
    """Why an editable install cannot be built offline here (None: it can)."""
    try:
        import setuptools
    except ImportError:
        return "setuptools is not installed in this environment"
    major_minor = tuple(int(x) for x in setuptools.__version__.split(".")[:2])
    if major_minor < (70, 1) and importlib.util.find_spec("wheel") is None:
        return f"setuptools {setuptools.__version__} needs the 'wheel' package (in the dev extra)"
    return None


def clean_env() -> dict[str, str]:
    """This process's environment without normflow's and Python's variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("NORMFLOW_", "PYTHON"))}


def install_editable(python: Path, project: Path, env: dict[str, str], cwd: Path) -> None:
    """``pip install -e project`` into a throwaway venv, offline, no deps."""
    done = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-e",
            project,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
