"""What `aggregator preview` writes to stderr is ours: the extraction libraries' own warnings
say nothing an operator can act on."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FIXTURES, run_cli_async
from tests.upstream import upstream_site


async def test_an_article_built_by_script_brings_no_library_warnings(tmp_path: Path) -> None:
    async with upstream_site() as site:
        page = (FIXTURES / "html" / "gov_script_article.html").read_bytes()
        site.publish("/art/8801.html", page, "text/html; charset=utf-8")
        listing = "<ul><li><a href='/art/8801.html'>图解：2026年汉中市政府工作报告</a></li></ul>"
        site.publish("/list.html", listing.encode(), "text/html; charset=utf-8")
        config = tmp_path / "config.toml"
        config.write_text(
            f"""
[service]
database = "{tmp_path / "db.sqlite3"}"

[fetch]
respect_robots = false

[[sources]]
id = "jsart"
name = "汉中市人民政府"
url = "{site.url("/list.html")}"
type = "html"

[sources.list]
item = "li"
link = "a"
""",
            encoding="utf-8",
        )
        code, out, err = await run_cli_async(
            "preview", config, "jsart", "--article", site.url("/art/8801.html")
        )
        assert code == 0, err
        assert "0 chars" in out, "a page without text shows as such"
        code, listed, err = await run_cli_async("preview", config, "jsart")
    assert code == 0, err
    # its `<title>` is only the source's name: no title, so the list's stays
    assert "#1  图解：2026年汉中市政府工作报告" in listed.splitlines()
    assert "trafilatura" not in err, err
    assert "discarding data" not in err, err
