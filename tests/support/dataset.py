"""The built-in dataset's build script (scripts/build_dataset.py) loaded as a module, for tests
that call its functions or rebuild the dataset; each call gives a fresh module."""
import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_dataset.py"


def load_build_script(name: str = "build_dataset") -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
