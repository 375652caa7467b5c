"""oxhub's Python bridge: run one jupyterhub_config.py and print the values it assigns as JSON.

Run as `python3 -c <this file> <config path>`. The config runs with a stand-in `c` /
`get_config()` that records assignments (with line numbers) instead of configuring anything.
Values are written in a tagged JSON form that keeps tuples, sets, bytes and non-str dict keys.
Imports of JupyterHub plug-in packages that are not installed resolve to stand-in classes.
"""

import importlib.abc
import importlib.machinery
import json
import os
import sys
import types

CONFIG_PATH = os.path.abspath(sys.argv[1])
PLUGIN_PACKAGES = {
    "jupyterhub", "oauthenticator", "ldapauthenticator", "kubespawner", "dockerspawner",
    "batchspawner", "nativeauthenticator", "jupyterhub_idle_culler", "traitlets",
}
RECORDS = []
FILES = set()


def _caller_line():
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename in FILES:
            return frame.f_code.co_filename, frame.f_lineno
        frame = frame.f_back
    return CONFIG_PATH, 0


class _StubType(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _stub_class(cls.__oxhub_path__ + "." + name)

    def __call__(cls, *args, **kwargs):
        raise RuntimeError(
            "%s is not installed; the Python bridge can only name it, not call it" % cls.__oxhub_path__
        )


def _stub_class(path):
    module, _, name = path.rpartition(".")
    return _StubType(name, (), {"__oxhub_path__": path, "__module__": module})


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _stub_class(self.__name__ + "." + name)


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in PLUGIN_PACKAGES:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _StubModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


class _Lazy:
    """An unset trait that the file changes in place (c.X.y.append(...)): the changes are
    recorded and applied to the trait's default by oxhub, as traitlets does."""

    def __init__(self, section, trait):
        self._section, self._trait, self.ops = section, trait, []

    def _op(self, *op):
        self.ops.append(list(op))
        self._section._record(self._trait, self, touch=True)

    def append(self, v): self._op("append", v)
    def extend(self, v): self._op("extend", list(v))
    def insert(self, i, v): self._op("insert", i, v)
    def prepend(self, v): self._op("prepend", list(v))
    def add(self, v): self._op("add", v)
    def update(self, v=(), **kw): self._op("update", dict(v, **kw))
    def __setitem__(self, k, v): self._op("setitem", k, v)

    def __getitem__(self, k):
        raise KeyError(k)


class _Section:
    def __init__(self, name):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_values", {})

    def _record(self, trait, value, touch=False):
        path, line = _caller_line()
        self._values[trait] = value
        RECORDS.append((self._name, trait, value, path, line))

    def __setattr__(self, trait, value):
        self._record(trait, value)

    def __getattr__(self, trait):
        if trait.startswith("__"):
            raise AttributeError(trait)
        values = object.__getattribute__(self, "_values")
        if trait not in values:
            values[trait] = _Lazy(self, trait)
        return values[trait]

    def __contains__(self, trait):
        return trait in self._values

    def update(self, other=(), **kw):
        for k, v in dict(other, **kw).items():
            self._record(k, v)


class _Config:
    def __init__(self):
        object.__setattr__(self, "_sections", {})

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        sections = object.__getattribute__(self, "_sections")
        if name not in sections:
            sections[name] = _Section(name)
        return sections[name]

    __getitem__ = __getattr__

    def __setattr__(self, name, value):
        section = getattr(self, name)
        if isinstance(value, dict):
            section.update(value)


C = _Config()


def encode(v, seen=()):
    if id(v) in seen:
        return {"$object": "<recursive>"}
    seen = seen + (id(v),)
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v if -(2**63) <= v < 2**63 else {"$object": repr(v)}
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else {"$object": repr(v)}
    if isinstance(v, bytes):
        return {"$bytes": v.hex()}
    if isinstance(v, list):
        return [encode(x, seen) for x in v]
    if isinstance(v, tuple):
        return {"$tuple": [encode(x, seen) for x in v]}
    if isinstance(v, (set, frozenset)):
        return {"$set": [encode(x, seen) for x in v]}
    if isinstance(v, dict):
        return {"$dict": [[encode(k, seen), encode(x, seen)] for k, x in v.items()]}
    if isinstance(v, _Lazy):
        return {"$ops": [[op[0]] + [encode(x, seen) for x in op[1:]] for op in v.ops]}
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    if isinstance(v, type):
        path = getattr(v, "__oxhub_path__", None)
        if path:
            return {"$class": path}
        module = getattr(v, "__module__", "")
        if module in ("__main__", "__config__") or getattr(v, "__oxhub_defined_here__", False):
            return {"$callable": v.__name__, "line": _def_line(v)}
        return {"$class": module + "." + v.__qualname__}
    if callable(v):
        return {"$callable": getattr(v, "__name__", repr(v)), "line": _def_line(v)}
    return {"$object": repr(v)[:200]}


def _def_line(v):
    code = getattr(v, "__code__", None)
    if code is not None:
        return code.co_firstlineno
    try:
        import inspect

        return inspect.getsourcelines(v)[1]
    except Exception:
        return 0


def run(path):
    path = os.path.abspath(path)
    FILES.add(path)
    with open(path, "rb") as f:
        source = f.read()
    code = compile(source, path, "exec")
    namespace = {
        "__name__": "__config__",
        "__file__": path,
        "c": C,
        "get_config": lambda: C,
        "load_subconfig": lambda sub, profile=None: run(os.path.join(os.path.dirname(path), sub)),
    }
    exec(code, namespace)


def main():
    sys.meta_path.append(_StubFinder())
    out = {"records": [], "error": None}
    try:
        run(CONFIG_PATH)
    except SystemExit as e:
        out["error"] = {"message": "the config file called sys.exit(%s)" % (e.code,), "line": _tb_line(e)}
    except BaseException as e:
        out["error"] = {"message": "%s: %s" % (type(e).__name__, e), "line": _tb_line(e)}
    seen = {}
    for section, trait, value, path, line in RECORDS:
        seen[(section, trait)] = (value, path, line)
    for (section, trait), (value, path, line) in seen.items():
        out["records"].append(
            {"class": section, "trait": trait, "value": encode(value), "file": path, "line": line}
        )
    sys.stdout.write(json.dumps(out))


def _tb_line(e):
    tb = e.__traceback__
    line = getattr(e, "lineno", None) if isinstance(e, SyntaxError) else None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in FILES:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line or 0


main()
