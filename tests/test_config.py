"""Config loading: every fault reported at once with its key path, and `aggregator check`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from aggregator.config import load_config
from aggregator.configtable import parse_duration, parse_size
from aggregator.errors import ConfigError
from aggregator.settings import FEED_KEYS, FETCH_KEYS, SERVICE_KEYS, SOURCE_KEYS, STORIES_KEYS
from tests.conftest import ROOT, WriteConfig, run_cli

MINIMAL = """
[[sources]]
id = "a"
url = "https://example.org/a.xml"
"""


def problems(write_config: WriteConfig, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write_config(text))
    return list(info.value.problems)


def test_minimal_config_gets_documented_defaults(write_config: WriteConfig) -> None:
    config = load_config(write_config(MINIMAL))
    assert config.fetch.interval == 900
    assert config.fetch.max_bytes == 10 * 1024 * 1024
    assert config.service.timezone.key == "Asia/Shanghai"
    assert [f.id for f in config.feeds] == ["all"]
    assert config.feeds[0].sources == ("a",)
    assert config.sources[0].name == "a"
    assert config.service.database == config.path.parent.resolve() / "var/aggregator.sqlite3"


def test_a_publishers_address_is_published_as_a_valid_uri(write_config: WriteConfig) -> None:
    """`?a=1&b=<2>` passed `check` and made every Atom entry and the OPML invalid."""
    text = MINIMAL + 'publisher = { name = "汉中", url = "https://example.org/汉中?a=1&b=<2>" }\n'
    publisher = load_config(write_config(text)).sources[0].publisher
    assert publisher is not None
    assert publisher.url == "https://example.org/%E6%B1%89%E4%B8%AD?a=1&b=%3C2%3E"


def test_relative_source_path_becomes_file_url(write_config: WriteConfig) -> None:
    path = write_config('[[sources]]\nid = "a"\nurl = "examples/a.xml"\n')
    config = load_config(path)
    assert config.sources[0].url == (path.parent / "examples/a.xml").resolve().as_uri()


def test_every_fault_is_reported_at_once_with_its_path(write_config: WriteConfig) -> None:
    found = problems(
        write_config,
        """
        colour = "blue"
        [service]
        port = "8080"
        timezone = "Mars/Olympus"
        base_url = "ftp://x"
        workers = 0
        [fetch]
        interval = "15 minutes"
        max_bytes = "ten"
        per_host = 0
        respect_robots = "yes"
        [[sources]]
        id = "Bad Id"
        url = "https://example.org/"
        [[sources]]
        id = "ok"
        url = "gopher://example.org/"
        type = "magic"
        intervall = "5m"
        tags = "汉中"
        publisher = "someone"
        encoding = "klingon"
        [[sources]]
        id = "ok"
        url = "https://example.org/2"
        publisher = { name = "P", url = "example.org/" }
        [[sources]]
        name = "no id"
        encoding = "base64"
        [[feeds]]
        id = "f"
        sources = ["ok", "hzfx"]
        limit = 0
        [[feeds]]
        id = "f"
        """,
    )
    expected = [
        "colour: unknown key",
        "service.port: must be an integer",
        "service.timezone: unknown time zone 'Mars/Olympus'",
        "service.base_url: must be an http(s) URL",
        "service.workers: must be between 1 and 64",
        "fetch.interval: not a duration",
        "fetch.max_bytes: not a size",
        "fetch.per_host: must be between 1 and",
        "fetch.respect_robots: must be true or false",
        "sources[0].id: 'Bad Id' must match [a-z0-9_-]+",
        "sources[1].url: unsupported URL scheme 'gopher'",
        'sources[1].type: must be "feed", "html" or "json"',
        "sources[1].intervall: unknown key",
        "sources[1].tags: must be a list of strings",
        "sources[1].publisher: must be a table",
        "sources[1].encoding: unknown charset 'klingon'",
        "sources[2].id: duplicate source id 'ok'",
        "sources[2].publisher.url: must be an http(s) URL such as https://example.org/",
        "sources[3].id: is required",
        "sources[3].url: is required",
        "sources[3].encoding: unknown charset 'base64'",  # a codec, not a charset
        'feeds[0].sources: unknown source "hzfx"',
        "feeds[0].limit: must be between 1 and 500",
        "feeds[1].id: duplicate feed id 'f'",
    ]
    for message in expected:
        assert any(p.startswith(message) for p in found), (message, found)
    assert len(found) == len(expected), found


def test_selector_faults_are_config_errors(write_config: WriteConfig) -> None:
    found = problems(
        write_config,
        """
        [[sources]]
        id = "portal"
        url = "https://example.net/list"
        type = "html"
        [sources.list]
        item = "div..xld ((("
        link = { css = "a", regex = "([unclosed" }
        [sources.article]
        author = { css = "p", colour = "red" }
        [[sources]]
        id = "needs-list"
        url = "https://example.net/other"
        type = "html"
        """,
    )
    assert any(p.startswith("sources[0].list.item: not a valid CSS selector") for p in found), found
    assert any(p.startswith("sources[0].list.link") and "regex" in p for p in found), found
    assert any(p.startswith("sources[0].article.author") for p in found), found
    assert any(p.startswith("sources[1].list: is required") for p in found), found


def test_unreadable_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[service\ntitle = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1.5h", 5400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "size"), [("10MB", 10 * 1024**2), ("512KB", 512 * 1024), ("1GiB", 1024**3)]
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[service]\nbase_url = "http://[x/"', "service.base_url: must be an http(s) URL"),
        ('[service]\nbase_url = "https:/feeds"', "service.base_url: must be an http(s) URL"),
        ('[service]\nwebsub_hub = "http://[x/"', "service.websub_hub: must be an http(s) URL"),
        ('[service]\nimage_proxy_hosts = ["https://mmbiz.qpic.cn/"]',
         "service.image_proxy_hosts: must be host names such as mmbiz.qpic.cn (or host:port), "
         "not 'https://"),
        ('[service]\nimage_proxy_hosts = [""]', "service.image_proxy_hosts: must be host names"),
        ('[service]\nimage_proxy_hosts = ["qpic.cn:0"]', "service.image_proxy_hosts: must be"),
        ('[service]\nimage_proxy_hosts = ["qpic.cn:٤٤٣"]', "service.image_proxy_hosts: must be"),
        ('[service]\nimage_proxy_hosts = "mmbiz.qpic.cn"',
         "service.image_proxy_hosts: must be a list of strings"),
        ('[fetch]\ninterval = "99999999999999999999d"', "fetch.interval: longer than a hundred"),
        ('[[sources]]\nid = "a"\nurl = "http://[x/"', "sources[0].url: not a URL or path"),
        ('[[sources]]\nid = "a"\nurl = "a\\u0000.xml"', "sources[0].url: not a URL or path"),
        ('[[sources]]\nid = "a"\nurl = "https:汉中//example.org/f"', "sources[0].url: no host: "),
        ('[[sources]]\nid = "a"\nurl = "http:///feed.xml"', "sources[0].url: no host: "),
        ('[[sources]]\nid = "a"\nurl = "http://a.example:99999/f"', "sources[0].url: port out"),
        ('[[sources]]\nid = "a"\nurl = "a.xml"\ntype = "html"\nlist = "div"',
         "sources[0].list: must be a table ([sources.list])"),
        ('[[sources]]\nid = "a"\nurl = "a.xml"\narticle = ["h1"]',
         "sources[0].article: must be a table ([sources.article])"),
        ('[[sources]]\nid = "a"\nurl = "a.xml"\ntype = "html"\nlist = {}',
         "sources[0].list.item: "),  # an empty table is still checked
    ],
)  # fmt: skip
def test_hostile_values_are_config_errors_naming_the_key(
    write_config: WriteConfig, text: str, message: str
) -> None:
    """Each of these used to end `load_config` with a traceback (ValueError, AttributeError)."""
    with pytest.raises(ConfigError) as info:
        load_config(write_config(text))
    assert any(problem.startswith(message) for problem in info.value.problems), info.value.problems


def test_request_headers_are_checked_and_kept_in_order(write_config: WriteConfig) -> None:
    config = load_config(
        write_config(
            MINIMAL + 'user_agent = "portalbot/1.0"\n'
            'headers = { Referer = "http://example.net/", Cookie = "a=1; b=2" }\n'
        )
    )
    assert config.sources[0].request_headers == (
        ("User-Agent", "portalbot/1.0"),
        ("Referer", "http://example.net/"),
        ("Cookie", "a=1; b=2"),
    )
    assert load_config(write_config(MINIMAL)).sources[0].request_headers == ()


def test_hostile_request_headers_are_config_errors_naming_the_key(
    write_config: WriteConfig,
) -> None:
    """aiohttp refuses a line break in a header at every request (a source that failed each
    time), and would let one header smuggle another in on a server that splits on it."""
    found = problems(
        write_config,
        '[fetch]\nuser_agent = "bot\\r\\nX-Injected: 1"\n' + MINIMAL
        + 'user_agent = "机器人"\n'
        'headers = { "Bad Name" = "x", Cookie = "a\\nb", "User-Agent" = "x", '
        '"If-None-Match" = "x", Accept-Encoding = "br", Referer = "http://汉中.example/" }\n',
    )  # fmt: skip
    printable = "must be printable ASCII, without line breaks"
    named = ' (source "a")'  # each problem of a source ends with its id
    assert all(line.endswith(named) for line in found if line.startswith("sources"))
    assert [line.removesuffix(named) for line in found] == [
        f"fetch.user_agent: {printable} (percent-encode other characters)",
        f"sources[0].user_agent: {printable} (percent-encode other characters)",
        "sources[0].headers.Bad Name: not an HTTP header name",
        f"sources[0].headers.Cookie: {printable} (percent-encode other characters)",
        "sources[0].headers.User-Agent: set by user_agent",
        "sources[0].headers.If-None-Match: set by the fetcher from the last response",
        "sources[0].headers.Accept-Encoding: set by the fetcher: it decompresses what it asked for",
        f"sources[0].headers.Referer: {printable} (percent-encode other characters)",
    ]
    assert problems(write_config, MINIMAL + 'headers = ["Referer: x"]\n') == [
        'sources[0].headers: must be a table of strings, such as { Referer = "https://…/" }'
        ' (source "a")'
    ]


def test_check_command_lists_every_problem_and_exits_2(write_config: WriteConfig) -> None:
    path = write_config('[fetch]\ntimeout = "soon"\n[[sources]]\nid = "X"\nurl = "a.xml"\n')
    result = run_cli("check", path)
    assert result.returncode == 2
    assert "fetch.timeout: not a duration" in result.stderr
    assert "sources[0].id: 'X' must match" in result.stderr


def test_an_unknown_event_loop_is_refused_naming_the_variable() -> None:
    result = run_cli("check", ROOT / "config.toml", env={"AGGREGATOR_EVENT_LOOP": "trio"})
    assert result.returncode == 2
    assert "AGGREGATOR_EVENT_LOOP: 'trio' is not one of auto, uvloop, asyncio" in result.stderr


def test_check_command_accepts_the_shipped_config() -> None:
    result = run_cli("check", ROOT / "config.toml")
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout
    assert "warning" not in result.stderr


def test_check_warns_of_an_interval_under_a_minute(write_config: WriteConfig) -> None:
    """`1ms` for `1m` is valid, and would ask the upstream again as soon as a fetch ends."""
    path = write_config(
        '[fetch]\ninterval = "1ms"\n[[sources]]\nid = "a"\nurl = "http://a.example/f.xml"\n'
        'interval = "10m"\n[[sources]]\nid = "b"\nurl = "http://b.example/f.xml"\n'
        '[[sources]]\nid = "off"\nurl = "http://c.example/f.xml"\nenabled = false\n'
        '[[sources]]\nid = "d"\nurl = "http://d.example/f.xml"\n'
        '[[sources]]\nid = "e"\nurl = "http://e.example/f.xml"\ninterval = "5s"\n'
    )
    result = run_cli("check", path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: fetch.interval: 0.001s is under a minute: 2 sources taking it are asked "
        "again that often",
        "warning: sources[4].interval: 5s is under a minute: http://e.example/f.xml is "
        "asked again that often",
    ], "one line for the sources that take fetch.interval, one for each setting its own"
    alone = write_config('[fetch]\ninterval = "30s"\n[[sources]]\nid = "a"\nurl = "a.xml"\n'
                         'interval = "10m"\n')  # fmt: skip
    assert run_cli("check", alone).stderr == "", "no source takes it: nothing to warn of"


def test_check_warns_of_no_sources_and_of_a_channel_selecting_none(
    write_config: WriteConfig,
) -> None:
    """An empty file is valid TOML, and a channel's tags are compared as written: both
    publish nothing, without a word until now."""
    assert run_cli("check", write_config("")).stderr.splitlines() == [
        "warning: sources: none configured: nothing is fetched or published"
    ]
    path = write_config(
        '[[sources]]\nid = "a"\nurl = "http://a.example/f.xml"\ntags = ["Hanzhong"]\n'
        '[[feeds]]\nid = "news"\ntags = ["hanzhong"]\n'
    )
    result = run_cli("check", path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        'warning: feeds[0]: "news" selects no source, and stays empty (its tags are compared '
        "with the sources' as written, case and all)"
    ]


def _shipped_keys() -> dict[str, set[str]]:
    data = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    commented = set(re.findall(r"^#?\s*([a-z_]+)\s*=", text, flags=re.MULTILINE))
    return {
        "service": set(data["service"]) | commented,
        "fetch": set(data["fetch"]),
        "sources": set().union(*(set(s) for s in data["sources"])),
        "feeds": set().union(*(set(f) for f in data["feeds"])),
        "stories": set(data["stories"]),
    }


@pytest.mark.parametrize(
    ("table", "keys"),
    [
        ("service", SERVICE_KEYS),
        ("fetch", FETCH_KEYS),
        ("sources", SOURCE_KEYS),
        ("feeds", FEED_KEYS),
        ("stories", STORIES_KEYS),
    ],
)
def test_every_key_is_in_the_shipped_config_and_the_readme(
    table: str, keys: dict[str, str]
) -> None:
    shipped = _shipped_keys()[table]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    for key in keys:
        assert key in shipped, f"{table}.{key} missing from config.toml"
        assert f"`{table}.{key}`" in section or f"`{key}`" in section, (
            f"{table}.{key} not in README"
        )
    load_config(ROOT / "config.toml")


def test_stories_table_faults(write_config: WriteConfig) -> None:
    found = problems(
        write_config,
        MINIMAL
        + '[stories]\nmirror_hosts = ["m.example.net"]\n'
        + '[[stories.split]]\nurls = "http://x/1"\n[[stories.split]]\nurl = []\n'
        + '[[stories.withdraw]]\nurls = ["http://x/2", " "]\n',
    )
    assert sorted(found) == sorted(
        [
            "stories.mirror_hosts: must be a table of host = canonical host strings",
            "stories.split[0].urls: must be a list of strings",
            'stories.split[1].url: unknown key (did you mean "urls"?)',
            "stories.withdraw[0].urls: an empty URL matches no item",
        ]
    )
    found = problems(write_config, MINIMAL + '[stories]\nwithdraw = "http://x/1"\n')
    assert found == ["stories.withdraw: must be an array of tables ([[stories.withdraw]])"]


def _check(path: Path) -> tuple[int, list[str]]:
    """`aggregator check` as the operator runs it: its exit code and the problems it lists."""
    result = run_cli("check", path)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, [line.strip() for line in result.stderr.splitlines()]


DEEP_REGEX = "(" * 2000 + "a" + ")" * 2000


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # the default interval, rebuilt as the text "1e-05s", did not read back
        ('[fetch]\ninterval = "0.01ms"\n[[sources]]\nid = "a"\nurl = "a.xml"',
         "fetch.interval: '0.01ms' must be at least 1ms"),
        ('[[sources]]\nid = "a"\nurl = "a.xml"\ntype = "html"\n[sources.list]\n'
         "item = \"a[title='\\u0001']\"\nlink = \"a\"",
         "sources[0].list.item: not a valid CSS selector: All strings must be XML compatible"),
        ('[[sources]]\nid = "a"\nurl = "a.xml"\n[sources.article]\n'
         'title = { css = "a", regex = "(a{99999999999})" }',
         "sources[0].article.title.regex: not a valid regular expression: the repetition"),
        (f'[[sources]]\nid = "a"\nurl = "a.xml"\n[sources.article]\n'
         f'title = {{ css = "a", regex = "{DEEP_REGEX}" }}',
         "sources[0].article.title.regex: not a valid regular expression: groups nested too"),
        ("a = " + "[" * 5000 + "]" * 5000,
         "not valid TOML: arrays or inline tables nested too deeply"),
        # ids: `$` matched before a final line break, and the id went into URLs
        ('[[sources]]\nid = "abc\\n"\nurl = "a.xml"', "sources[0].id: 'abc\\n' must match"),
        ('[[feeds]]\nid = "f\\n"', "feeds[0].id: 'f\\n' must match [a-z0-9_-]+"),
        # nothing: every fetch times out, every body is too big, every item is pruned
        ('[fetch]\ntimeout = "0s"', "fetch.timeout: '0s' must be more than zero"),
        ('[fetch]\nmax_bytes = "0B"', "fetch.max_bytes: '0B' must be at least 1 byte"),
        ('[fetch]\nretention = "0s"', "fetch.retention: '0s' must be more than zero"),
        ('[fetch]\ninterval = "0m"', "fetch.interval: '0m' must be more than zero"),
        ('[[sources]]\nid = "a"\nurl = "a.xml"\ninterval = "0h"',
         "sources[0].interval: '0h' must be more than zero"),
        # `serve` failed with "Unknown error -2", every other command on the config's folder
        ('[service]\nhost = "no such host!"',
         "service.host: 'no such host!' is not a host name or an IP address"),
        ('[service]\nadmin_host = "a b"', "service.admin_host: 'a b' is not a host name"),
        ('[service]\ndatabase = ""', "service.database: '' must name a file"),
    ],
)  # fmt: skip
def test_check_lists_what_used_to_pass_or_crash(
    write_config: WriteConfig, text: str, problem: str
) -> None:
    code, lines = _check(write_config(text))
    assert code == 2, lines
    assert any(line.startswith(problem) for line in lines), (problem, lines)


def test_zero_cache_lifetime_and_listening_hosts_are_accepted(write_config: WriteConfig) -> None:
    path = write_config(
        '[service]\nhost = "0.0.0.0"\nadmin_host = "::1"\nadmin_port = 8090\n'
        'cache_max_age = "0s"\n[[sources]]\nid = "a"\nurl = "a.xml"\n'
    )
    assert _check(path)[0] == 0
    config = load_config(path)
    assert (config.service.host, config.service.cache_max_age) == ("0.0.0.0", 0.0)


def test_a_selector_table_reports_every_fault_at_once(write_config: WriteConfig) -> None:
    found = problems(
        write_config,
        '[[sources]]\nid = "a"\nurl = "a.xml"\ntype = "html"\n[sources.list]\n'
        'item = { css = "div..x", regex = "(", attr = "", foo = 1 }\nlink = "a"\n'
        '[[sources]]\nid = ""\nurl = "b.xml"\n[[sources]]\nurl = "c.xml"\n',
    )
    assert [p.split(":")[0] for p in found] == [
        "sources[0].list.item.foo",
        "sources[0].list.item.attr",
        "sources[0].list.item.regex",
        "sources[0].list.item",
        "sources[1].id",
        "sources[2].id",
    ], found
    assert found[-2:] == ["sources[1].id: must not be empty", "sources[2].id: is required"]


def test_a_byte_order_mark_is_read_and_other_encodings_are_placed(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert [s.id for s in load_config(path).sources] == ["a"]
    path.write_bytes(MINIMAL.replace("a.xml", "汉中.xml").encode("gbk"))
    code, lines = _check(path)
    assert code == 2
    assert lines[1] == (
        "not UTF-8 text: byte 0xba at line 4, column 28 (save the file as UTF-8)"
    ), lines


def test_a_log_level_is_one_of_four(write_config: WriteConfig) -> None:
    path = write_config('[service]\nlog_level = "verbose"\n')
    result = run_cli("check", path)
    assert result.returncode == 2
    assert "service.log_level: must be one of debug, info, warning, error, not 'verbose'" in (
        result.stderr
    )
    assert load_config(write_config('[service]\nlog_level = "debug"\n')).service.log_level == (
        "debug"
    )
