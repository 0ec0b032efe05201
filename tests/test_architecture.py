"""The house rule that keeps modules readable: none passes 500 lines (split along its seams).
The import contracts (layers, no cycles) are `lint-imports`, which `make test` runs first."""

from __future__ import annotations

from pathlib import Path

import community

MAX_LINES = 500


def test_no_module_passes_500_lines():
    root = Path(community.__file__).parent
    long = {str(path.relative_to(root)): lines for path in root.rglob("*.py")
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"split these along their seams: {long}"
