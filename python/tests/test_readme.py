"""The README's Python example runs as written (with a block name of this
run instead of "events")."""
import os
import re
import unittest

from support import ShmTestCase, main, name

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")


class Readme(ShmTestCase):
    def test_python_blocks(self):
        text = open(README).read()
        section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
        blocks = re.findall(r"```python\n(.*?)```", section, re.S)
        self.assertTrue(blocks)
        for code in blocks:
            exec(compile(code.replace('"events"', repr(name("readme"))), "README.md", "exec"),
                 {})


if __name__ == "__main__":
    main()
