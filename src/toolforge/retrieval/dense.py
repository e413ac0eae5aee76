"""Dense text embeddings from `wordllama`, offline.

wordllama's wheel ships its weights (`weights/l2_supercat_256.safetensors`) and tokenizer
(`tokenizers/...`). Its 0.4.0.post1 loader looks for the tokenizer in a `tokenizer/` folder
of the package (singular) before the cache dir, so we name the package's own folder as the
cache dir and forbid downloads: everything resolves inside the wheel and nothing is ever
fetched. When the model can't load (not installed, files missing, disabled with
`TOOLFORGE_DENSE=off`), `load_embedder()` returns None and `dense_status()` says why;
retrieval then ranks with BM25 alone and says so.

numpy and wordllama are imported here only, when the first embedding is needed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

DENSE_ENV = "TOOLFORGE_DENSE"
CONFIG = "l2_supercat"
WEIGHTS_DIM = 256  # the wheel ships the 256-dimension weights
# Matryoshka-trained: the first 128 dimensions keep nearly all the quality (wordllama's MTEB
# reranking 52.3 vs 52.7) at half the memory and half the scan per query.
DIM = 128
MAX_CHARS = 4000  # embedding a view never needs more; bounds the work on huge docstrings

_lock = threading.Lock()
_loaded = False
_model: Embedder | None = None
_status = "not loaded yet"


class Embedder:
    """Unit-length float32 vectors for texts (an empty text gets the zero vector)."""

    def __init__(self, model: Any, name: str) -> None:
        self._model = model
        self.name = name
        self.dim = DIM

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        clipped = [t[:MAX_CHARS] for t in texts]
        raw = np.asarray(self._model.embed(clipped, norm=False, batch_size=256),
                         dtype=np.float32).reshape(len(clipped), -1)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        out = np.divide(raw, norms, out=np.zeros_like(raw), where=norms > 0)
        out[~np.isfinite(out).all(axis=1)] = 0.0
        return out

    def embed_one(self, text: str) -> np.ndarray:
        result: np.ndarray = self.embed([text])[0]
        return result


def disabled_by_env() -> bool:
    return os.environ.get(DENSE_ENV, "").strip().lower() in ("0", "off", "false", "no")


def load_embedder() -> Embedder | None:
    """The process-wide dense model, or None (see `dense_status()` for the reason)."""
    global _loaded, _model, _status
    with _lock:
        if _loaded:
            return _model
        _loaded = True
        if disabled_by_env():
            _status = f"disabled by {DENSE_ENV}"
            return None
        try:
            with _root_logging_untouched():
                import wordllama
                from wordllama import WordLlama

            package_dir = os.path.dirname(os.path.abspath(wordllama.__file__))
            model = WordLlama.load(config=CONFIG, dim=WEIGHTS_DIM, trunc_dim=DIM,
                                   cache_dir=package_dir, disable_download=True)
            version = getattr(wordllama, "__version__", "?")
        except Exception as exc:  # ImportError, FileNotFoundError, a broken wheel...
            _status = f"unavailable ({type(exc).__name__}: {str(exc)[:200]})"
            log.warning("dense retrieval off, BM25 only: %s", _status)
            return None
        name = f"wordllama-{version}/{CONFIG}/{DIM}"
        _model = Embedder(model, name)
        _status = f"{name} (offline, weights from the wheel)"
        return _model


@contextmanager
def _root_logging_untouched() -> Iterator[None]:
    """wordllama calls logging.basicConfig(level=INFO) when imported, which would send every
    library's INFO lines to stderr from then on; undo that."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def dense_status() -> str:
    """What the dense half of retrieval is using, or why it is off."""
    return _status
