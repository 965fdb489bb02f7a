"""Which implementation answers each seam: a name -> factory registry.

The only module that names engine and embedder implementations. Factories
import lazily (litellm takes seconds to import; the offline path never does).
Tests register their fakes here, the way production registers the real ones::

    wiring.register_engine("scripted", lambda settings, roster=(): FakeEngine())

"""

from __future__ import annotations

from collections.abc import Callable

from facilitator.errors import ConfigError
from facilitator.seams import Embedder, Engine
from facilitator.settings import Settings, get_settings

EngineFactory = Callable[[Settings], Engine]
EmbedderFactory = Callable[[Settings], Embedder]


def _local_engine(settings: Settings) -> Engine:
    from facilitator.offline.engine import LocalEngine

    return LocalEngine(settings, embedder=embedder_for(settings))


def _llm_engine(settings: Settings) -> Engine:
    return build_llm_engine(settings)


def build_llm_engine(settings: Settings, **kw) -> Engine:
    """The model engine; ``kw`` goes to it (tests pass ``sleep``)."""
    from facilitator.model.engine import LLMEngine

    # The offline engine drafts the grouping, retrieves passages and is the
    # fallback; it is handed in, never built by the model engine itself.
    return LLMEngine(settings, local=_local_engine(settings), local_only=lambda: _local_only(settings), **kw)


def _local_only(settings: Settings) -> Engine:
    """The offline engine on the local embedder, for when remote embeddings fail."""
    s = settings.model_copy(update={"embedding_model": None, "data_dir": settings.data_dir / "local-embeddings"})
    return _local_engine(s)


def _local_embedder(settings: Settings) -> Embedder:
    from facilitator.offline.embeddings import local_embedder

    return local_embedder()


def _litellm_embedder(settings: Settings) -> Embedder:
    from facilitator.model.embedder import LiteLLMEmbedder

    return LiteLLMEmbedder(settings)


ENGINES: dict[str, EngineFactory] = {"local": _local_engine, "llm": _llm_engine}
EMBEDDERS: dict[str, EmbedderFactory] = {"local": _local_embedder, "litellm": _litellm_embedder}


def register_engine(name: str, factory: EngineFactory) -> None:
    ENGINES[name] = factory


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    EMBEDDERS[name] = factory


def get_engine(settings: Settings | None = None, **overrides) -> Engine:
    """Build the engine the settings ask for (``RETRO_ENGINE``, ``--engine``)."""
    settings = settings or get_settings()
    if overrides:
        settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    try:
        factory = ENGINES[settings.engine]
    except KeyError:
        raise ConfigError(f"Unknown engine {settings.engine!r}; choose one of {', '.join(sorted(ENGINES))}") from None
    return factory(settings)


def embedder_for(settings: Settings | None = None) -> Embedder:
    """The embedder the settings ask for: litellm's when ``embedding_model`` is set."""
    name = "litellm" if settings is not None and settings.embedding_model else "local"
    return EMBEDDERS[name](settings or get_settings())
