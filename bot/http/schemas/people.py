"""Who did something, as the API names them: with the front they came through, or without."""

from pydantic import BaseModel, Field

from core.actor import Actor


class Person(BaseModel):
    """A person or system acting on the line, and the front it came through."""

    id: str = Field(description="a Slack user id, a login name, or a system such as `ci`")
    name: str
    via: str = Field(description="the front: `slack`, `terminal`, `cli`, `http`, `ci`, `alert`…")

    @classmethod
    def of(cls, actor: Actor) -> "Person":
        """The API's person for a recorded actor."""
        return cls(id=actor.id, name=actor.name, via=actor.via)

    @classmethod
    def maybe(cls, actor: Actor | None) -> "Person | None":
        """``None`` stays ``None``: nobody did it (yet)."""
        return None if actor is None else cls.of(actor)


class Someone(BaseModel):
    """Who did it, by id and name."""

    id: str
    name: str
