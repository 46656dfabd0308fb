"""The bounded-context contracts hold for the real tree, and really fail on a planted violation."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree)},
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    for name in ("apps", "nexuscart", "config"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_real_tree_keeps_every_contract(tree_copy):
    result = _lint(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("planted_in", "line", "contract"),
    [
        ("apps/order/planted.py", "from apps.catalog import models\n", "Bounded contexts talk only through"),
        ("apps/payment/planted.py", "import apps.order.api\n", "Bounded contexts talk only through"),
        ("nexuscart/planted.py", "import apps.order.services\n", "The shared kernel imports nothing"),
        ("apps/order/models.py", "from apps.order import services\n", "Inside a context"),
        # Upward across the layers, even through the public modules the first contract allows.
        ("apps/inventory/planted.py", "from apps.order import selectors\n", "Contexts depend one way"),
        ("apps/user/planted.py", "from apps.catalog import services\n", "Contexts depend one way"),
        ("apps/order/planted.py", "from apps.payment import selectors\n", "Contexts depend one way"),
        # Production code never reaches the bench app, not even the kernel.
        ("apps/order/planted.py", "from apps.bench import naive_flash_sale\n", "Nothing imports the bench app"),
        ("config/planted.py", "import apps.bench.hot\n", "Nothing imports the bench app"),
    ],
)
def test_a_planted_violation_breaks_the_build(tree_copy, planted_in, line, contract):
    target = tree_copy / planted_in
    target.write_text((target.read_text() if target.exists() else "") + line)
    result = _lint(tree_copy)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout
    assert "BROKEN" in result.stdout
    # The report names the planted import itself, so the case proves something even while
    # another import breaks the same contract.
    planted_module = planted_in.removesuffix(".py").replace("/", ".")
    assert f"{planted_module} -> " in result.stdout.replace("\n", "")


@pytest.mark.parametrize(
    ("planted_in", "line"),
    [
        # Downward through a public module.
        ("apps/payment/planted.py", "from apps.order import selectors\n"),
        ("apps/catalog/planted.py", "from apps.inventory import services\n"),
        # Upward through an events module: the published language every context may read.
        ("apps/inventory/planted.py", "from apps.order.events import PAYABLE\n"),
        # The bench app may import anything.
        ("apps/bench/planted.py", "from apps.order import models\nfrom apps.promotion import hot\n"),
    ],
)
def test_an_allowed_import_is_not_reported(tree_copy, planted_in, line):
    target = tree_copy / planted_in
    target.write_text(line)
    result = _lint(tree_copy)
    planted_module = planted_in.removesuffix(".py").replace("/", ".")
    assert planted_module not in result.stdout, result.stdout


def test_importing_another_context_through_its_services_is_allowed(tree_copy):
    (tree_copy / "apps/order/planted.py").write_text("from apps.catalog import selectors, services\n")
    assert _lint(tree_copy).returncode == 0
