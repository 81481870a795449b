"""The config contract: discovery order, the environment, and one readable line (exit 2) per mistake."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel

from qjob_tui.cli import build_parser, main, with_server_overrides
from qjob_tui.config import (
    DEFAULT_API_URL,
    Config,
    ConfigError,
    check_server_exposure,
    is_loopback,
    load_settings,
    read_config,
)
from qjob_tui.configfile import EXAMPLE_JOB, render_example

from .conftest import UserEnv

JOB = "0d6e3c5a-1f0b-4c55-9d7e-2b1a4f9c8e11"
ENV = "7a1f0c2e-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
TOKEN = "qov_test_4f0c1d2e3b4a5968"


def error_line(code: int, capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a user sees for a mistake: exit 2, `qjob-tui: ...` on stderr, nothing else."""
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert captured.out == ""
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("qjob-tui: ")
    return lines[0]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def with_token(monkeypatch: pytest.MonkeyPatch, user_env: UserEnv) -> UserEnv:
    monkeypatch.setenv("QOVERY_API_KEY", TOKEN)
    return user_env


# -- missing config ---------------------------------------------------------------------------------


def test_no_config_anywhere_says_where_it_looked_and_points_at_demo(
    with_token: UserEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    line = error_line(main([]), capsys)
    assert "no config file" in line
    assert "qjob-tui.yaml" in line
    assert str(with_token.user_config) in line
    assert "--demo" in line
    assert "config.example.yaml" in line


def test_missing_explicit_config_names_the_file_and_points_at_demo(
    with_token: UserEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    line = error_line(main(["--config", "nowhere.yaml"]), capsys)
    assert "nowhere.yaml" in line
    assert "no such config file" in line
    assert "--demo" in line
    assert "config.example.yaml" in line


def test_missing_config_named_by_the_variable_names_the_variable(
    with_token: UserEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QJOB_TUI_CONFIG", str(with_token.work / "gone.yaml"))
    line = error_line(main([]), capsys)
    assert "gone.yaml" in line
    assert "QJOB_TUI_CONFIG" in line


def test_config_path_that_is_a_directory(with_token: UserEnv, capsys: pytest.CaptureFixture[str]) -> None:
    (with_token.work / "conf.d").mkdir()
    line = error_line(main(["--config", "conf.d"]), capsys)
    assert "conf.d" in line
    assert "directory" in line


# -- one mistake, one line --------------------------------------------------------------------------


# Each mistake in a config file, and the whole line the user reads for it: the file, the key, why, what to do.
MISTAKES = [
    pytest.param(
        f"jobs:\n  - id: {JOB}\n    name: [unclosed\nserver: {{}}\n",
        "c.yaml: YAML syntax error at line 4, column 7: did not find expected ',' or ']'",
        id="yaml-syntax",
    ),
    pytest.param(  # YAML lets the second win silently: a whole server: section could vanish
        "server:\n  rest_port: 8181\njobs: []\nserver:\n  host: 127.0.0.1\n",
        "c.yaml: YAML error at line 4, column 1: duplicate key 'server' (the second would override the first)",
        id="key-twice",
    ),
    pytest.param(
        f"jobs:\n  - id: {JOB}\n    name: a\n    name: b\n",
        "c.yaml: YAML error at line 4, column 5: duplicate key 'name' (the second would override the first)",
        id="key-twice-in-a-job",
    ),
    pytest.param(
        "qovery:\n  timout_s: 5\n",
        "c.yaml: qovery.timout_s: unknown key (did you mean timeout_s?); config.example.yaml lists every key",
        id="unknown-key",
    ),
    pytest.param(
        f"job:\n  - id: {JOB}\n",
        "c.yaml: job: unknown key (did you mean jobs?); config.example.yaml lists every key",
        id="unknown-top-level-key",
    ),
    pytest.param(
        f"jobs:\n  - id: {JOB}\n    nmae: backup\n",
        "c.yaml: jobs[0].nmae: unknown key (did you mean name?); config.example.yaml lists every key",
        id="unknown-key-in-a-job",
    ),
    *(
        pytest.param(
            f"jobs:\n  - id: {JOB}\n  - id: '{bad}'\n",
            f"c.yaml: jobs[1].id: {bad!r} is not a UUID (copy the id from the Qovery console or `qjob-tui init`)",
            id=f"job-id-{bad or 'empty'}",
        )
        for bad in ("nightly-backup", "0d6e3c5a-1f0b-4c55-9d7e", "../0d6e3c5a", "")
    ),
    pytest.param(
        "jobs:\n  - name: nightly\n", "c.yaml: jobs[0].id: required key is missing", id="job-without-id"
    ),
    pytest.param(
        "environments: [production]\n",
        "c.yaml: environments: 'production' is not an environment UUID",
        id="environment-id",
    ),
    pytest.param(  # whatever the case: one job, one spelling
        f"jobs:\n  - id: {JOB}\n  - id: {JOB.upper()}\n",
        f"c.yaml: jobs[1]: job {JOB} is listed twice; remove one of the entries",
        id="duplicate-job",
    ),
    *(
        pytest.param(
            f"server:\n  {key}: {value}\n",
            f"c.yaml: server.{key}: {value} is out of range; a port is 1 to 65535",
            id=f"{key}-{value}",
        )
        for key, value in (("rest_port", 70000), ("mcp_port", 0), ("rest_port", -1))
    ),
    pytest.param(
        "server:\n  mcp_port: ninety\n",
        "c.yaml: server.mcp_port: 'ninety' is not valid: must be a valid integer, unable to parse string as an "
        "integer",
        id="port-not-a-number",
    ),
    pytest.param(
        "qovery:\n  token_env: ACME_QOVERY_TOKEN\n",
        "$ACME_QOVERY_TOKEN is not set (named by qovery.token_env in c.yaml): export your Qovery API token in "
        "it (Qovery console > Organization settings > API tokens), or try `qjob-tui --demo`",
        id="custom-token-variable-unset",
    ),
    pytest.param(
        "qovery:\n  token_env: qov_2bXk7c9Tq1Lm4Np8Rs3Vw6Yz0AbCdEf\n",  # the token itself, not a variable's name
        "qovery.token_env in c.yaml does not look like the name of an environment variable (is it the token "
        "itself? it is not shown): put the variable's name there, e.g. QOVERY_API_KEY, and export your Qovery "
        "API token in that variable",
        id="token-written-into-token-env-is-not-shown",
    ),
    pytest.param(
        "ui:\n  confirm: [stop, nuke]\n",
        "c.yaml: ui.confirm: 'nuke' is not an action; use deploy, redeploy, stop, uninstall, clean-failed",
        id="confirm-action",
    ),
    pytest.param(
        "server:\n  approve: [uninstall, delete]\n",
        "c.yaml: server.approve: 'delete' is not an action; use deploy, redeploy, stop, uninstall, clean-failed",
        id="approve-action",
    ),
    pytest.param(
        "server:\n  approve: uninstall\n",
        "c.yaml: server.approve: 'uninstall' is not valid: must be a valid list",
        id="approve-not-a-list",
    ),
    pytest.param(
        "server:\n  approve_timeout_s: 0\n",
        "c.yaml: server.approve_timeout_s: 0 is out of range: must be greater than 0",
        id="approve-timeout-zero",
    ),
    pytest.param(
        "server:\n  approve_timeout_s: 7200\n",
        "c.yaml: server.approve_timeout_s: 7200 is out of range: must be less than or equal to 3600",
        id="approve-timeout-too-long",
    ),
    pytest.param(
        "qovery:\n  auth_scheme: jwt\n",
        "c.yaml: qovery.auth_scheme: 'jwt' is not valid: must be 'auto', 'token' or 'bearer'",
        id="auth-scheme",
    ),
    pytest.param(
        "qovery:\n  timeout_s: 0\n",
        "c.yaml: qovery.timeout_s: 0 is out of range: must be greater than 0",
        id="timeout",
    ),
    pytest.param(
        f"- {JOB}\n",
        "c.yaml: the top level must be a mapping with keys like qovery:, jobs:, server:",
        id="top-level-list",
    ),
    pytest.param(
        "qovery:\n  api_url: api.qovery.com\n",
        "c.yaml: qovery.api_url: must start with https:// (or http:// for a local stand-in)",
        id="api-url-scheme",
    ),
    pytest.param(  # a few hundred bytes that expand to 10^9 values: 20 s and 1.7 GB, then a 580 MB error
        "".join(
            f"{name}: &{name} [{', '.join([f'*{prev}' if prev else '{x: 1}'] * 9)}]\n"
            for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
        ),
        "c.yaml: YAML error: its aliases expand to more than 10,000 values; write the values out instead",
        id="alias-bomb",
    ),
    pytest.param(
        "qovery: &loop\n  timeout_s: *loop\n",
        "c.yaml: YAML error: an alias refers to a value that holds it; write the values out instead",
        id="alias-to-itself",
    ),
    pytest.param(  # the value is shown cut short, on one line, whatever its size
        "qovery:\n  timeout_s: [" + ", ".join(["[1, 2, 3, 4, 5, 6]"] * 3000) + "]\n",
        "c.yaml: qovery.timeout_s: [[1, 2, 3, 4, ...], [1, 2, 3, 4, ...], [1, 2, 3, 4, ...], [1, 2, 3, 4, ...], ...]"
        " is not valid: must be a valid number",
        id="a-huge-value-shown-short",
    ),
]


@pytest.mark.parametrize(("text", "expected"), MISTAKES)
def test_a_config_mistake_is_one_line_naming_the_file_and_the_key(
    text: str, expected: str, with_token: UserEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    write(with_token.work / "c.yaml", text)
    assert error_line(main(["--config", "c.yaml"]), capsys) == f"qjob-tui: {expected}"


def test_anchors_and_aliases_that_repeat_a_value_are_fine(with_token: UserEnv) -> None:
    path = write(
        with_token.work / "c.yaml",
        f"environments: []\njobs:\n  - &job {{id: {JOB}, name: nightly}}\nui:\n  confirm: &gated [stop, uninstall]\n"
        "server:\n  approve: *gated\n",
    )
    config = read_config(path)
    assert config.ui.confirm == config.server.approve == ["stop", "uninstall"]


@pytest.mark.parametrize("value", ["70000", "-1", "http"])
def test_rest_port_flag_out_of_range(
    value: str, with_token: UserEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    write(with_token.work / "qjob-tui.yaml", "jobs: []\n")
    line = error_line(main(["--rest-port", value]), capsys)
    assert "--rest-port" in line
    assert value in line


def test_unknown_flag_is_a_usage_error(with_token: UserEnv, capsys: pytest.CaptureFixture[str]) -> None:
    line = error_line(main(["--deom"]), capsys)
    assert line == "qjob-tui: unrecognized arguments: --deom (see qjob-tui --help)"


def test_serve_and_server_are_exclusive(with_token: UserEnv, capsys: pytest.CaptureFixture[str]) -> None:
    # Refused by argparse before anything starts: were they not exclusive, this would serve and never return.
    line = error_line(main(["--serve", "--server", "--demo"]), capsys)
    assert line == "qjob-tui: argument --server: not allowed with argument --serve (see qjob-tui --help)"


@pytest.mark.parametrize("value", [None, "   ", "\n"], ids=["unset", "blank", "newline"])
def test_a_missing_or_blank_token_names_the_variable_and_points_at_demo(
    value: str | None, user_env: UserEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if value is not None:
        monkeypatch.setenv("QOVERY_API_KEY", value)
    write(user_env.work / "qjob-tui.yaml", f"jobs:\n  - id: {JOB}\n")
    assert error_line(main([]), capsys) == (
        "qjob-tui: $QOVERY_API_KEY is not set: export your Qovery API token in it (Qovery console > "
        "Organization settings > API tokens), or try `qjob-tui --demo`"
    )


@pytest.mark.parametrize(
    "token", ["qov_first\nqov_second", "qov_pasted with space", "qov_t\u00f6ken", "qov_\x07bell"]
)
def test_token_that_no_header_can_carry_is_refused_without_showing_it(
    token: str, user_env: UserEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QOVERY_API_KEY", token)
    write(user_env.work / "qjob-tui.yaml", "jobs: []\n")
    line = error_line(main([]), capsys)
    assert "QOVERY_API_KEY holds a character no Qovery token has" in line
    assert "qov_" not in line


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1", "not a valid URL"),
        ("https://api.qovery.com:99999", "not a valid URL"),
        ("https://api.qovery.com:port", "not a valid URL"),
        ("https://", "host name"),
        ("https://api .qovery.com", "host name"),
        ("https://api.qovery.com/?org=1", "query"),
        ("https://ops:hunter2@api.qovery.com", "must not carry a user name or password"),
    ],
)
def test_api_url_that_cannot_be_used_is_refused_at_start(
    url: str,
    reason: str,
    with_token: UserEnv,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write(with_token.work / "c.yaml", f"qovery:\n  api_url: '{url}'\n")
    line = error_line(main(["--config", "c.yaml"]), capsys)
    assert "qovery.api_url" in line
    assert reason in line
    write(with_token.work / "qjob-tui.yaml", "jobs: []\n")
    monkeypatch.setenv("QOVERY_API_URL", url)
    line = error_line(main([]), capsys)
    assert "QOVERY_API_URL" in line
    assert reason in line
    assert "hunter2" not in line


@pytest.mark.parametrize("mode", ["--serve", "--server"])
def test_serving_beyond_loopback_needs_the_server_token(
    mode: str, with_token: UserEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    write(with_token.work / "qjob-tui.yaml", "jobs: []\n")
    line = error_line(main([mode, "--host", "0.0.0.0"]), capsys)
    assert "0.0.0.0" in line
    assert "QJOB_TUI_SERVER_TOKEN" in line


def test_serving_beyond_loopback_from_the_config_needs_the_server_token(
    with_token: UserEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    write(with_token.work / "qjob-tui.yaml", "server:\n  host: 192.168.1.20\n")
    line = error_line(main(["--serve"]), capsys)
    assert "192.168.1.20" in line
    assert "QJOB_TUI_SERVER_TOKEN" in line


def test_demo_serving_beyond_loopback_needs_the_server_token_too(
    user_env: UserEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    line = error_line(main(["--demo", "--serve", "--host", "::"]), capsys)
    assert "QJOB_TUI_SERVER_TOKEN" in line


def test_server_token_allows_listening_beyond_loopback() -> None:
    from pydantic import SecretStr

    check_server_exposure("0.0.0.0", SecretStr("a-long-random-secret"))
    with pytest.raises(ConfigError, match="QJOB_TUI_SERVER_TOKEN"):
        check_server_exposure("0.0.0.0", None)
    check_server_exposure("127.0.0.1", None)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("example.test", False),
        ("localhost.example.test", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    "url",
    [TOKEN, f"ftp://{TOKEN}@nowhere", f"https://api.qovery.com/?token={TOKEN}"],
    ids=["the-token", "in-the-host", "in-the-query"],
)
def test_a_token_pasted_into_the_url_variable_is_not_shown_back(
    url: str, user_env: UserEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QOVERY_API_KEY", TOKEN)
    monkeypatch.setenv("QOVERY_API_URL", url)
    with pytest.raises(ConfigError) as caught:
        load_settings(str(write(user_env.work / "c.yaml", "jobs: []\n")))
    assert str(caught.value).startswith("$QOVERY_API_URL: its value ")
    assert TOKEN not in str(caught.value)


def test_a_url_variable_without_the_token_is_quoted_to_say_what_is_wrong(
    user_env: UserEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QOVERY_API_KEY", TOKEN)
    monkeypatch.setenv("QOVERY_API_URL", "ftp://nowhere")
    with pytest.raises(ConfigError) as caught:
        load_settings(str(write(user_env.work / "c.yaml", "jobs: []\n")))
    assert str(caught.value) == (
        "$QOVERY_API_URL: 'ftp://nowhere' must start with https:// (or http:// for a local stand-in)"
    )


# -- discovery order and the environment -----------------------------------------------------------


def config_naming(url: str) -> str:
    return f"qovery:\n  api_url: {url}\n"


def test_discovery_order(user_env: UserEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """--config, then $QJOB_TUI_CONFIG, then ./qjob-tui.yaml, then the user config dir."""
    monkeypatch.setenv("QOVERY_API_KEY", TOKEN)
    explicit = write(user_env.home / "explicit.yaml", config_naming("https://explicit.test"))
    named = write(user_env.home / "named.yaml", config_naming("https://named.test"))
    local = write(user_env.work / "qjob-tui.yaml", config_naming("https://local.test"))
    user = write(user_env.user_config, config_naming("https://user.test"))
    monkeypatch.setenv("QJOB_TUI_CONFIG", str(named))

    found = load_settings(str(explicit))
    assert (found.path, found.api_url) == (explicit, "https://explicit.test")

    found = load_settings()
    assert (found.path, found.api_url) == (named, "https://named.test")

    monkeypatch.delenv("QJOB_TUI_CONFIG")
    found = load_settings()
    assert found.path is not None and found.path.resolve() == local
    assert found.api_url == "https://local.test"

    local.unlink()
    found = load_settings()
    assert (found.path, found.api_url) == (user, "https://user.test")

    user.unlink()
    with pytest.raises(ConfigError, match="no config file"):
        load_settings()


def test_config_path_with_tilde_is_expanded(user_env: UserEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QOVERY_API_KEY", TOKEN)
    path = write(user_env.home / "qjob.yaml", config_naming("https://home.test"))
    assert load_settings("~/qjob.yaml").path == path


def test_api_url_variable_overrides_the_config(user_env: UserEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QOVERY_API_KEY", TOKEN)
    write(user_env.work / "qjob-tui.yaml", config_naming("https://from-config.test"))
    assert load_settings().api_url == "https://from-config.test"
    monkeypatch.setenv("QOVERY_API_URL", "http://127.0.0.1:8999/")
    assert load_settings().api_url == "http://127.0.0.1:8999"


def test_defaults_match_the_contract(user_env: UserEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QOVERY_API_KEY", f"  {TOKEN}\n")
    write(user_env.work / "qjob-tui.yaml", "")
    settings = load_settings()
    config = settings.config
    assert settings.api_url == DEFAULT_API_URL == "https://api.qovery.com"
    assert settings.qovery_token.get_secret_value() == TOKEN  # stray whitespace is not part of the token
    assert TOKEN not in repr(settings)
    assert (config.qovery.token_env, config.qovery.auth_scheme) == ("QOVERY_API_KEY", "auto")
    assert (config.qovery.timeout_s, config.qovery.poll_interval_s) == (30, 10)
    assert (config.server.host, config.server.rest_port, config.server.mcp_port) == ("127.0.0.1", 8080, 9090)
    assert config.server.allow_unlisted_jobs is False
    assert (config.server.approve, config.server.approve_timeout_s) == ([], 120)  # nothing gated by default
    assert config.ui.confirm == ["stop", "uninstall"]
    assert settings.audit_path == user_env.state_home / "qjob-tui" / "audit.jsonl"
    assert settings.server_token is None


def test_token_comes_from_the_configured_variable(user_env: UserEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_QOVERY_TOKEN", TOKEN)
    write(user_env.work / "qjob-tui.yaml", "qovery:\n  token_env: ACME_QOVERY_TOKEN\n")
    assert load_settings().qovery_token.get_secret_value() == TOKEN


def test_server_token_comes_from_the_environment(user_env: UserEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QOVERY_API_KEY", TOKEN)
    monkeypatch.setenv("QJOB_TUI_SERVER_TOKEN", "  inbound-secret-0123456789  ")
    write(user_env.work / "qjob-tui.yaml", "")
    server_token = load_settings().server_token
    assert server_token is not None and server_token.get_secret_value() == "inbound-secret-0123456789"


@pytest.mark.parametrize(
    "weak", ["short", "has a space in it 0123", "tab\tinside-0123456789", "nön-ascii-0123456789"]
)
def test_a_weak_or_malformed_server_token_is_refused_without_showing_it(
    user_env: UserEnv, monkeypatch: pytest.MonkeyPatch, weak: str
) -> None:
    monkeypatch.setenv("QOVERY_API_KEY", TOKEN)
    monkeypatch.setenv("QJOB_TUI_SERVER_TOKEN", weak)
    write(user_env.work / "qjob-tui.yaml", "")
    with pytest.raises(ConfigError, match="QJOB_TUI_SERVER_TOKEN must be at least 16") as refused:
        load_settings()
    assert weak not in str(refused.value)


def test_demo_needs_neither_config_nor_token(user_env: UserEnv) -> None:
    settings = load_settings(demo=True)
    assert settings.demo
    assert settings.path is None
    assert settings.config.jobs == []


def test_demo_ignores_a_discovered_config_but_reads_an_explicit_one(user_env: UserEnv) -> None:
    # A discovered config names real jobs, which the simulator does not have.
    write(user_env.work / "qjob-tui.yaml", f"jobs:\n  - id: {JOB}\n")
    assert load_settings(demo=True).config.jobs == []
    explicit = write(user_env.work / "demo.yaml", "ui:\n  confirm: [uninstall]\n")
    settings = load_settings("demo.yaml", demo=True)
    assert settings.config.ui.confirm == ["uninstall"]
    assert settings.path is not None and settings.path.resolve() == explicit


def test_full_config_is_read_as_written(tmp_path: Path) -> None:
    path = write(
        tmp_path / "full.yaml",
        f"""
qovery:
  api_url: https://api.qovery.com/
  token_env: QOVERY_API_KEY
  auth_scheme: token
  timeout_s: 12.5
  poll_interval_s: 5
jobs:
  - id: {JOB.upper()}
    name: nightly-backup
    environment: {ENV}
environments: [{ENV}]
server:
  host: 127.0.0.1
  rest_port: 8181
  mcp_port: 9191
  allow_unlisted_jobs: true
ui:
  confirm: [stop, uninstall, clean-failed]
  keys: {{deploy: x, uninstall: U}}
audit:
  path: {tmp_path / "audit.jsonl"}
""",
    )
    config = read_config(path)
    assert config.qovery.api_url == "https://api.qovery.com"
    assert config.qovery.auth_scheme == "token"
    assert config.jobs[0].id == JOB  # ids are kept lower-case: one job, one spelling
    assert config.jobs[0].name == "nightly-backup"
    assert config.environments == [ENV]
    assert (config.server.rest_port, config.server.mcp_port, config.server.allow_unlisted_jobs) == (
        8181,
        9191,
        True,
    )
    assert config.ui.keys == {"deploy": "x", "uninstall": "U"}
    assert config.audit.path == tmp_path / "audit.jsonl"


def test_flags_override_the_server_section(user_env: UserEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QOVERY_API_KEY", TOKEN)
    write(
        user_env.work / "qjob-tui.yaml", "server:\n  host: 127.0.0.1\n  rest_port: 8181\n  mcp_port: 9191\n"
    )
    settings = load_settings()
    assert with_server_overrides(settings, None, None, None) is settings
    changed = with_server_overrides(settings, "localhost", 0, 9292).config.server
    assert (changed.host, changed.rest_port, changed.mcp_port) == ("localhost", 0, 9292)
    only_rest = with_server_overrides(settings, None, 8282, None).config.server
    assert (only_rest.host, only_rest.rest_port, only_rest.mcp_port) == ("127.0.0.1", 8282, 9191)


def test_read_only_comes_from_the_flag_or_the_config_and_the_flag_cannot_undo_the_config(
    user_env: UserEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QOVERY_API_KEY", TOKEN)
    path = user_env.work / "qjob-tui.yaml"
    write(path, "jobs: []\n")
    settings = load_settings()
    assert settings.config.server.read_only is False
    args = build_parser().parse_args(["--read-only", "--server"])
    flagged = with_server_overrides(settings, None, None, None, read_only=args.read_only)
    assert flagged.config.server.read_only is True
    write(path, "server:\n  read_only: true\n")
    from_file = load_settings()
    assert with_server_overrides(from_file, None, None, None, read_only=False).config.server.read_only


# -- through a real process: the user sees one line, never a traceback ------------------------------


def run_cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qjob_tui", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def process_env(user_env: UserEnv, **extra: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("QOVERY_", "QJOB_TUI_"))}
    env.update(
        HOME=str(user_env.home),
        XDG_CONFIG_HOME=str(user_env.config_home),
        XDG_STATE_HOME=str(user_env.state_home),
    )
    env.update(extra)
    return env


@pytest.mark.parametrize(
    ("files", "args", "extra", "expected"),
    [
        ({}, [], {}, "no config file found"),
        ({"c.yaml": "jobs:\n  - id: [\n"}, ["--config", "c.yaml"], {}, "YAML syntax error"),
        ({"c.yaml": "qovery:\n  timout_s: 5\n"}, ["--config", "c.yaml"], {}, "qovery.timout_s: unknown key"),
        ({"qjob-tui.yaml": "jobs: []\n"}, [], {}, "QOVERY_API_KEY is not set"),
        (
            {"qjob-tui.yaml": "jobs: []\n"},
            ["--serve", "--host", "0.0.0.0"],
            {"QOVERY_API_KEY": TOKEN},
            "QJOB_TUI_SERVER_TOKEN",
        ),
        ({}, ["--mcp-port", "65536"], {}, "--mcp-port"),
        # stdin is no terminal here: the dashboard ran on, drawing into a pipe, until something killed it
        ({}, ["--demo"], {}, "the dashboard needs a terminal"),
        ({}, ["--demo", "--server", "--rest-port", "0", "--mcp-port", "0"], {}, "use --serve"),
    ],
    ids=[
        "no-config",
        "yaml",
        "unknown-key",
        "no-token",
        "public-host",
        "port-flag",
        "no-tty",
        "no-tty-server",
    ],
)
def test_a_real_process_prints_one_line_and_exits_2(
    files: dict[str, str], args: list[str], extra: dict[str, str], expected: str, user_env: UserEnv
) -> None:
    for name, text in files.items():
        write(user_env.work / name, text)
    result = run_cli(args, user_env.work, process_env(user_env, **extra))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("qjob-tui: ")
    assert expected in lines[0]
    assert TOKEN not in result.stderr


def test_version_flag(user_env: UserEnv) -> None:
    from qjob_tui import __version__

    result = run_cli(["--version"], user_env.work, process_env(user_env))
    assert result.returncode == 0
    assert result.stdout.strip() == f"qjob-tui {__version__}"


# -- config.example.yaml: generated from the model's descriptions ------------------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"


def test_config_example_is_exactly_what_the_model_renders() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == render_example(), (
        "config.example.yaml is generated from the descriptions in qjob_tui/config.py; regenerate it: "
        "python -m qjob_tui.configfile > config.example.yaml"
    )
    assert read_config(EXAMPLE) == Config(jobs=[EXAMPLE_JOB])  # every other key at the model's default


def every_key(model: type[BaseModel] = Config, prefix: str = "") -> list[tuple[str, type[BaseModel], str]]:
    """(dotted key, model, field name) for every key of the config, nested sections and job items included."""
    found = []
    for name, info in model.model_fields.items():
        found.append((prefix + name, model, name))
        inner = next((t for t in (info.annotation, *get_args(info.annotation)) if isinstance(t, type)), None)
        if inner is not None and issubclass(inner, BaseModel):
            found += every_key(inner, f"{prefix}{name}.")
    return found


@pytest.mark.parametrize(("key", "model", "name"), every_key(), ids=[key for key, _, _ in every_key()])
def test_every_key_is_described_and_the_example_says_so(key: str, model: type[BaseModel], name: str) -> None:
    description = model.model_fields[name].description
    assert description, f"{key}: give it a description= in qjob_tui/config.py"
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    explained = [line for line in lines if "#" in line and description[:30] in line.split("#", 1)[1]]
    assert explained, f"{key}: its description is not in config.example.yaml"
