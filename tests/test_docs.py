"""The API reference covers the whole library, and every public object is documented."""
import importlib
import inspect
import pkgutil

import dlbook_lib
from tools import notebooks as nbt

MODULES = [m.name for m in pkgutil.iter_modules(dlbook_lib.__path__) if not m.name.startswith("_")]


def test_every_module_is_in_the_api_reference():
    page = (nbt.ROOT / "back" / "api.md").read_text()
    missing = [m for m in MODULES if f".. automodule:: dlbook_lib.{m}" not in page]
    assert not missing, f"add these modules to back/api.md: {missing}"


def test_every_public_function_and_class_has_a_docstring():
    undocumented = []
    for name in MODULES:
        module = importlib.import_module(f"dlbook_lib.{name}")
        assert module.__doc__, f"dlbook_lib.{name} has no module docstring"
        for attr, obj in vars(module).items():
            if attr.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and not obj.__doc__:
                undocumented.append(f"{name}.{attr}")
    assert not undocumented, f"public objects without a docstring: {undocumented}"


def test_library_source_fits_the_page():
    """Chapters display library code (show_source) on 80-column pages."""
    wide = [f"{path.name}:{n}" for path in sorted(nbt.LIB.glob("*.py"))
            for n, line in enumerate(path.read_text().splitlines(), start=1) if len(line) > 80]
    assert not wide, f"{len(wide)} lines of dlbook_lib wider than 80 characters: {wide[:10]}"
