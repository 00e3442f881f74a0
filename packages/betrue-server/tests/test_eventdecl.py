"""Declaring the events an app emits (betrue.server.eventdecl)."""

from __future__ import annotations

import pytest

from betrue.server import Application, EventDeclaration, Group, declare_event, declared_events


def test_declarations_of_the_app_and_its_groups_are_gathered_sorted() -> None:
    chat = Group("chat")
    declare_event(chat, "chat.message", schema={"type": "object"}, to=["room", "user"])
    app = Application("x", groups=[chat], http=False)
    declare_event(app, "app.ready")
    events = declared_events(app)
    assert [event.name for event in events] == ["app.ready", "chat.message"]
    assert events[1] == EventDeclaration("chat.message", {"type": "object"}, "", ("room", "user"), "chat")


def test_groups_not_included_are_not_documented() -> None:
    other = Group("other")
    declare_event(other, "other.thing")
    assert declared_events(Application("x", http=False)) == []


@pytest.mark.parametrize("name", ["chat.*", "chat.>", "", "chat..message", ".chat", "chat message"])
def test_names_are_dot_separated_tokens_without_wildcards(name: str) -> None:
    with pytest.raises(ValueError, match="dot-separated"):
        declare_event(Group("g"), name)


def test_declaring_twice_on_one_owner_is_an_error() -> None:
    group = Group("g")
    declare_event(group, "g.done")
    with pytest.raises(ValueError, match="declared twice"):
        declare_event(group, "g.done")


def test_conflicting_declarations_in_two_places_are_an_error() -> None:
    first, second = Group("a"), Group("b")
    declare_event(first, "shared.event", schema={"type": "string"})
    declare_event(second, "shared.event", schema={"type": "integer"})
    with pytest.raises(ValueError, match="declared differently by group 'a' and group 'b'"):
        Application("x", groups=[first, second], http=False)  # at definition, not when docs are asked for


def test_an_app_declaration_that_contradicts_an_included_group_fails_where_it_is_made() -> None:
    chat = Group("chat")
    declare_event(chat, "chat.message", schema={"type": "object"}, to=["room"])
    app = Application("x", groups=[chat], http=False)
    with pytest.raises(ValueError, match="declared differently by group 'chat' and the app"):
        declare_event(app, "chat.message", schema={"type": "string"})
    assert [d.group for d in declared_events(app)] == ["chat"]


def test_declarations_belong_to_their_owner_not_to_a_module_registry() -> None:
    app = Application("x", http=False)
    declare_event(app, "app.ready")
    assert list(app.router.declarations) == ["app.ready"]
    assert declared_events(Application("y", http=False)) == []


def test_the_same_declaration_in_two_places_is_fine() -> None:
    first, second = Group("a"), Group("b")
    declare_event(first, "shared.event", schema={"type": "string"})
    declare_event(second, "shared.event", schema={"type": "string"})
    assert len(declared_events(Application("x", groups=[first, second], http=False))) == 1


def test_a_group_declaration_made_after_include_is_still_checked_when_docs_ask() -> None:
    first, second = Group("a"), Group("b")
    app = Application("late", groups=[first, second], http=False)
    declare_event(first, "late.event", schema={"type": "string"})
    declare_event(second, "late.event", schema={"type": "integer"})
    with pytest.raises(ValueError, match="declared differently by group 'a' and group 'b'"):
        declared_events(app)


def test_declaring_twice_names_the_owner_that_has_it() -> None:
    chat = Group("chat")
    declare_event(chat, "chat.message")
    with pytest.raises(ValueError, match="declared twice by group 'chat'"):
        declare_event(chat, "chat.message")
    app = Application("x", http=False)
    declare_event(app, "app.ready")
    with pytest.raises(ValueError, match="declared twice by the app"):
        declare_event(app, "app.ready")


def test_app_and_group_declarations_reach_the_asyncapi_document() -> None:
    from betrue.server import asyncapi_document

    chat = Group("chat")
    declare_event(chat, "chat.message", schema={"type": "object"}, to=["room"])
    app = Application("docs", groups=[chat], http=False)
    declare_event(app, "app.ready", description="The app is serving")
    messages = asyncapi_document(app)["components"]["messages"]
    assert {"app.ready", "chat.message"} <= set(messages)
    assert [d.name for d in declared_events(app)] == ["app.ready", "chat.message"]
