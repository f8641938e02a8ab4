"""The README's quickstart runs as written and fits the line it promises."""

import contextlib
import io
import os
import re

import numpy as np

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def test_quickstart_code_runs_and_fits_the_line():
    with open(README, encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)
    assert blocks, "README has no python block"
    scope = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(blocks[0], "README.md", "exec"), scope)  # noqa: S102 - the README's own code
    assert "dense/kernel:0" in out.getvalue()
    np.testing.assert_allclose(scope["w"].numpy(), [[3.0]], atol=0.1)
    np.testing.assert_allclose(scope["b"].numpy(), [2.0], atol=0.1)
