"""The rules of the house (tests/house.py reads them off the source):
engines are private packages used through their fronts, no import circles,
no private name imported from another module, modules of 600 lines or less."""

from __future__ import annotations

from tests import house


def test_no_import_circles() -> None:
    assert house.circles() == []


def test_callers_use_only_the_engines_fronts() -> None:
    assert [
        f"{i.importer}:{i.line} -> {i.target} {i.name or ''}" for i in house.private_reach()
    ] == []


def test_modules_are_at_most_600_lines() -> None:
    long = {m: n for m, n in house.lengths().items() if n > house.LONGEST}
    assert long == {}


def test_each_engine_is_a_package_with_a_front() -> None:
    mods = house.modules()
    for engine in ("_halo", "_labels", "_reduce", "_resample", "_kernels"):
        assert mods[f"bigimg.{engine}"].name == "__init__.py", engine
    assert "bigimg._execute" in mods and "bigimg._validation" in mods


def test_the_checks_can_fail(tmp_path) -> None:
    pkg = tmp_path / "bigimg"
    (pkg / "_eng").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "_eng" / "__init__.py").write_text("from bigimg._eng.inner import f\n")
    (pkg / "_eng" / "inner.py").write_text("def f():\n    from bigimg import user\n")
    (pkg / "user.py").write_text("from bigimg._eng.inner import _g\n" + "x = 1\n" * 601)
    assert house.circles(pkg) == [["bigimg._eng.inner", "bigimg.user"]]
    reach = house.private_reach(pkg)
    assert [(i.importer, i.target, i.name) for i in reach] == [
        ("bigimg.user", "bigimg._eng.inner", "_g")
    ]
    assert house.lengths(pkg)["bigimg.user"] == 602
