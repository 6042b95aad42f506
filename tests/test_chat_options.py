"""Chat options and defaults: validation, settings.llm, environment, base URLs, message order."""

from __future__ import annotations

from typing import Any

import pytest

from kdeps_expr.actions.chat import (
    ChatRequest,
    ChatService,
    LLMSettings,
    Message,
    OptionError,
    Sampling,
    validate_option,
)
from kdeps_expr.errors import ActionError


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("backend", "ollama", "ollama"),
        ("timeout", "1m30s", 90.0),
        ("timeoutDuration", "250ms", 0.25),
        ("temperature", 0, 0),
        ("temperature", 1.5, 1.5),
        ("topP", 0.9, 0.9),
        ("maxTokens", 256, 256),
        ("seed", -7, -7),
        ("streaming", True, True),
        ("jsonResponse", "true", True),
        ("jsonResponse", "false", False),
        ("jsonResponseKeys", ["answer", "score"], ("answer", "score")),
        ("role", "system", "system"),
        ("contextLength", 8192, 8192),
        ("frequencyPenalty", -1.5, -1.5),
        ("retries", 0, 0),
    ],
)
def test_valid_options_are_normalised(key: str, value: Any, expected: Any) -> None:
    result = validate_option(key, value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "backend",
            "olama",
            "unknown backend 'olama' (did you mean 'ollama'?); known: anthropic, echo, "
            "ollama, openai",
        ),
        (
            "backend",
            "groq",
            "backend 'groq' is not run here; it speaks OpenAI's protocol: use backend "
            "'openai' with its baseUrl",
        ),
        ("role", "bot", "unknown role 'bot'; known: assistant, system, user"),
        (
            "timeout",
            30,
            "invalid duration 30: a duration needs a unit; use one or more <number><unit> "
            "with units ms, s, m, h, d, such as '30m' or '1h30m'",
        ),
        ("timeout", "0s", "the timeout '0s' must be longer than zero"),
        ("temperature", 2.5, "2.5 is outside 0 to 2"),
        ("temperature", "hot", "expected a number from 0 to 2, got text"),
        ("temperature", True, "expected a number from 0 to 2, got a boolean"),
        ("topP", 1.1, "1.1 is outside 0 to 1"),
        ("presencePenalty", 2.5, "2.5 is outside -2 to 2"),
        ("maxTokens", 0, "0 is not at least 1"),
        ("maxTokens", 1.5, "expected a whole number, got a number 1.5"),
        ("seed", "42", "expected a whole number, got text '42'"),
        ("streaming", "yes", "expected true or false, got text 'yes'"),
        ("jsonResponseKeys", "answer", "expected a list of key names, got text 'answer'"),
        ("retries", 11, "11 is not from 0 to 10"),
        ("model", 3, "expected text, got a number 3"),
        (
            "temprature",
            0.5,
            "unknown chat option 'temprature' (did you mean 'temperature'?); known: apiKey, "
            "backend, baseUrl, contextLength, frequencyPenalty, jsonResponse, jsonResponseKeys, "
            "maxTokens, model, presencePenalty, retries, role, seed, streaming, temperature, "
            "timeout, timeoutDuration, topP",
        ),
    ],
)
def test_invalid_options_name_the_problem(key: str, value: Any, message: str) -> None:
    with pytest.raises(OptionError) as caught:
        validate_option(key, value)
    assert (caught.value.key, str(caught.value)) == (key, message)


