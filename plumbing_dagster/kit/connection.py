"""A vendor's connection settings: a typed class in the vendor's folder, one field per setting,
each with its production environment variable and whether it is secret.

    @dataclass(frozen=True, kw_only=True, repr=False)
    class ShopConnection(ConnectionSettings):
        base_url: str = setting(env="SHOP_API_URL")
        api_key: str = setting(env="SHOP_API_KEY", secret=True)

Adding an auth field touches only that class: the environments read the variables it names,
`repr` hides the secret values, and clients register `secrets()` with their error scrubber.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

_SETTING = "plumbing_setting"
_REQUIRED = object()


@dataclass(frozen=True)
class SettingInfo:
    env: str  # the environment variable production reads it from
    secret: bool
    description: str


def setting(*, env: str, secret: bool = False, default: Any = _REQUIRED, description: str = "") -> Any:
    """Declares one connection setting (use as a dataclass field default)."""
    metadata = {_SETTING: SettingInfo(env, secret, description)}
    if default is _REQUIRED:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


class ConnectionError_(ValueError):  # noqa: N801 - `ConnectionError` is a builtin with another meaning
    """Settings are missing or malformed; the message names the variables, never their values."""


class ConnectionSettings:
    """Base of every vendor's settings dataclass (`@dataclass(frozen=True, kw_only=True, repr=False)`)."""

    vendor: ClassVar[str] = "vendor"

    @classmethod
    def settings(cls) -> dict[str, SettingInfo]:
        return {f.name: f.metadata[_SETTING] for f in dataclasses.fields(cls) if _SETTING in f.metadata}  # type: ignore[arg-type]

    @classmethod
    def required(cls) -> list[str]:
        return [
            f.name
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Self:
        """Settings from configured values (names as the fields); an empty value counts as unset."""
        settings = cls.settings()
        unknown = sorted(set(values) - set(settings))
        if unknown:
            raise ConnectionError_(f"{cls.vendor}: unknown connection setting(s) {', '.join(unknown)}")
        given = {name: value for name, value in values.items() if value not in (None, "")}
        missing = [name for name in cls.required() if name not in given]
        if missing:
            variables = " and ".join(settings[name].env for name in missing)
            raise ConnectionError_(f"{cls.vendor}: {variables} not set (see README, 'Environments')")
        return cls(**given)

    @classmethod
    def env_vars(cls) -> dict[str, str]:
        """Setting name -> production environment variable."""
        return {name: info.env for name, info in cls.settings().items()}

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.settings()}

    def secrets(self) -> list[str]:
        return [
            value
            for name, info in self.settings().items()
            if info.secret and isinstance(value := getattr(self, name), str) and value
        ]

    def __repr__(self) -> str:  # never shows a secret
        shown = ", ".join(
            f"{name}={'***' if info.secret else repr(getattr(self, name))}"
            for name, info in self.settings().items()
        )
        return f"{type(self).__name__}({shown})"

    __str__ = __repr__
