"""The READMEs a new user reads first: every link inside the repository resolves, and the Chinese quick start
is linked at the top and starts with the same two commands."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _local_links(markdown: Path) -> list[str]:
    links = re.findall(r"\]\(([^)#\s]+)", markdown.read_text(encoding="utf-8"))
    return [link for link in links if not re.match(r"[a-z]+:", link)]


def _first_commands(markdown: Path) -> list[str]:
    block = re.search(r"```bash\n(.*?)```", markdown.read_text(encoding="utf-8"), re.DOTALL)
    assert block is not None, markdown
    return [line.split("#")[0].strip() for line in block.group(1).splitlines()]


def test_every_link_of_the_readmes_resolves_in_the_repository() -> None:
    for name in ("README.md", "README.zh.md"):
        for link in _local_links(ROOT / name):
            assert (ROOT / link).exists(), (name, link)


def test_the_chinese_quick_start_is_linked_at_the_top_and_starts_like_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(README.zh.md)" in "\n".join(readme.splitlines()[:5])
    assert _first_commands(ROOT / "README.zh.md") == _first_commands(ROOT / "README.md")
    quick_start = (ROOT / "README.zh.md").read_text(encoding="utf-8")
    for login in ("op01 / op01pass", "sup01 / sup01pass", "admin / admin123", "/pos/#terminal=POS001", "/docs"):
        assert login in quick_start
