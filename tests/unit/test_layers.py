"""The layout stays true: imports inside app/ only point down the layers (docs/architecture.md)."""

import grimp
import pytest

# Top to bottom. A layer may import any layer below it, never one above; siblings in one
# layer (services and ingest) may not import each other.
LAYERS = (
    grimp.Layer("app.main", "app.cli", independent=False),
    grimp.Layer("app.web"),
    grimp.Layer("app.services", "app.ingest", independent=True),
    grimp.Layer("app.store"),
    grimp.Layer("app.geo"),
    grimp.Layer("app.domain"),
)
# Modules outside the layers: the package itself, every knob (read by any layer but domain)
# and the worker's allocator tuning (called by main's lifespan).
UNLAYERED = {"app", "app.settings", "app.allocator"}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("app")


def _layer_roots() -> set[str]:
    return {module for layer in LAYERS for module in layer.module_tails}


def test_imports_point_down_the_layers(graph: grimp.ImportGraph) -> None:
    illegal = graph.find_illegal_dependencies_for_layers(layers=LAYERS)
    # Each arrow that points up, with one chain of imports that makes it.
    arrows = sorted(f"{dep.importer} -> {dep.imported}: {_chain(dep)}" for dep in illegal)
    assert arrows == []


def _chain(dep: grimp.PackageDependency) -> str:
    route = min(dep.routes, key=lambda r: (len(r.middle), sorted(r.heads)))
    return " -> ".join([min(route.heads), *route.middle, min(route.tails)])


def test_domain_imports_nothing_of_the_project(graph: grimp.ImportGraph) -> None:
    outside = sorted(
        f"{module} imports {imported}"
        for module in graph.find_descendants("app.domain") | {"app.domain"}
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.startswith("app") and not imported.startswith("app.domain")
    )
    assert outside == []


def test_allocator_is_called_only_by_main(graph: grimp.ImportGraph) -> None:
    assert graph.find_modules_that_directly_import("app.allocator") == {"app.main"}


def test_every_module_belongs_to_a_layer(graph: grimp.ImportGraph) -> None:
    roots = _layer_roots()
    stray = sorted(
        module
        for module in graph.modules
        if module not in UNLAYERED
        and not any(module == root or module.startswith(root + ".") for root in roots)
    )
    assert stray == []
