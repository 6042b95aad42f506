"""The conversation a chat call sends: scenario items, the JSON instruction, the prompt.

Order, for every backend:

1. the scenario's ``system`` items, in the order written (KDeps puts them first too);
2. with ``jsonResponse``, one more system message asking for a JSON object (with the
   ``jsonResponseKeys`` when there are some): OpenAI's JSON mode refuses a conversation
   that never says "JSON", and the other APIs have no mode, only the instruction;
3. the scenario's other items (``user``, ``assistant``), in the order written;
4. the prompt, with the resource's ``role`` (default ``user``).

KDeps' code sends step 3 after the prompt, so the history its documentation describes
("conversation history") reaches the model after the question; here it comes before, as
documented. An empty prompt after a scenario is left out: the scenario is the
conversation (Anthropic refuses empty messages).
"""

from __future__ import annotations

from .base import ChatRequest, Message

DEFAULT_ROLE = "user"


def json_instruction(keys: tuple[str, ...]) -> str:
    """The system message that asks for a JSON object, naming ``keys`` when given."""
    if not keys:
        return "Respond in JSON format: reply with one JSON object and nothing else."
    listed = ", ".join(f'"{key}"' for key in keys)
    return (
        f"Respond in JSON format: reply with one JSON object with the keys {listed} "
        "and nothing else."
    )


def conversation(request: ChatRequest) -> tuple[Message, ...]:
    """Every message of ``request`` in the order the model reads them (module docstring)."""
    system = [message for message in request.scenario if message.role == "system"]
    others = [message for message in request.scenario if message.role != "system"]
    if request.json_response:
        system.append(Message("system", json_instruction(request.json_response_keys)))
    prompt = Message(request.role or DEFAULT_ROLE, request.prompt)
    if not request.prompt.strip() and request.scenario:
        return (*system, *others)
    return (*system, *others, prompt)
