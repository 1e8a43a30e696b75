"""Model backends behind one small interface: see ``base.LLMBackend``."""

from os1.llm.base import BackendError, BackendUnavailable, CancelToken, LLMBackend, ToolBackend

__all__ = ["BackendError", "BackendUnavailable", "CancelToken", "LLMBackend", "ToolBackend"]