def test_settings_llm_reads_every_key_and_ignores_kdeps_input_keys() -> None:
    settings = LLMSettings.from_mapping(
        {
            "backend": "openai",
            "baseUrl": "http://127.0.0.1:8000/v1",
            "apiKey": "sk-settings",
            "model": "qwen2.5",
            "timeout": "2m",
            "temperature": 0.2,
            "maxTokens": 100,
            "topP": 0.5,
            "seed": 1,
            "streaming": True,
            "contextLength": 4096,
            "frequencyPenalty": 0.1,
            "presencePenalty": 0.2,
            "retries": 4,
            "executionType": "stdin",
            "prompt": "> ",
            "sessionId": "abc",
        }
    )
    assert settings == LLMSettings(
        backend="openai",
        base_url="http://127.0.0.1:8000/v1",
        api_key="sk-settings",
        model="qwen2.5",
        timeout=120.0,
        sampling=Sampling(
            temperature=0.2,
            max_tokens=100,
            top_p=0.5,
            seed=1,
            context_length=4096,
            frequency_penalty=0.1,
            presence_penalty=0.2,
        ),
        streaming=True,
        retries=4,
    )
    assert "sk-settings" not in repr(settings)


def test_settings_timeout_duration_wins_over_timeout() -> None:
    settings = LLMSettings.from_mapping({"timeoutDuration": "5s", "timeout": "9s"})
    assert settings.timeout == 5.0


@pytest.mark.parametrize(
    ("mapping", "key", "message"),
    [
        (
            {"modle": "x"},
            "modle",
            "unknown key 'modle' in settings.llm (did you mean 'model'?); known: apiKey, "
            "backend, baseUrl, contextLength, frequencyPenalty, maxTokens, model, "
            "presencePenalty, retries, seed, streaming, temperature, timeout, timeoutDuration, "
            "topP",
        ),
        (
            {"timeout": "soon"},
            "timeout",
            "invalid duration 'soon': use one or more <number><unit> with units ms, s, m, h, "
            "d, such as '30m' or '1h30m'",
        ),
        (
            {"backend": "llamafile"},
            "backend",
            "unknown backend 'llamafile' (did you mean 'ollama'?); known: anthropic, echo, "
            "ollama, openai",
        ),
    ],
)
def test_bad_settings_llm(mapping: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(OptionError) as caught:
        LLMSettings.from_mapping(mapping)
    assert (caught.value.key, caught.value.message) == (key, message)


def _call(request: ChatRequest, settings: dict[str, Any] | None = None, **environ: str) -> Any:
    return ChatService(LLMSettings.from_mapping(settings), environ=environ).resolve(request)


def test_defaults_without_settings_or_environment() -> None:
    call = _call(ChatRequest("hi", "ask"))
    assert (call.backend, call.model, call.url, call.timeout, call.retries, call.streaming) == (
        "echo",
        "echo",
        "",
        60.0,
        2,
        False,
    )


@pytest.mark.parametrize(
    ("request_fields", "settings", "environ", "expected"),
    [
        pytest.param(
            {"backend": "ollama", "model": "m"},
            None,
            {},
            ("ollama", "m", "http://127.0.0.1:11434/api/chat", None),
            id="ollama-default-url",
        ),
        pytest.param(
            {"backend": "ollama", "model": "m"},
            None,
            {"OLLAMA_HOST": "gpu-box:9999"},
            ("ollama", "m", "http://gpu-box:9999/api/chat", None),
            id="ollama-host-env",
        ),
        pytest.param(
            {"model": "m"},
            None,
            {"KDEPS_DEFAULT_BACKEND": "openai", "OPENAI_API_KEY": "sk-env"},
            ("openai", "m", "https://api.openai.com/v1/chat/completions", "sk-env"),
            id="backend-from-environment",
        ),
        pytest.param(
            {"backend": "openai", "model": "m"},
            None,
            {"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1", "OPENAI_API_KEY": "sk-env"},
            ("openai", "m", "http://127.0.0.1:8000/v1/chat/completions", "sk-env"),
            id="openai-base-env",
        ),
        pytest.param(
            {"backend": "anthropic", "model": "claude"},
            None,
            {"ANTHROPIC_API_KEY": "sk-ant"},
            ("anthropic", "claude", "https://api.anthropic.com/v1/messages", "sk-ant"),
            id="anthropic-defaults",
        ),
        pytest.param(
            {},
            {"backend": "openai", "model": "s", "baseUrl": "http://h:1", "apiKey": "sk-s"},
            {"OPENAI_API_KEY": "sk-env", "OPENAI_BASE_URL": "http://env:2"},
            ("openai", "s", "http://h:1/v1/chat/completions", "sk-s"),
            id="settings-before-environment",
        ),
        pytest.param(
            {"model": "r", "base_url": "http://r:3", "api_key": "sk-r"},
            {"backend": "openai", "model": "s", "baseUrl": "http://h:1", "apiKey": "sk-s"},
            {},
            ("openai", "r", "http://r:3/v1/chat/completions", "sk-r"),
            id="resource-before-settings",
        ),
        pytest.param(
            {"model": "", "api_key": ""},
            {"backend": "openai", "model": "s", "apiKey": "sk-s"},
            {},
            ("openai", "s", "https://api.openai.com/v1/chat/completions", "sk-s"),
            id="empty-text-is-not-set",
        ),
        pytest.param(
            {"backend": "anthropic", "model": "claude"},
            {"backend": "openai", "model": "s", "baseUrl": "http://h:1", "apiKey": "sk-s"},
            {"ANTHROPIC_API_KEY": "sk-ant"},
            ("anthropic", "claude", "https://api.anthropic.com/v1/messages", "sk-ant"),
            id="settings-connection-stays-with-its-backend",
        ),
        pytest.param(
            {"backend": "openai"},
            {"model": "shared", "baseUrl": "http://one:1/v1"},
            {},
            ("openai", "shared", "http://one:1/v1/chat/completions", None),
            id="settings-without-backend-apply-to-all",
        ),
    ],
)
def test_resolution_order(
    request_fields: dict[str, Any],
    settings: dict[str, Any] | None,
    environ: dict[str, str],
    expected: tuple[Any, ...],
) -> None:
    call = _call(ChatRequest("hi", "ask", **request_fields), settings, **environ)
    assert (call.backend, call.model, call.url, call.api_key) == expected


def test_options_come_from_the_resource_then_settings() -> None:
    settings = {"temperature": 0.1, "maxTokens": 50, "timeout": "3s", "streaming": True}
    request = ChatRequest("hi", "ask", timeout=1.5, sampling=Sampling(temperature=0.9, seed=3))
    call = _call(request, settings)
    assert (call.sampling, call.timeout, call.streaming) == (
        Sampling(temperature=0.9, max_tokens=50, seed=3),
        1.5,
        True,
    )


@pytest.mark.parametrize(
    ("backend", "base", "url", "shown"),
    [
        ("openai", "http://h:8000", "http://h:8000/v1/chat/completions", None),
        ("openai", "http://h:8000/v1", "http://h:8000/v1/chat/completions", None),
        ("openai", "http://h:8000/v1/", "http://h:8000/v1/chat/completions", None),
        (
            "openai",
            "https://api.groq.com/openai/v1",
            "https://api.groq.com/openai/v1/chat/completions",
            None,
        ),
        ("openai", "http://h/v1/chat/completions", "http://h/v1/chat/completions", None),
        (
            "openai",
            "https://u:pw@h/v1?api-version=2",
            "https://u:pw@h/v1/chat/completions?api-version=2",
            "https://h/v1/chat/completions",
        ),
        ("anthropic", "http://h:9", "http://h:9/v1/messages", None),
        ("anthropic", "http://h:9/v1", "http://h:9/v1/messages", None),
        ("ollama", "http://localhost:11434", "http://localhost:11434/api/chat", None),
        ("ollama", "http://localhost:11434/v1", "http://localhost:11434/api/chat", None),
        ("ollama", "http://h:1/api", "http://h:1/api/chat", None),
        ("ollama", "gpu-box", "http://gpu-box:11434/api/chat", None),
        ("ollama", ":5000", "http://127.0.0.1:5000/api/chat", None),
        ("ollama", "https://ollama.example", "https://ollama.example:443/api/chat", None),
        ("ollama", "http://[::1]:7", "http://[::1]:7/api/chat", None),
    ],
)
def test_base_urls_with_or_without_version(
    backend: str, base: str, url: str, shown: str | None
) -> None:
    call = _call(ChatRequest("hi", "ask", backend=backend, model="m", base_url=base))
    assert (call.url, call.shown_url) == (url, shown or url)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"backend": "ollama"},
            "chat failed in ask: model: the ollama backend needs a model: set chat.model or "
            "settings.llm.model",
        ),
        (
            {"backend": "openai", "model": "m", "base_url": "ftp://files/v1"},
            "chat failed in ask: baseUrl: 'ftp://files/v1' is not an http or https URL",
        ),
        (
            {"backend": "openai", "model": "m", "base_url": "http://h:99999"},
            "chat failed in ask: baseUrl: 'http://h:99999' has a bad port",
        ),
        (
            {"backend": "mistral", "model": "m"},
            "chat failed in ask: backend: backend 'mistral' is not run here; it speaks "
            "OpenAI's protocol: use backend 'openai' with its baseUrl",
        ),
        (
            {"role": "robot"},
            "chat failed in ask: role: unknown role 'robot'; known: assistant, system, user",
        ),
        (
            {"scenario": (Message("narrator", "x"),)},
            "chat failed in ask: role: unknown role 'narrator'; known: assistant, system, user",
        ),
        (
            {"sampling": Sampling(temperature=3)},
            "chat failed in ask: temperature: 3 is outside 0 to 2",
        ),
        (
            {"timeout": 0.0},
            "chat failed in ask: timeout: the timeout 0.0 must be a number of seconds above 0",
        ),
    ],
)
def test_unusable_values_at_run_time_are_a_500(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ActionError) as caught:
        _call(ChatRequest("hi", "ask", **fields))
    assert (caught.value.status, str(caught.value)) == (500, message)


SCENARIO = (
    Message("system", "You are terse."),
    Message("user", "What is REST?"),
    Message("assistant", "An architectural style."),
    Message("system", "Answer in French."),
)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({}, [("user", "Question?")], id="prompt-alone"),
        pytest.param({"role": "assistant"}, [("assistant", "Question?")], id="prompt-role"),
        pytest.param(
            {"scenario": SCENARIO},
            [
                ("system", "You are terse."),
                ("system", "Answer in French."),
                ("user", "What is REST?"),
                ("assistant", "An architectural style."),
                ("user", "Question?"),
            ],
            id="scenario-before-prompt-system-first",
        ),
        pytest.param(
            {"scenario": SCENARIO[:1], "json_response": True, "json_response_keys": ("a", "b")},
            [
                ("system", "You are terse."),
                (
                    "system",
                    'Respond in JSON format: reply with one JSON object with the keys "a", "b" '
                    "and nothing else.",
                ),
                ("user", "Question?"),
            ],
            id="json-instruction-after-scenario-system",
        ),
        pytest.param(
            {"json_response": True},
            [
                ("system", "Respond in JSON format: reply with one JSON object and nothing else."),
                ("user", "Question?"),
            ],
            id="json-instruction-without-keys",
        ),
    ],
)
def test_message_order(fields: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    call = _call(ChatRequest("Question?", "ask", **fields))
    assert [(m.role, m.content) for m in call.messages] == expected


def test_an_empty_prompt_after_a_scenario_is_left_out() -> None:
    call = _call(ChatRequest("  ", "ask", scenario=SCENARIO[1:2]))
    assert [(m.role, m.content) for m in call.messages] == [("user", "What is REST?")]


def test_keys_and_passwords_stay_out_of_repr() -> None:
    request = ChatRequest(
        "hi", "ask", backend="openai", model="m", base_url="http://u:pw@h/v1", api_key="sk-1"
    )
    call = _call(request)
    for text in (repr(request), repr(call)):
        assert "sk-1" not in text and "pw" not in text
    assert "shown_url='http://h/v1/chat/completions'" in repr(call)
